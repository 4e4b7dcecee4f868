"""Silver: Bronze parsed with an explicit schema, cleaned, pseudonymised, deduplicated, sessionised.

``parse`` reads Bronze (I/O edge), ``measurements`` and ``sessions`` are pure
DataFrame transforms, ``accounting`` counts where every record went,
``pseudonym`` loads the HMAC key, ``stage`` plans and writes, ``steps`` is the
stage's order, one step per notebook cell. May import
``gnp.core``, ``gnp.lake``, ``gnp.source``, ``gnp.bronze`` and ``gnp.quality``.
"""
