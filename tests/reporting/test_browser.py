"""The report in a real headless browser (Debian's chromium, driven by Playwright): it opens from disk with every
network request blocked and none made, its table and charts work, and the page logs no JavaScript error.

Skipped, with the reason, only where no chromium or no Playwright can be had; under CI=true that skip is a failure
(`.ci/run` installs both).
"""

from __future__ import annotations

import csv
import io
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from real_runs import NOTE
from typer.testing import CliRunner

from scratchrun.cli.app import app
from scratchrun.records.reader import read_trials
from scratchrun.reporting.page import make_report

pytestmark = pytest.mark.browser  # under CI=true (.ci/run) a skip here fails the run

# as root, in a container, with no GPU and a closed network: no sandbox, no GPU process, no background traffic
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-default-apps"]


def chromium() -> str | None:
    """The browser to drive: $SCRATCHRUN_CHROMIUM, else a chromium on the PATH."""
    named = os.environ.get("SCRATCHRUN_CHROMIUM")
    return named or next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install playwright)")
    path = chromium()
    if path is None:
        pytest.skip("no chromium to test the report in: install Debian's chromium (apt-get install chromium) or set "
                    "SCRATCHRUN_CHROMIUM to a Chromium or Chrome binary")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def report_file(real_runs, tmp_path_factory) -> Path:
    pytest.importorskip("plotly", reason="plotly is not installed (pip install 'scratchrun[report]')")
    path = tmp_path_factory.mktemp("html") / "report.html"
    make_report([], real_runs, path, "scratchrun report")
    return path


@dataclass
class Opened:
    page: object
    url: str
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def open_report(browser, path: Path) -> Opened:
    """The report opened from disk: every request but the file's own is recorded and refused."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    opened = Opened(page, path.as_uri())

    def refuse(route):  # the request itself is recorded below
        return route.continue_() if route.request.url == opened.url else route.abort()

    page.route("**/*", refuse)
    page.on("request", lambda r: r.url == opened.url or opened.requests.append(r.url))
    page.on("pageerror", lambda e: opened.errors.append(f"page error: {e}"))
    page.on("console", lambda m: m.type == "error" and opened.errors.append(f"console: {m.text}"))
    page.goto(opened.url)
    page.wait_for_function("document.documentElement.dataset.ready === 'true'", timeout=30_000)
    return opened


@pytest.fixture
def opened(browser, report_file):
    opened = open_report(browser, report_file)
    yield opened
    opened.page.close()


def rows(page) -> list[dict]:
    """The table as shown: each row's cells by column key."""
    return page.evaluate("""() => {
        const keys = [...document.querySelectorAll('#run-table thead th')].map(th => th.dataset.key || 'pick');
        return [...document.querySelectorAll('#run-table tbody tr')].map(tr =>
            Object.fromEntries([...tr.children].map((td, i) => [keys[i], td.textContent])));
    }""")


def group_id(page, kind: str, name_part: str) -> str:
    return page.evaluate("([kind, part]) => window.scratchrunReport.data.groups.find(g => g.kind === kind && "
                         "g.name.includes(part)).id", [kind, name_part])


def test_the_page_opens_offline_draws_everything_and_logs_no_error(opened, report_file, tmp_path_factory):
    page = opened.page
    page.evaluate("window.scratchrunReport.drawAll()")
    page.wait_for_timeout(500)
    drawn = page.evaluate("[...document.querySelectorAll('.chart')].map(c => (c.data || []).length)")
    assert len(drawn) >= 2 + 3 + 2 + 1 + 2 and all(n > 0 for n in drawn)  # curves, search, studies
    assert page.evaluate("document.querySelectorAll('.main-svg').length") >= len(drawn)
    assert opened.requests == [], f"the report asked the network for {opened.requests}"
    assert opened.errors == []
    page.screenshot(path=str(tmp_path_factory.mktemp("shots") / "report.png"), full_page=True)


def test_a_note_written_as_html_is_shown_as_text_and_never_run(opened):
    page = opened.page
    assert page.evaluate("window.pwned") is None
    assert NOTE in [row["note"] for row in rows(page)]
    assert page.evaluate("document.querySelectorAll('#run-table img, #run-table script').length") == 0
    assert opened.requests == []


def test_the_table_has_as_many_rows_as_runs_lists(opened, real_runs):
    listed = CliRunner().invoke(app, ["runs", str(real_runs), "--expand", "--csv"])
    assert listed.exit_code == 0, listed.output
    names = [row["name"] for row in csv.DictReader(io.StringIO(listed.stdout))]
    shown = rows(opened.page)
    assert len(shown) == len(names) > 20
    assert sorted(row["name"] for row in shown) == sorted(names)


