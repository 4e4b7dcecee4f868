"""The bottom layer: params, table contracts, locations, errors, byte storage, dates, the run manifest, column helpers.

Owns ``config`` (the params model), ``schemas`` (every table's columns, grain
and key), ``registry`` (every location and table id), ``errors`` (GnpError),
``storage`` (local folders and gs:// through fsspec), ``dates`` (calendar
helpers), ``manifest`` (the run's record of what each stage wrote) and
``context`` (a run's frozen inputs, which every stage receives) and
``columns`` (pure Spark column helpers that Silver's and Gold's transforms
share: the spec select, exact quantiles, ratios; no reads, writes or
sessions). May import nothing from gnp outside ``gnp.core``; every other
package may import it.
"""
