"""The release's README.md: what each table is, how each figure is computed, the data dictionary, how to cite.

Generated from the same facts and table contracts as ``datapackage.json``
(``gnp.serving.release_package``), so the two cannot disagree.
"""

from __future__ import annotations

from gnp.serving.release_package import (FRICTIONLESS_TYPES, ReleaseFacts, ReleasedTable, citation, licence_note,
                                         suppression_rule, unit_of)

METHOD = """\
- **A user** is one pseudonymised client IP address (its first three octets, as the source publishes it,
  replaced by a keyed hash: no address is in these files).
- **Statistics are taken over users, not tests**, so someone who tests forty times does not outweigh forty
  people: each user's median over their tests in the cell (per day in the daily tables, over the whole month
  in `area_isp_period_metrics`), then the median, quartiles and log-average (geometric mean) over those users.
  The `*_mean_test_*` and `*_mean_*` columns are plain means over raw tests, kept for comparison with the
  regulator's original figures.
- **Slices**: every table is cut by area (`area_level` country / periphery / regional_unit, `area_id`) and
  provider (`isp`, or `all`). Each slice is computed from its own tests: the Attica x Nova median is a median
  over Attica's Nova users, never a blend of other cells, so parts need not add up to wholes. The country
  and `all` slices also count tests that name no place or no provider.
- **Dates** are local dates in Europe/Athens, as the regulator publishes them.
- A monthly median is exact only in `area_isp_period_metrics`; averaging the daily medians of
  `area_isp_metrics` over the month gives something else (a median of a union is not a mean of medians)."""


# spelt out here, not by the locale (calendar, strftime): the README's bytes must not depend on the machine
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")


def month_title(month: str) -> str:
    """'2025-10' -> 'October 2025'."""
    year, number = month.split("-")
    return f"{MONTHS[int(number) - 1]} {year}"


def _files_table(tables: list[ReleasedTable]) -> list[str]:
    lines = ["| table | one row is | rows | of which suppressed | files |", "|---|---|---:|---:|---|"]
    for t in tables:
        files = ", ".join(f"[{f.format.upper()}]({f.path})" for f in t.files)
        lines.append(f"| `{t.spec.name}` | {t.spec.grain} | {t.rows:,} | {t.suppressed_rows:,} | {files} |")
    return lines


def _dictionary(t: ReleasedTable) -> list[str]:
    lines = [f"### `{t.spec.name}`", "", f"{t.about} Rows: {t.rows_selected}. Key: "
             f"{', '.join(f'`{k}`' for k in t.spec.key)}.", "",
             "| column | type | unit | meaning |", "|---|---|---|---|"]
    for c in t.spec.columns:
        lines.append(f"| `{c.name}` | {FRICTIONLESS_TYPES[c.type]} | {unit_of(c.name) or ''} | {c.description} |")
    return lines + [""]


def readme(facts: ReleaseFacts, tables: list[ReleasedTable], left_out: dict[str, str]) -> str:
    sample = facts.source_kind == "sample"
    lines = [f"# Greek Net Pulse: internet quality in Greece, {month_title(facts.month)}", ""]
    if sample:
        lines += ["**SAMPLE DATA.** These files were built from the project's synthetic sample source, not "
                  "from real Hyperion measurements. They show the release's shape only.", ""]
    lines += [
        "Monthly open-data release of the project's Gold tables: statistics of broadband speed tests run by "
        "users in Greece with EETT's Hyperion tool, aggregated per area and provider, exactly as the project "
        "publishes them (suppressed cells stay suppressed; no test-level or user-level row is included).", "",
        f"- Period: {facts.date_from} to {facts.date_to} (the whole month; tests on {facts.days_with_tests} of "
        f"its {facts.days_in_month} days).",
        f"- Version: `{facts.version}` (the pipeline run whose Gold this is; `datapackage.json` gives each "
        f"table's Delta version).",
        f"- Built by code at commit `{facts.git_commit or 'unknown'}`"
        + (" (with uncommitted changes)" if facts.git_dirty else "")
        + (f"; Gold was built at commit `{facts.gold_run_commit}`." if facts.gold_run_commit else "."),
        "- Every file comes as CSV (UTF-8, comma-separated, header row, empty cell = missing) and as "
        "Parquet, with the same columns and rows, sorted by the table's key.", "",
        "## Files", "", *_files_table(tables), "",
        "`datapackage.json` describes every file as a [Frictionless](https://frictionlessdata.io/) "
        "tabular data package: column types, keys, units, sizes and SHA-256 digests. To check the files: "
        "`frictionless validate datapackage.json`.", "",
    ]
    if left_out:
        lines += ["Gold tables not in the release:", ""]
        lines += [f"- `{name}`: {why}" for name, why in left_out.items()] + [""]
    lines += ["## How the figures are computed", "", METHOD, "",
              "## Small cells are suppressed", "", suppression_rule(facts.k), "",
              "## Data dictionary", ""]
    for t in tables:
        lines += _dictionary(t)
    lines += ["## Licence", "", licence_note(facts), "",
              "## How to cite", "", citation(facts), "",
              "Questions and corrections: the project's issue tracker.", ""]
    return "\n".join(lines)
