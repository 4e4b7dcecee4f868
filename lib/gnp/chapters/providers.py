"""Chapter 70: providers compared on speed, evening congestion and contracted speed reached.

Pure functions from the provider queries (Greece per provider: per day, per
local hour, and contract attainment over the period) to comparisons and the
sentences that state them. The slice over every provider ('all') is the
national reference, never ranked as a provider.
"""

from __future__ import annotations

import math

import pandas as pd

from gnp.chapters import wording as w
from gnp.core.schemas import ALL_ISPS
from gnp.dashboard import periods, queries

QUERIES = {"days": queries.provider_days, "periods": periods.provider_periods, "hours": queries.provider_hours,
           "attainment": queries.provider_attainment}
MEASURES = ("download_median_mbps", "upload_median_mbps", "rtt_median_ms")
EVENING_HOURS = range(19, 24)  # local hours when households stream: the usual congestion window


def speed_ranking(days: pd.DataFrame, whole: pd.DataFrame | None = None) -> pd.DataFrame:
    """Providers fastest first by median download over the range (exact for one whole week or month, from
    ``whole``, else ≈); suppressed ones last."""
    providers = days[days["isp"] != ALL_ISPS]
    periods = None if whole is None else whole[whole["isp"] != ALL_ISPS]
    summary = w.summarise_range(providers, periods, "isp", "isp", MEASURES)
    return summary.sort_values(["is_suppressed", "download_median_mbps", "label"],
                               ascending=[True, False, True], ignore_index=True)


def speed_sentences(ranked: pd.DataFrame, k: int) -> list[str]:
    shown = ranked[~ranked["is_suppressed"]]
    hidden = ranked.loc[ranked["is_suppressed"], "label"].tolist()
    if shown.empty:
        return [f"No provider had {k} or more users on any {w.unit_of(ranked)} of the period, so none can "
                f"be compared."]
    pool, thin = w.solid_first(shown)
    top, bottom = pool.iloc[0], pool.iloc[-1]
    if len(shown) == 1:
        sentences = [f"Only {top['label']} had enough users to show: a median download of "
                     f"{w.row_mbps(top, 'download_median_mbps')}{w.thin_note(top)}."]
    else:
        ratio = w.times(top["download_median_mbps"], bottom["download_median_mbps"])
        weights = w.weight_word(ranked)
        among = f"{len(pool)} providers with {w.THIN_USER_DAYS} or more {weights}" if thin else f"{len(pool)} providers"
        sentences = [f"Across Greece, {top['label']} was fastest among {among}, with a median download of "
                     f"{w.row_mbps(top, 'download_median_mbps')}{w.thin_note(top)}; {bottom['label']} was slowest at "
                     f"{w.row_mbps(bottom, 'download_median_mbps')}" + (f", {ratio} times slower" if ratio else "")
                     + f"{w.thin_note(bottom)}."]
        if thin:
            sentences.append(f"{w.names(thin)} had fewer than {w.THIN_USER_DAYS} {weights} and "
                             f"{'is' if len(thin) == 1 else 'are'} left out of that comparison.")
        quickest = pool.sort_values(["rtt_median_ms", "label"]).iloc[0]
        if not math.isnan(quickest["rtt_median_ms"]):
            sentences.append(f"The lowest round-trip time was {quickest['label']}'s, a median of "
                             f"{'' if quickest['is_exact'] else w.APPROX}{quickest['rtt_median_ms']:.0f} ms.")
    note = w.suppressed_note(hidden, "its figures" if len(hidden) == 1 else "their figures", k)
    return sentences + ([note] if note else [])


def evening_drop(hours: pd.DataFrame) -> pd.DataFrame:
    """Per provider: ≈ median download in the evening and in the rest of the day, the drop between them,
    and the share of its hour cells that were suppressed."""
    rows = []
    for isp, group in hours.groupby("isp", sort=True):
        kept = group[~group["is_suppressed"]]
        evening = kept["hour_local"].isin(EVENING_HOURS)
        at_evening = w.weighted(kept.loc[evening, "median_download_mbps"], kept.loc[evening, "users"])
        at_rest = w.weighted(kept.loc[~evening, "median_download_mbps"], kept.loc[~evening, "users"])
        rows.append({"isp": isp, "evening_mbps": at_evening, "rest_mbps": at_rest,
                     "drop": 1 - at_evening / at_rest if at_rest else math.nan,
                     "suppressed_share": group["suppressed_cells"].sum() / max(group["cells"].sum(), 1)})
    return pd.DataFrame(rows, columns=["isp", "evening_mbps", "rest_mbps", "drop", "suppressed_share"])


