import datetime as dt

from gnp.gold.slices import with_slices
from silver_factories import measurement, measurements_df

D1 = dt.date(2025, 3, 3)


def test_a_row_belongs_to_its_areas_for_every_isp_and_its_own(spark):
    rows = [
        measurement(1, "a", D1, 9, "9", 10.0, isp="Nova"),  # place and ISP: 3 areas x 2
        measurement(2, "b", D1, 9, "9", 20.0, isp=None),  # no ISP: 3 areas, every ISP only
        measurement(3, "c", D1, 9, None, 30.0, isp="Nova"),  # no place: Greece only, x 2
    ]

    found = with_slices(measurements_df(spark, rows)).collect()

    slices = sorted((r.measurement_id, r.area_level, r.area_id, r.isp, r.area, r.periphery_id) for r in found)
    expected = sorted([
        *[(1, level, area, isp, name, parent)
          for level, area, name, parent in (("country", "GR", "ΕΛΛΑΔΑ", None), ("periphery", "9", "ΑΤΤΙΚΗΣ", "9"),
                                            ("regional_unit", "45", "Κεντρικού Τομέα Αθηνών", "9"))
          for isp in ("all", "Nova")],
        (2, "country", "GR", "all", "ΕΛΛΑΔΑ", None), (2, "periphery", "9", "all", "ΑΤΤΙΚΗΣ", "9"),
        (2, "regional_unit", "45", "all", "Κεντρικού Τομέα Αθηνών", "9"),
        (3, "country", "GR", "all", "ΕΛΛΑΔΑ", None), (3, "country", "GR", "Nova", "ΕΛΛΑΔΑ", None),
    ])
    assert slices == expected, f"expected {expected}, found {slices}"
    assert {r.download_mbps for r in found if r.measurement_id == 1} == {10.0}, "other columns are carried"
    assert "regional_unit_id" not in found[0].asDict(), "place columns are replaced by the slice columns"
