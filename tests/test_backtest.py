"""Backtests: splits, ARE, ranking, intervals on held-out runs, real benchmark data."""

import json

import numpy as np
import pandas as pd
import pytest

import scalinglaws as sl
from scalinglaws.datasets import load
from scalinglaws.evaluate import backtest, backtest_groups, drop_early, split_mask
from scalinglaws.laws import CHINCHILLA_PUBLISHED
from scalinglaws.simulate import chinchilla_ladder, simulate_runs

from conftest import shared_data


def test_noise_free_truth_has_zero_error_and_ranks_first():
    runs = simulate_runs("chinchilla", CHINCHILLA_PUBLISHED, **chinchilla_ladder())
    result = backtest(runs, ["power:N", "chinchilla"], by="C", holdout=0.2)
    assert result.best == "chinchilla"
    best = {r.law: r for r in result.results}["chinchilla"]
    assert best.mean_are < 1e-6
    assert best.n_heldout == 8 and best.n_fit == 32  # 20% of 40 rows, the largest by C
    assert {r.law: r for r in result.results}["power:N"].mean_are > 0.01


def test_held_out_runs_are_the_largest_and_whole():
    runs = sl.read_runs("dataset:gemstones")
    mask, description = split_mask(runs, by="N", holdout=0.2)
    assert description == "largest 4 of 22 runs by N held out"
    held = runs.table[mask]
    assert held["N"].min() > runs.table[~mask]["N"].max()
    assert held.groupby("run").size().eq(10).all()  # every checkpoint of a held-out run


def test_gemstones_backtest_numbers():
    # Hold out the 4 largest Gemstones models (of 22) and predict their 40 checkpoints.
    result = backtest("dataset:gemstones", ["chinchilla", "kaplan", "power:N"], by="N")
    are = {r.law: r.mean_are for r in result.results}
    assert are["chinchilla"] == pytest.approx(0.0130, abs=5e-4)
    assert are["kaplan"] == pytest.approx(0.0150, abs=5e-4)
    assert are["power:N"] > are["chinchilla"]
    assert list(result.summary()["law"]) == ["chinchilla", "kaplan", "power:N"]


def test_bootstrap_backtest_reports_interval_hits():
    runs = simulate_runs("chinchilla", CHINCHILLA_PUBLISHED, noise=0.01, seed=2, **chinchilla_ladder())
    result = backtest(runs, ["chinchilla"], bootstrap=20, seed=0)
    (law,) = result.results
    assert law.coverage is not None and 0.0 <= law.coverage <= 1.0
    assert {"lower", "upper", "inside"} <= set(law.targets.columns)
    assert (law.targets["lower"] <= law.targets["upper"]).all()
    doc = result.to_dict()
    assert doc["level"] == 0.95 and doc["laws"][0]["rank"] == 1
    json.dumps(doc)


def test_drop_early_checkpoints():
    runs = sl.read_runs("dataset:gemstones")
    trimmed = drop_early(runs, min_tokens=25e9)
    assert trimmed.table["D"].min() >= 25e9
    assert "dropped 44 early checkpoint(s) before fitting" in trimmed.notes
    by_fraction = drop_early(runs, drop_fraction=0.1)
    assert len(by_fraction) == 198  # the first of 10 checkpoints of each of 22 runs


def test_revisiting_benchmark_power_law_beats_plain_power_law():
    # "Revisiting Neural Scaling Laws" (Alabdulmohsin et al. 2022) in the Hitchhiker data:
    # the Training column marks the extrapolation-fit part (1) and held-out part (0).
    path = shared_data("hitchhiker_colpret", "aggregated_eval", "revisiting_lang.csv")
    calls = []
    frame = backtest_groups(pd.read_csv(path), ["power:D", "plain:D"], group=["Domain", "Task", "Model"], split="Training",
                            columns={"D": "Seen Examples", "loss": "Loss"}, progress=lambda done, total: calls.append((done, total)))
    assert len(frame) == 2 * 20
    assert calls == [(i, 20) for i in range(1, 21)]  # one progress tick per group
    per_domain = frame.pivot_table(index="Domain", columns="law", values="mean_are")
    # Measured: LM 0.0010 vs 0.0104, NMT 0.041 vs 0.229, BIG-bench 0.0118 vs 0.0111.
    assert per_domain.loc["LM", "power:D"] == pytest.approx(0.00103, rel=0.05)
    assert per_domain.loc["NMT", "power:D"] == pytest.approx(0.0412, rel=0.05)
    assert per_domain.loc["NMT", "plain:D"] == pytest.approx(0.229, rel=0.05)
    assert per_domain.loc["BB", "power:D"] < 0.02 and per_domain.loc["BB", "plain:D"] < 0.02
    assert frame.groupby("law")["mean_are"].mean()["power:D"] < frame.groupby("law")["mean_are"].mean()["plain:D"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"split": "nope"}, "split column 'nope' is not in the data"),
        ({"holdout": 1.5}, "holdout must be a fraction between 0 and 1"),
        ({"by": "U"}, "missing column for 'U'"),
    ],
)
def test_backtest_errors(kwargs, message):
    with pytest.raises(sl.InputError, match=message):
        backtest("dataset:gemstones", ["chinchilla"], **kwargs)