def _versus_day(drop: float) -> str:
    return f"{w.pct(abs(drop))} {'below' if drop >= 0 else 'above'} its speed in the rest of the day"


def evening_sentences(drops: pd.DataFrame) -> list[str]:
    window = f"{EVENING_HOURS.start}:00-{EVENING_HOURS.stop - 1}:59"
    national = drops[drops["isp"] == ALL_ISPS]
    providers = drops[(drops["isp"] != ALL_ISPS) & drops["drop"].notna()]
    providers = providers.sort_values(["drop", "isp"], ascending=[False, True])
    sentences = []
    if len(national) and not math.isnan(national.iloc[0]["drop"]):
        n = national.iloc[0]
        direction = "slower" if n["drop"] > 0 else "faster"
        sentences.append(f"Over all providers, evening downloads ({window} local time) were "
                         f"{w.pct(abs(n['drop']))} {direction} than in the rest of the day "
                         f"({w.mbps(n['evening_mbps'])} against {w.mbps(n['rest_mbps'])}).")
    if len(providers) >= 2:
        worst, best = providers.iloc[0], providers.iloc[-1]
        sentences.append(f"The evening cost most at {worst['isp']} ({_versus_day(worst['drop'])}) and least at "
                         f"{best['isp']} ({_versus_day(best['drop'])}).")
    elif not sentences:
        sentences.append("No provider had enough users both in the evening and in the rest of the day to compare.")
    hidden = drops.loc[drops["isp"] != ALL_ISPS, "suppressed_share"].mean()
    if hidden and not math.isnan(hidden) and hidden > 0:
        sentences.append(f"Hourly cells are small: {w.pct(hidden)} of the providers' day-hour cells had too few "
                         f"users and are left out, so these figures rest on the busier hours.")
    return sentences


def attainment_sentences(attainment: pd.DataFrame, high: float, k: int) -> list[str]:
    """Share of user-days reaching the high threshold of the contracted speed, per provider."""
    threshold = f"{w.pct(high)} of their contracted download speed"
    national = attainment[(attainment["isp"] == ALL_ISPS) & ~attainment["is_suppressed"]]
    shown = attainment[(attainment["isp"] != ALL_ISPS) & ~attainment["is_suppressed"]
                       & attainment["share_reaching_high"].notna()]
    shown = shown.sort_values(["share_reaching_high", "isp"], ascending=[False, True])
    solid = shown[shown["user_days"] >= w.THIN_USER_DAYS]
    thin = shown.loc[shown["user_days"] < w.THIN_USER_DAYS, "isp"].tolist() if len(solid) >= 2 else []
    shown = solid if len(solid) >= 2 else shown
    sentences = []
    if len(national):
        sentences.append(f"On {w.pct(national.iloc[0]['share_reaching_high'])} of user-days, users reached "
                         f"{threshold} (≈, a user-days-weighted mean of daily shares).")
    if len(shown) >= 2:
        top, bottom = shown.iloc[0], shown.iloc[-1]
        sentences.append(f"{top['isp']}'s users did so most often ({w.pct(top['share_reaching_high'])}) and "
                         f"{bottom['isp']}'s least often ({w.pct(bottom['share_reaching_high'])})"
                         + (f", among providers with {w.THIN_USER_DAYS} or more user-days; {w.names(thin)} had fewer."
                            if thin else "."))
    if not sentences:
        sentences.append(f"Too few users reported a contracted speed to say how many reached {threshold}.")
    hidden = attainment.loc[(attainment["isp"] != ALL_ISPS) & attainment["is_suppressed"], "isp"].tolist()
    note = w.suppressed_note(hidden, "its shares" if len(hidden) == 1 else "their shares", k)
    return sentences + ([note] if note else [])


def findings(frames: dict[str, pd.DataFrame], k: int, high: float) -> dict[str, list[str]]:
    if frames["days"].empty:
        return {"speed": ["Gold holds no data for this period."], "evening": [], "attainment": []}
    return {
        "speed": speed_sentences(speed_ranking(frames["days"], frames.get("periods")), k),
        "evening": evening_sentences(evening_drop(frames["hours"])),
        "attainment": attainment_sentences(frames["attainment"], high, k),
    }
