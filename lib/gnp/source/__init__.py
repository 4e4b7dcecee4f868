"""The source: the Hyperion record's contract, the data.gov.gr client and the answer body's parsing.

Owns ``contract`` (the API's fields), ``hyperion`` (the HTTP client: retries,
day splitting, the real API's client from the params) and ``hyperion_body``
(what a body is). May import ``gnp.core`` only. The sample source is not here:
it is a developer tool (``gnp.devtools.fake_api``).
"""
