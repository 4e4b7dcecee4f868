"""The source: the Hyperion record's contract, the data.gov.gr client and the answer body's parsing.

Owns ``contract`` (the API's fields), ``hyperion`` (the HTTP client: retries,
day splitting, the real API's client from the params), ``hyperion_body``
(what a body is) and the ``sample`` source kind that local runs fetch from:
``sample`` (the seeded record generator) and ``fake_api`` (a stand-in of
data.gov.gr on loopback serving it, with faults for tests). May import
``gnp.core`` only.
"""
