"""The Hyperion record as data.gov.gr publishes it: its fields, in the API's order (hyperion-source.md).

The source's contract, read by the client, Bronze and Silver's parser, and by
the sample generator that imitates the API.
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