def test_split_column_values_are_checked():
    frame = pd.DataFrame({"N": np.geomspace(1e7, 1e9, 6), "loss": [3, 2.8, 2.6, 2.5, 2.4, 2.3], "part": ["fit"] * 4 + ["maybe"] * 2})
    with pytest.raises(sl.InputError, match="must hold 1/0"):
        backtest(frame, ["power:N"], split="part")
    with pytest.raises(sl.InputError, match="give at least one law"):
        backtest(frame, [])


def test_cli_backtest_json(capsys):
    from scalinglaws.cli import main

    with pytest.raises(SystemExit) as info:
        main(["backtest", "dataset:gemstones", "--law", "chinchilla", "--law", "kaplan", "--by", "N", "--json"])
    assert info.value.code in (0, None)
    doc = json.loads(capsys.readouterr().out)
    assert doc["ranking"] == ["chinchilla", "kaplan"]
    assert doc["laws"][0]["n_heldout"] == 40


def test_drop_fraction_needs_runs():
    # Without a run column every row is its own run, so dropping "the early part of each run"
    # would silently drop nothing; it is an error instead.
    table = load("gemstones").table.drop(columns=["run"])
    with pytest.raises(sl.InputError, match="the data has no 'run' column"):
        backtest(table, ["chinchilla"], drop_fraction=0.1)


def _small_ladder(rows: int = 8) -> pd.DataFrame:
    n = np.geomspace(1e7, 1e9, rows)
    return pd.DataFrame({"N": n, "D": 20 * n, "loss": 1.7 + 400 / n**0.34 + 410 / (20 * n) ** 0.28})


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--law", "chinchilla", "--law", "sigmoid"], "law 'sigmoid' predicts another quantity from the 'loss' column.*scalinglaws task"),
        (["--law", "downstream_error"], "cannot be fitted to 'loss' itself"),
        (["--law", "chinchilla", "--level", "2", "--bootstrap", "3"], "--level must be between 0 and 1"),
        (["--law", "chinchilla", "--bootstrap", "1"], "--bootstrap must be 0 .* or an integer >= 2"),
        (["--law", "chinchilla", "--law", "kaplan", "--min-tokens", "1e20"], "--min-tokens 1e\\+20\\) leaves nothing to fit"),
        (["--law", "chinchilla", "--by", "n"], "--by must be C, N or D"),
    ],
)
def test_cli_backtest_checks_arguments_up_front(capsys, args, message):
    import re

    from conftest import run_cli

    code, out, err = run_cli(capsys, "backtest", "dataset:gemstones", *args)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and re.search(message, err), err


def test_failed_law_gets_no_rank():
    # 4 fitted rows cannot fit Chinchilla's 5 parameters: that law fails and must not be ranked.
    result = backtest(_small_ladder(), ["chinchilla", "power:N"], holdout=0.5)
    summary = result.summary()
    assert list(summary["law"]) == ["power:N", "chinchilla"]
    assert summary.index[0] == 1 and pd.isna(summary.index[1])
    assert result.best == "power:N" and [r.law for r in result.unranked] == ["chinchilla"]
    doc = result.to_dict()
    assert doc["ranking"] == ["power:N"]
    assert {r["law"]: r["rank"] for r in doc["laws"]} == {"chinchilla": None, "power:N": 1}
    only_failed = backtest(_small_ladder(), ["chinchilla"], holdout=0.5)
    with pytest.raises(sl.FitError, match="no law converged"):
        only_failed.best


def test_cli_backtest_prints_why_a_law_failed_and_exits_1(capsys, tmp_path):
    from conftest import run_cli

    path = tmp_path / "small.csv"
    _small_ladder().to_csv(path, index=False)
    code, out, err = run_cli(capsys, "backtest", str(path), "--law", "chinchilla", "--law", "power:N", "--holdout", "0.5")
    assert code == 1
    assert "chinchilla: no rank: failed: law 'chinchilla' has 5 parameters" in out
    assert "│ 1    │    power:N" in out and "│ -    │ chinchilla" in out
    code, out, _ = run_cli(capsys, "backtest", str(path), "--law", "chinchilla", "--law", "power:N", "--holdout", "0.5", "--json")
    assert code == 1 and json.loads(out)["ranking"] == ["power:N"]


def test_bad_values_are_bad_input_and_one_law_may_be_a_string(capsys, tmp_path):
    # A NaN loss among the runs to fit used to be recorded as a failure of each law (exit 1, the reason only in the
    # table); it is bad input, as in `fit`: one line, exit 2. A single law name used to be split into letters ("unknown law 'c'").
    from conftest import run_cli

    table = sl.read_runs("dataset:gemstones").table[["N", "D", "loss"]].copy()
    table.loc[3, "loss"] = float("nan")
    path = tmp_path / "nan.csv"
    table.to_csv(path, index=False)
    code, out, err = run_cli(capsys, "backtest", str(path), "--law", "chinchilla")
    assert code == 2 and out == "" and "column 'loss' has 1 missing (NaN) value(s)" in err
    with pytest.raises(sl.InputError, match="column 'loss' has 1 missing"):
        backtest(table, ["chinchilla"])
    one = backtest("dataset:gemstones", "chinchilla")
    assert [r.law for r in one.results] == ["chinchilla"] and one.best == "chinchilla"
    assert one.results[0].mean_are == pytest.approx(backtest("dataset:gemstones", ["chinchilla"]).results[0].mean_are, rel=1e-12)
