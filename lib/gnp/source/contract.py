"""The Hyperion record as data.gov.gr publishes it: its fields, in the API's order, and how they arrive.

The source's contract, read by the client, Bronze and Silver's parser, by the
sample generator that imitates the API, and by the SQL reference that restates
the Silver rules. It is written down here, in the repository, so that every
rule the code cites ("the record", below) can be checked by a reader of it.

The service. ``GET https://data.gov.gr/api/v1/query/hyperion?date_from=D&date_to=D``
answers one JSON array of flat objects for the whole range, with no paging; an
empty day is an empty array. Which clock the date filter uses is not documented:
a test near midnight may come back under the neighbouring day's request, or
under both, and a day fetched early may come back short and fill in later. A
test belongs to the local date of its own ``measurement_time``.

The record (field: how it arrives; what it is):

- ``measurement_id``: integer; the test's id, the natural key (copies are
  deduplicated on it).
- ``measurement_time``: text ``YYYY-MM-DD HH:MM:SS``; local Athens wall-clock
  time with no offset, so one autumn hour happens twice.
- ``connection_id``: integer (may arrive as a float); the subscriber line tested.
- ``client_ip``: text, the IPv4 address cut to three octets (``80.191.12``);
  personal data: only its keyed pseudonym leaves Bronze.
- ``measured_downstream_mbps``, ``measured_upstream_mbps``,
  ``measured_rtt_msec``, ``measured_loss_percentage`` (percent),
  ``measured_jitter_msec``: floats; may be negative or absurd.
- ``client_operating_system`` and its version and architecture: text.
- ``ISP``: text; often the empty string.
- ``contract_download_mbps``, ``contract_upload_mbps``: floats; the speeds the
  contract promises (zero or less: unknown).
- ``connection_postal_code`` and the municipality, regional-unit and periphery
  ids: floats (``19016.0``, ``44.0``) that are codes, not numbers.
- ``connection_municipality``, ``connection_regional_unit``,
  ``connection_periphery``: Greek text (332 municipalities, 74 regional units,
  13 peripheries); a missing name arrives as null or the text ``NaN``.

The same test can arrive twice (overlapping fetches), and the regulator's
database holds more columns than the API publishes, so a field may appear or
vanish: the pipeline keeps going and says so (``parse.field_drift``).
"""

FIELDS = (
    "measurement_id", "measurement_time", "connection_id", "client_ip",
    "measured_downstream_mbps", "measured_upstream_mbps", "measured_rtt_msec",
    "measured_loss_percentage", "measured_jitter_msec",
    "client_operating_system", "client_operating_system_version",
    "client_operating_system_architecture", "ISP",
    "contract_download_mbps", "contract_upload_mbps", "connection_postal_code",
    "connection_municipality_id", "connection_regional_unit_id", "connection_periphery_id",
    "connection_municipality", "connection_regional_unit", "connection_periphery",
)  # fmt: skip
PLACE_FIELDS = FIELDS[15:]
MISSING_PLACE = "NaN"  # how the API spells a missing place name (besides null)
TIME_FIELD = "measurement_time"  # the local time a record claims; Bronze files a record under its date
