"""The bottom layer: params, table contracts, locations, errors, byte storage, dates and the run manifest.

Owns ``config`` (the params model), ``schemas`` (every table's columns, grain
and key), ``registry`` (every location and table id), ``errors`` (GnpError),
``storage`` (local folders and gs:// through fsspec), ``dates`` (calendar
helpers) and ``manifest`` (the run's record of what each stage wrote). May
import nothing from gnp outside ``gnp.core``; every other package may import it.
"""
