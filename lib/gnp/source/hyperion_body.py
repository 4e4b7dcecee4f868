"""What a Hyperion answer body is: one JSON array of flat records.

A body is accepted only when it is one complete array of objects; anything
else (a gateway's HTML page, a cut-off transfer) is a ``BodyError`` and is
never stored as data. A multi-day answer is split per measurement day without
re-encoding any record, so Bronze keeps each record's bytes as received.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Sequence

from gnp.core.errors import GnpError
from gnp.source.contract import TIME_FIELD

JSON_SPACE = " \t\r\n"


class BodyError(GnpError, ValueError):
    """The body is not one complete JSON array of records."""


def measurement_day(record: dict) -> dt.date | None:
    """The local date a record claims in its ``measurement_time``, or None if unreadable."""
    value = record.get(TIME_FIELD)
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def parse_records(body: bytes) -> list[dict]:
    """The records of a body, or BodyError."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BodyError(f"the body ({len(body)} bytes) is not complete JSON: {exc}") from None
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise BodyError(f"the body is JSON but not an array of records (it starts {body[:40]!r})")
    return data


def split_by_day(body: bytes, days: Sequence[dt.date]) -> dict[dt.date, tuple[bytes, list[dict]]]:
    """One JSON array (bytes) and its records per day; every requested day gets an entry.

    Records without a readable measurement day, or with a day outside ``days``,
    go to the first day (the manifest counts them as outside their day).
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyError(f"the body is not UTF-8: {exc}") from None
    decoder = json.JSONDecoder()
    parts: dict[dt.date, tuple[list[str], list[dict]]] = {day: ([], []) for day in days}
    pos = _skip_space(text, 0)
    if text[pos : pos + 1] != "[":
        raise BodyError(f"the body is not a JSON array (it starts {text[:40]!r})")
    pos = _skip_space(text, pos + 1)
    while text[pos : pos + 1] != "]":
        try:
            record, end = decoder.raw_decode(text, pos)
        except ValueError as exc:
            raise BodyError(f"the body ({len(body)} bytes) is not complete JSON: {exc}") from None
        if not isinstance(record, dict):
            raise BodyError(f"element at character {pos} is not a record")
        day = measurement_day(record)
        raws, records = parts[day if day in parts else days[0]]
        raws.append(text[pos:end])
        records.append(record)
        pos = _skip_space(text, end)
        if text[pos : pos + 1] == ",":
            pos = _skip_space(text, pos + 1)
            if text[pos : pos + 1] == "]":
                raise BodyError(f"the body is not valid JSON: a comma before ']' at character {pos}")
        elif text[pos : pos + 1] != "]":
            raise BodyError(f"the body ({len(body)} bytes) is not complete JSON: expected ',' or ']' at {pos}")
    if _skip_space(text, pos + 1) != len(text):
        raise BodyError(f"the body has data after the array, at character {pos + 1}")
    return {day: (f"[{', '.join(raws)}]".encode("utf-8"), records) for day, (raws, records) in parts.items()}


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in JSON_SPACE:
        pos += 1
    return pos
