import datetime as dt
import json

import pytest

from gnp.source.hyperion_body import BodyError, measurement_day, parse_records, split_by_day

D1, D2 = dt.date(2025, 10, 26), dt.date(2025, 10, 27)
# Odd spacing, key order, escapes and float spellings must survive the split untouched.
RAW = [
    '{"measurement_id": 1, "measurement_time": "2025-10-26 03:30:00", "x": 1.50}',
    '{"measurement_time":"2025-10-27 00:00:01","measurement_id":2,"name":"\\u0391\\u03b8"}',
    '{"measurement_id": 3, "measurement_time": ""}',
    '{"measurement_id": 4, "measurement_time": null}',
    '{"measurement_id": 5, "measurement_time": "2025-10-30 10:00:00"}',
    '{"measurement_id": 6, "measurement_time": "2025-10-27 25:61:00", "ISP": "Nova"}',
]
BODY = ("[\n  " + ",\n  ".join(RAW) + "\n]\n").encode()


def test_split_keeps_each_record_as_received_and_places_strays_on_the_first_day():
    parts = split_by_day(BODY, [D1, D2])
    assert parts[D1][0] == f"[{', '.join([RAW[0], RAW[2], RAW[3], RAW[4]])}]".encode()
    assert parts[D2][0] == f"[{', '.join([RAW[1], RAW[5]])}]".encode()
    assert [r["measurement_id"] for r in parts[D2][1]] == [2, 6]
    assert json.loads(parts[D1][0]) == parts[D1][1]


def test_every_requested_day_gets_an_array_even_when_empty():
    parts = split_by_day(b"[]", [D1, D2])
    assert parts == {D1: (b"[]", []), D2: (b"[]", [])}


@pytest.mark.parametrize(
    "body",
    [BODY[: len(BODY) // 2], b"<html>502</html>", b'{"detail": "x"}', b"[1, 2]", b'[{"a": 1},]', b"[] []", b"\xff["],
)
def test_broken_bodies_are_body_errors_in_both_parsers(body):
    with pytest.raises(BodyError):
        split_by_day(body, [D1, D2])
    with pytest.raises(BodyError):
        parse_records(body)


def test_measurement_day_reads_the_local_date_or_none():
    assert measurement_day({"measurement_time": "2025-10-26 03:30:00"}) == D1
    assert measurement_day({"measurement_time": "26/10/2025 03:30"}) is None
    assert measurement_day({"measurement_time": None}) is None
    assert measurement_day({}) is None
