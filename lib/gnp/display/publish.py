"""What the publish notebook shows: the plan and what was loaded, or one line when there is nothing to publish."""

from __future__ import annotations

import pandas as pd
from IPython.display import Markdown

from gnp.display import common as views


def plan_text(warehouse_kind: str, plan_lines: str, run_id: str, full_refresh: bool) -> Markdown | None:
    """What will be replaced in BigQuery; None with a local warehouse (the load cell says why in one line)."""
    if warehouse_kind != "bigquery":
        return None
    scope = "full refresh" if full_refresh else f"run {run_id or '(none)'}"
    items = "\n".join(f"- {line}" for line in plan_lines.splitlines())
    return Markdown(f"BigQuery, {scope}. Partitions to replace:\n\n{items}")


def loaded(rows: list[dict]):
    """``publish.summary_rows`` as a formatted table; None when nothing was loaded (nothing is shown)."""
    if not rows:
        return None
    frame = pd.DataFrame(rows).drop(columns=["table_id"], errors="ignore")
    frame["partitions"] = frame["partitions"].map(views.partitions_text)
    frame["skipped"] = frame["skipped"].fillna("")
    return views.table(frame)

