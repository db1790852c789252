"""The text chart that `scratchrun show` draws: its size, non-finite values, the log scale."""

from __future__ import annotations

import re

import numpy as np

from scratchrun.cli.display import text_chart
from scratchrun.cli.display.text_chart import line_chart

BRAILLE = re.compile("[\u2801-\u28ff]")


def test_chart_rows_are_the_asked_size_and_a_long_series_is_averaged_before_it_is_drawn(monkeypatch):
    drawn = []  # the points the dot-by-dot Python loop joins: one a dot column, however many values there are
    connected = text_chart._connected
    monkeypatch.setattr(text_chart, "_connected", lambda cols, rows: drawn.append(len(cols)) or connected(cols, rows))
    rng = np.random.default_rng(0)
    y = 2.3 * np.exp(-np.arange(30_000) / 3000) + 0.1 * rng.random(30_000)
    chart = line_chart(y, np.arange(1, 30_001), 60, 12, x_label="iteration")
    assert drawn == [2 * 60]  # 120 means, not 30,000 points
    rows = chart.splitlines()
    assert len(rows) == 14 and all(len(re.findall("[\u2800-\u28ff]", row)) == 60 for row in rows[:12])
    assert rows[0].lstrip().startswith(f"{y[:250].mean():.4g}")  # the first column is the mean of 250 losses
    assert rows[-1].split() == ["1", "iteration", "30000"]


def test_chart_leaves_out_nan_and_inf_and_says_where_they_start():
    chart = line_chart([2.3, 2.0, 1.5, np.inf, np.nan], x_label="iteration")
    assert "2 non-finite value(s) (inf, nan) not drawn, the first at iteration 4" in chart
    assert chart.splitlines()[0].lstrip().startswith("2.3") and BRAILLE.search(chart)
    assert line_chart([np.nan, np.inf]).startswith("(nothing to draw: 2 non-finite")
    assert line_chart([]) == "(no values yet)"


def test_chart_of_a_constant_and_of_a_single_point_draws_one_row():
    for values in ([0.5, 0.5, 0.5], [0.5]):
        rows = line_chart(values, width=20, height=4).splitlines()
        drawn = [row for row in rows[:4] if BRAILLE.search(row)]
        assert len(drawn) == 1, rows
        assert rows[0].startswith("0.5 ┤") and rows[3].startswith("0.5 ┤")


def test_chart_switches_to_a_log_scale_when_the_values_span_many_decades():
    assert "log y" in line_chart([2.3, 50.0, 1e12])
    assert "log y" not in line_chart([2.3, 1.0, 0.5])


def test_a_chart_of_losses_near_the_float_limit_does_not_overflow():
    from scratchrun.cli.display.text_chart import line_chart

    chart = line_chart([2.3] * 300 + [1e307, 1.5e308, 1.6e308, 1.7e308], None, 60, 6)
    assert len(chart.splitlines()) == 6 + 2 and "log y" in chart
