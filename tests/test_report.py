"""Figures, the HTML report's content, and the report rendered in a real browser."""

from __future__ import annotations

import html
import json
import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

import scalinglaws as sl
from scalinglaws.cli import main
from scalinglaws.datasets import load
from scalinglaws.errors import InputError, ScalingLawWarning
from scalinglaws.evaluate import backtest
from scalinglaws.planning import compute_optimal
from scalinglaws.report import build_report, render_html, write_report
from scalinglaws.report import figures
from scalinglaws.simulate import simulate_runs

matplotlib = pytest.importorskip("matplotlib")

pytestmark = pytest.mark.filterwarnings("ignore::scalinglaws.errors.ScalingLawWarning")


@pytest.fixture(scope="module")
def gemstones():
    return load("gemstones")


@pytest.fixture(scope="module")
def report(gemstones):
    return build_report(gemstones, ["chinchilla", "kaplan"], bootstrap=8, seed=1)


# --- matplotlib figures ---------------------------------------------------


def test_fit_figure_draws_one_curve_per_model_size_with_labelled_axes(gemstones, tmp_path):
    result = sl.fit(gemstones, "chinchilla")
    fig = figures.fit_figure(result, gemstones, held_out=figures.held_out_mask(gemstones))
    ax = fig.axes[0]
    curves = [line for line in ax.get_lines() if line.get_label().startswith("N = ")]
    assert len(curves) == gemstones.table["N"].nunique()  # one law curve per size
    assert ax.get_xlabel() == "D (tokens)" and ax.get_ylabel() == "loss (nats/token)"
    assert "chinchilla" in ax.get_title() and "gemstones" in ax.get_title()
    # The law curve evaluated by the figure is the fitted law itself.
    line = curves[0]
    size = np.sort(gemstones.table["N"].unique())[0]
    expected = result.law(dict(result.params), N=np.full_like(line.get_xdata(), size), D=line.get_xdata())
    np.testing.assert_allclose(line.get_ydata(), expected, rtol=1e-12)
    figures.save_figure(fig, tmp_path / "fit.png")
    assert (tmp_path / "fit.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_save_figure_rejects_unknown_formats(gemstones, tmp_path):
    fig = figures.curves_figure(gemstones)
    with pytest.raises(InputError, match=r"--plot must end in \.png, \.svg, \.pdf"):
        figures.save_figure(fig, tmp_path / "fit.jpg")


def test_residual_figure_has_one_panel_per_variable(gemstones):
    result = sl.fit(gemstones, "chinchilla")
    fig = figures.residual_figure(result, gemstones)
    assert [ax.get_xlabel() for ax in fig.axes] == ["N (parameters)", "D (tokens)"]


def test_curves_figure_needs_a_run_column():
    runs = simulate_runs("power:N", {"E": 1.5, "A": 400.0, "alpha": 0.3}, noise=0.0, seed=0, N=np.geomspace(1e7, 1e9, 5))
    with pytest.raises(InputError, match="learning curves need a 'run' column"):
        figures.curves_figure(runs)


def test_backtest_figure_shows_every_law(gemstones):
    result = backtest(gemstones, ["chinchilla", "kaplan"])
    fig = figures.backtest_figure(result)
    left, right = fig.axes
    assert {t.get_text() for t in left.get_legend().get_texts()} == {"chinchilla", "kaplan", "perfect prediction"}
    assert [t.get_text() for t in right.get_yticklabels()] == list(result.summary()["law"][::-1])


@pytest.mark.parametrize("command", ["fit", "backtest", "inspect"])
def test_plot_option_writes_the_figure(command, tmp_path, capsys):
    path = tmp_path / f"{command}.svg"
    args = {"fit": ["fit", "dataset:gemstones", "--plot", str(path)],
            "backtest": ["backtest", "dataset:gemstones", "--law", "chinchilla", "--plot", str(path)],
            "inspect": ["inspect", "dataset:gemstones", "--plot", str(path)]}[command]
    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code in (0, None)
    assert path.read_text().lstrip().startswith("<?xml")
    assert f"saved figure to {path}" in capsys.readouterr().err


# --- report content ---------------------------------------------------------


def test_report_numbers_are_the_library_numbers(report, gemstones):
    chinchilla, kaplan = report.fits
    direct = sl.fit(gemstones, "chinchilla")
    for name in ("E", "A", "alpha", "B", "beta"):
        assert chinchilla.params[name] == pytest.approx(direct.params[name], rel=1e-9)
    assert chinchilla.bootstrap is not None and chinchilla.bootstrap.replicates.shape[0] == 8
    largest = float(gemstones.table["C"].max())
    assert [a.C for a in report.plans["chinchilla"]] == pytest.approx([largest, 10 * largest, 100 * largest, 1000 * largest])
    plan = compute_optimal(chinchilla, 10 * largest)
    assert report.plans["chinchilla"][1].N == pytest.approx(plan.N, rel=1e-12)
    expected = backtest(gemstones, ["chinchilla", "kaplan"]).summary()
    assert list(report.backtest.summary()["mean_are"]) == pytest.approx(list(expected["mean_are"]), rel=1e-9)
    roles = report.provenance["hashed columns"].split(", ")
    assert {"N", "D", "C", "loss"} <= set(roles)
    assert report.provenance["data_sha256"] == gemstones.sha256(roles)


def test_report_html_is_self_contained(report, tmp_path):
    path = write_report(report, tmp_path / "report.html")
    text = path.read_text(encoding="utf-8")
    assert "<script src" not in text and "<link" not in text  # nothing fetched
    assert "Plotly.newPlot" in text and "plotly.js" in text.lower()
    # Fit + residuals per law, backtest, plan, learning curves.
    assert text.count('class="figure"') == 2 * 2 + 3
    for expected in ("Backtest", "Compute plan", "Provenance", "95% bootstrap intervals", report.provenance["data_sha256"]):
        assert expected in text


def test_report_rejects_a_path_that_is_not_html(report, tmp_path):
    with pytest.raises(InputError, match=r"give a path ending in \.html"):
        write_report(report, tmp_path / "report.pdf")


def test_report_needs_a_law(gemstones):
    with pytest.raises(InputError, match="give at least one law"):
        build_report(gemstones, [])


def test_report_command_json(tmp_path, capsys):
    path = tmp_path / "r.html"
    with pytest.raises(SystemExit) as exit_:
        main(["report", "dataset:gemstones", "--law", "chinchilla", "-o", str(path), "--budget", "1e22", "--json"])
    assert exit_.value.code in (0, None)
    doc = json.loads(capsys.readouterr().out)
    assert doc["report"] == str(path) and doc["laws"] == ["chinchilla"]
    assert path.stat().st_size > 1_000_000  # the Plotly bundle is inline


# --- the report in a real browser -------------------------------------------


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def test_report_renders_in_headless_chromium(report, tmp_path):
    """Open the file in a real browser with the network blocked: every figure draws, no errors."""
    required = os.environ.get("SCALINGLAWS_REQUIRE_BROWSER") == "1"
    browser_path = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if browser_path is None or sync_playwright is None:
        if required:
            pytest.fail("SCALINGLAWS_REQUIRE_BROWSER=1 but Chromium or Playwright is missing (run .ci/install-browser.sh)")
        pytest.skip("needs Chromium (Debian package 'chromium') and playwright")
    path = write_report(report, tmp_path / "report.html")
    errors: list[str] = []
    external: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_path, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))

        def block(route):
            if route.request.url.startswith("file:"):
                route.continue_()
            else:
                external.append(route.request.url)
                route.abort()

        page.route("**/*", block)
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        figures_total = page.locator("div.figure").count()
        drawn = page.locator("div.figure").evaluate_all("divs => divs.filter(d => d.querySelector('svg.main-svg g.trace') !== null).length")
        points = page.locator("div.figure").first.locator("g.points path").count()
        shot = tmp_path / "report.png"
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert errors == [] and external == []
    assert figures_total == 7 and drawn == figures_total
    assert points >= len(report.runs.table)  # every run's point is drawn in the first fit figure
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    keep = os.environ.get("SCALINGLAWS_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / "report.png")


def test_render_html_escapes_the_source_name(gemstones):
    renamed = sl.Runs(gemstones.table, source="<b>evil</b>", mapping=gemstones.mapping, notes=gemstones.notes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalingLawWarning)
        text = render_html(build_report(renamed, ["power:C"], budgets=[]))
    assert "<b>evil</b>" not in text and "&lt;b&gt;evil&lt;/b&gt;" in text


def test_fit_figure_draws_one_curve_per_model_shape():
    # A law in width, depth and D gets one curve against D per (width, depth) model, each at that model's shape.
    shapes = [(256, 12), (512, 12), (512, 24), (1024, 6)]
    tokens = np.geomspace(1e10, 1e11, 5)
    frame = {"width": np.repeat([w for w, _ in shapes], tokens.size).astype(float), "depth": np.repeat([d for _, d in shapes], tokens.size).astype(float),
             "D": np.tile(tokens, len(shapes))}
    truth = {"E": 1.8, "A_w": 8.0, "alpha_w": 0.26, "A_d": 2.0, "alpha_d": 0.14, "B": 1e5, "beta": 0.54}
    runs = simulate_runs("width_depth", truth, **frame)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalingLawWarning)
        result = sl.fit(runs, "width_depth")
    x_var, curves = figures.law_curves(result, runs)
    assert x_var == "D"
    assert [c.label for c in curves] == ["width = 256, depth = 12", "width = 512, depth = 12", "width = 512, depth = 24", "width = 1.02e+03, depth = 6"]
    for curve, (width, depth) in zip(curves, shapes, strict=True):
        assert curve.rows.sum() == tokens.size
        assert np.all(curve.inputs["width"] == width) and np.all(curve.inputs["depth"] == depth)
        exact = sl.get_law("width_depth").function(truth, curve.inputs)
        assert np.allclose(curve.predicted, exact, rtol=1e-4)
    # A law in N and D keeps one curve per N.
    chinchilla = sl.fit(load("gemstones"), "chinchilla")
    _, by_size = figures.law_curves(chinchilla, load("gemstones"))
    assert len(by_size) == load("gemstones").table["N"].nunique() and by_size[0].label.startswith("N = ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--holdout", "2"], "--holdout must be a fraction between 0 and 1, got 2.0"),
        (["--by", "Q"], "--by must be C, N or D"),
        (["--budget", "-1"], "--budget must be a positive number of FLOPs"),
        (["--level", "95"], "--level must be between 0 and 1"),  # used to pass silently without --bootstrap
    ],
)
def test_report_command_checks_arguments_up_front(tmp_path, capsys, args, message):
    from conftest import run_cli

    output = tmp_path / "r.html"
    code, out, err = run_cli(capsys, "report", "dataset:gemstones", "-o", str(output), *args)
    assert code == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1
    assert not output.exists()


def test_build_report_checks_arguments_before_fitting(gemstones):
    with pytest.raises(InputError, match="--budget must be a positive number of FLOPs"):
        build_report(gemstones, ["chinchilla"], budgets=[-1.0])
    with pytest.raises(InputError, match="--holdout must be a fraction"):
        build_report(gemstones, ["chinchilla"], holdout=2.0)


def test_report_json_notes_are_the_notes_of_the_html(tmp_path, capsys):
    # --json used to give "notes": [] while the page listed how the data were read ("C derived as 6 N D").
    from conftest import run_cli

    code, out, err = run_cli(capsys, "report", "dataset:gemstones", "-o", str(tmp_path / "r.html"), "--json")
    assert code == 0, err
    notes = json.loads(out)["notes"]
    assert "C derived as 6 N D" in notes
    page = (tmp_path / "r.html").read_text()
    assert all(html.escape(note) in page for note in notes)
