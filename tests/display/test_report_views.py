import pytest

from gnp.display import report as report_views

DOC = ('<!DOCTYPE html><html><head><meta charset="utf-8"><title>T</title><style>.gnp-root h1 {x: 1}</style>'
       '</head><body class="gnp-root"><h1>T</h1><svg><rect/></svg></body></html>')


def test_inline_fragment_keeps_the_scoped_style_and_the_body_only():
    found = report_views.inline_fragment(DOC)

    assert found == '<style>.gnp-root h1 {x: 1}</style><div class="gnp-root"><h1>T</h1><svg><rect/></svg></div>'


def test_inline_fragment_says_what_it_expected():
    with pytest.raises(ValueError, match="no <body>"):
        report_views.inline_fragment("<p>not a report</p>")


def test_embed_reads_the_written_report(tmp_path):
    written = tmp_path / "dashboard.html"
    written.write_text(DOC, encoding="utf-8")

    shown = report_views.embed(str(written), ctx=None)

    assert "<svg><rect/></svg>" in shown.data and "<html" not in shown.data
