"""Silver: Bronze parsed with an explicit schema, cleaned, pseudonymised, deduplicated, sessionised.

``parse`` reads Bronze (I/O edge), ``measurements`` and ``sessions`` are pure
DataFrame transforms, ``pseudonym`` loads the HMAC key.
"""