def test_sorting_by_validation_accuracy_puts_the_best_run_first(opened):
    page = opened.page
    page.click("#run-table th[data-key=val_acc]")
    shown = rows(page)
    best = max(r["val_acc"] for r in page.evaluate("window.scratchrunReport.data.runs") if r["val_acc"] is not None)
    assert shown[0]["val_acc"] == f"{100 * best:.2f}%"
    values = [float(r["val_acc"].rstrip("%")) for r in shown if r["val_acc"]]
    assert len(values) == len(shown) and values == sorted(values, reverse=True)
    assert page.get_attribute("#run-table th[data-key=val_acc]", "aria-sort") == "descending"
    page.click("#run-table th[data-key=val_acc]")
    values = [float(r["val_acc"].rstrip("%")) for r in rows(page) if r["val_acc"]]
    assert values == sorted(values)


def test_clicking_a_run_shows_its_curves(opened):
    page = opened.page
    page.click("#run-table tbody tr:has(td:text-is('sgd-small'))")
    assert page.evaluate("document.getElementById('curves-loss').data.map(t => t.name)") == ["sgd-small"]
    assert page.evaluate("document.getElementById('curves-acc').data.map(t => t.name)") == ["sgd-small val",
                                                                                            "sgd-small train"]
    points = page.evaluate("document.getElementById('curves-loss').data[0].y.length")
    assert points == 40  # 2 epochs of 20 minibatches
    assert page.locator("#curves-loss .scatterlayer path.js-line").count() == 1
    assert page.text_content("#run-details h3") == "sgd-small"
    page.click("#run-table tbody tr:has(td:text-is('adam-small')) input[type=checkbox]")
    assert page.evaluate("document.getElementById('curves-loss').data.map(t => t.name)") == ["sgd-small", "adam-small"]


def test_the_filter_keeps_the_matching_runs(opened):
    page = opened.page
    page.fill("#filter", "tag=baseline")
    assert [row["name"] for row in rows(page)] == ["adam-small"]
    page.fill("#filter", "status=pruned optimizer.name=adam")
    shown = rows(page)
    assert shown and all(r["status"] == "pruned" and r["optimizer.name"] == "adam" for r in shown)
    page.fill("#filter", "val_acc>2")
    assert rows(page) == [] and page.text_content("#runs .count") == (
        f"0 of {page.evaluate('window.scratchrunReport.data.runs.length')} runs")


def test_the_parallel_coordinates_hold_every_trial_with_log_axes_where_the_space_is_log_uniform(opened, real_runs):
    page = opened.page
    group = group_id(page, "search", "small-search")
    chart = f"#group-{group} [data-figure=parcoords]"
    page.locator(chart).scroll_into_view_if_needed()
    page.wait_for_selector(f"{chart} .main-svg")
    folder = next(p for p in real_runs.iterdir() if p.name.endswith("search-small-search"))
    trials = read_trials(folder)
    dimensions = page.evaluate(f"document.querySelector('{chart}').data[0].dimensions")
    assert all(len(d["values"]) == len(trials) for d in dimensions)
    by_label = {d["label"]: d for d in dimensions}
    assert set(by_label) >= {"optimizer.lr (log)", "model.weight_decay", "optimizer.name", "round", "status", "val_acc"}
    # drawn: the log axis's ticks are the real values, evenly spaced on the page
    ticks = page.evaluate(f"""() => [...document.querySelectorAll('{chart} .y-axis')].map(axis =>
        [...axis.querySelectorAll('.tick')].map(t => [t.textContent, t.getBoundingClientRect().y]))""")
    lr_ticks = next(t for t in ticks if [text for text, _ in t] == ["0.0001", "0.001", "0.01", "0.1", "1"])
    gaps = [b[1] - a[1] for a, b in zip(lr_ticks, lr_ticks[1:])]
    assert max(gaps) - min(gaps) < 1.5
    assert "pruned" in [text for axis in ticks for text, _ in axis]


def test_a_studys_figures_are_interactive_charts(opened):
    page = opened.page
    for kind, figure, traces in (("bn-study", "bn", 4), ("overfit-study", "gap", 1),
                                 ("compare-optimizers", "loss", 4)):
        chart = f"#group-{group_id(page, 'study', kind)} [data-figure={figure}]"
        page.locator(chart).scroll_into_view_if_needed()
        page.wait_for_selector(f"{chart} .main-svg")
        assert page.evaluate(f"document.querySelector('{chart}').data.length") == traces
    assert opened.errors == []


def test_the_harness_sees_a_request_and_an_error_when_a_page_makes_them(browser, tmp_path):
    """The checks above can fail: a page that asks for an image and throws is caught on both counts."""
    page_file = tmp_path / "leaky.html"
    page_file.write_text('<img src="https://example.invalid/x.png"><script>document.documentElement.dataset.ready = '
                         '"true"; setTimeout(() => { throw new Error("boom"); });</script>')
    opened = open_report(browser, page_file)
    opened.page.wait_for_timeout(200)
    assert opened.requests == ["https://example.invalid/x.png"]
    assert any("boom" in e for e in opened.errors)
    opened.page.close()
