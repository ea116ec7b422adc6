"""Backtesting designs on real runs: the helpers, and the design against the grid on real families."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import scalinglaws as sl
from scalinglaws.datasets import load
from scalinglaws.design import Ladder, backtest_ladder, backtest_ladders, chosen_rows, classic_ladder, design_ladder, hold_out_largest, hold_out_top_budget, hold_out_top_compute, sparse_checkpoints, thin_checkpoints
from scalinglaws.errors import InputError, ScalingLawWarning
from scalinglaws.laws import CHINCHILLA_PUBLISHED
from scalinglaws.simulate import simulate_runs

from conftest import shared_data


def _simulated_pool() -> pd.DataFrame:
    n = np.repeat([5e7, 1e8, 2e8, 4e8, 8e8, 1.6e9], 4)
    d = n * np.tile([10.0, 20.0, 40.0, 80.0], 6)
    runs = simulate_runs("chinchilla", CHINCHILLA_PUBLISHED, noise=0.0, seed=0, N=n, D=d)
    return runs.table[["N", "D", "loss"]]


def test_hold_out_largest_keeps_finished_runs_or_last_checkpoints():
    table = _simulated_pool()
    pool, held = hold_out_largest(table, 1)
    assert pool["N"].max() == 8e8 and set(held["N"]) == {1.6e9} and len(held) == 4  # every finished run of that size
    with_runs = table.assign(run=table["N"].map(lambda n: f"run-{n:g}"))
    pool, held = hold_out_largest(with_runs, 2)
    assert set(held["N"]) == {8e8, 1.6e9} and held["D"].tolist() == [8e8 * 80, 1.6e9 * 80]  # one last checkpoint per run
    with pytest.raises(InputError, match="cannot hold out the 4 largest sizes of 6: keep at least 3 sizes in the pool"):
        hold_out_largest(table, 4)


def test_hold_out_top_budget_keeps_the_bottom_of_the_top_bowl_and_a_pool_ten_times_cheaper():
    # Three IsoFLOP budgets, five sizes each; at the top budget (1e21) the loss is lowest at N=1e9.
    budgets = np.repeat([1e19, 1e20, 1e21], 5)
    n = np.tile([1e8, 5e8, 1e9, 2.5e9, 1e10], 3)
    loss = 3.0 - 0.1 * np.log10(budgets / 1e19) + 0.05 * np.log(n / 1e9) ** 2
    table = pd.DataFrame({"N": n, "D": budgets / (6 * n), "loss": loss, "budget": budgets})
    pool, held = hold_out_top_budget(table)
    # Held out: the top budget's runs within a factor 3 of N=1e9, lowest loss first (the target).
    assert held["N"].tolist() == [1e9, 5e8, 2.5e9] and set(held["budget"]) == {1e21}
    # Pool: budgets a tenth of the top or less, sizes up to the target's.
    assert sorted(pool["budget"].unique()) == [1e19, 1e20] and pool["N"].max() == 1e9 and len(pool) == 6
    with pytest.raises(InputError, match="needs columns N, D, loss and budget; missing budget"):
        hold_out_top_budget(table.drop(columns="budget"))
    with pytest.raises(InputError, match="leaves 2 model size"):
        hold_out_top_budget(table[table["N"] != 5e8])


def test_hold_out_top_compute_keeps_the_most_expensive_runs_largest_first():
    table = pd.DataFrame({"N": [1e8, 2e8, 4e8, 8e8, 1.6e9], "D": [2e9, 4e9, 8e9, 1.6e10, 1e9], "loss": [3.5, 3.2, 3.0, 2.8, 3.1]})
    pool, held = hold_out_top_compute(table, runs=2)
    assert list(held["N"]) == [8e8, 4e8]  # 7.7e19 and 1.9e19 FLOPs; the 1.6B model saw few tokens and stays in the pool
    assert sorted(pool["N"]) == [1e8, 2e8, 1.6e9]
    with pytest.raises(InputError, match="leaves 2 model size"):
        hold_out_top_compute(table, runs=3)
    with pytest.raises(InputError, match="hold out at least 1 run"):
        hold_out_top_compute(table, runs=0)
    with pytest.raises(InputError, match="needs columns N, D and loss; missing loss"):
        hold_out_top_compute(table.drop(columns="loss"))


def test_a_ladder_with_the_true_law_backtests_to_zero_and_a_wrong_choice_does_not():
    table = _simulated_pool()
    pool, held = hold_out_largest(table, 1)
    everything = Ladder("all", pool["N"].to_numpy(), pool["D"].to_numpy())
    assert len(chosen_rows(everything, pool)) == len(pool)
    assert backtest_ladder(everything, pool, held) < 1e-4  # noiseless Chinchilla data: the fit recovers the law
    too_few = Ladder("three", pool["N"].to_numpy()[:3], pool["D"].to_numpy()[:3])
    assert np.isnan(backtest_ladder(too_few, pool, held))  # 3 points cannot fit 5 parameters
    with pytest.raises(InputError, match="the pool table needs columns N, D and loss to backtest a ladder; missing loss"):
        backtest_ladder(everything, pool.drop(columns="loss"), held)
    with pytest.raises(InputError, match="the held-out table needs columns N, D and loss; missing loss"):
        backtest_ladder(everything, pool, held.drop(columns="loss"))


def test_thinning_bins_each_run_in_log_tokens():
    d = np.geomspace(1e9, 1e11, 200)
    table = pd.DataFrame({"run": np.repeat(["a", "b"], 200), "N": np.repeat([1e8, 2e8], 200), "D": np.tile(d, 2),
                          "loss": np.tile(3.0 + 0.01 * np.sin(np.arange(200)), 2)})
    thin = thin_checkpoints(table, 10)
    assert thin.groupby("run").size().tolist() == [10, 10]
    assert thin["D"].min() > 1e9 and thin["D"].max() < 1e11 and thin["loss"].between(2.99, 3.01).all()
    with pytest.raises(InputError, match="thinning checkpoints needs a 'run' column"):
        thin_checkpoints(table.drop(columns="run"), 10)


def test_sparse_checkpoints_keeps_real_rows_the_first_and_the_last():
    d = np.geomspace(1e9, 1e11, 200)
    table = pd.DataFrame({"run": ["a"] * 200 + ["b"] * 5, "N": [1e8] * 200 + [2e8] * 5, "D": np.r_[d, d[::40]],
                          "loss": np.r_[3.0 + 0.01 * np.sin(np.arange(200)), np.full(5, 2.9)]})
    sparse = sparse_checkpoints(table, 10)
    a = sparse[sparse["run"] == "a"]
    # Ten rows of run a, each a logged row (nothing averaged), from the first checkpoint to the last, evenly in log D.
    assert len(a) == 10 and a["D"].iloc[0] == d[0] and a["D"].iloc[-1] == d[-1]
    assert set(zip(a["D"], a["loss"])) <= set(zip(table["D"], table["loss"]))
    assert np.allclose(np.diff(np.log(a["D"])), np.log(100) / 9, atol=np.log(100) / 199)  # within one logged step
    assert sparse[sparse["run"] == "b"].reset_index(drop=True).equals(table[table["run"] == "b"].reset_index(drop=True))  # five rows: kept whole
    assert len(sparse_checkpoints(table.drop(columns="loss"), 10)) == 15  # the design's pool needs no loss
    with pytest.raises(InputError, match="keep at least 2 checkpoints per run"):
        sparse_checkpoints(table, 1)
    with pytest.raises(InputError, match="thinning checkpoints needs a 'run' column"):
        sparse_checkpoints(table.drop(columns="run"), 10)


def test_design_command_thins_a_dense_pool_and_says_so(capsys, tmp_path):
    from conftest import run_cli

    sizes, tokens = np.geomspace(5e7, 8e8, 4), np.geomspace(1e9, 4e10, 300)
    n, d = (a.ravel() for a in np.meshgrid(sizes, tokens, indexing="ij"))
    path = tmp_path / "dense.csv"
    pd.DataFrame({"run": np.repeat([f"r{i}" for i in range(4)], 300), "N": n, "D": d}).to_csv(path, index=False)
    budget = 0.3 * float(np.sum(6 * sizes * 4e10))
    code, out, _ = run_cli(capsys, "design", "--target", "N=7e9,D=1.4e11", "--budget", f"{budget:g}", "--pool", str(path),
                           "--simulations", "8", "--checkpoints-per-run", "12", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["notes"][0].startswith("the pool's runs keep at most 12 checkpoints each") and "1200 rows -> 48" in doc["notes"][0]
    kept = set(zip(n, d))
    assert all((r["N"], r["D"]) in kept for r in doc["design"]["runs"])
    assert max(pd.DataFrame(doc["design"]["runs"]).groupby("run").size()) <= 12
    code, _, err = run_cli(capsys, "design", "--target", "N=7e9,D=1.4e11", "--budget", "1e20", "--pool", str(path), "--checkpoints-per-run", "1")
    assert code == 2 and "--checkpoints-per-run must be 0 (keep all) or at least 2, got 1" in err


@pytest.mark.parametrize("name", ["gpt3", "opt"])
def test_the_hitchhiker_curves_are_bundled_with_their_sizes(name):
    table = load(name).table
    sizes = {"gpt3": [125e6, 350e6, 760e6, 1.3e9, 2.7e9, 6.7e9, 13e9, 175e9], "opt": [125e6, 1.3e9, 6.7e9, 13e9, 30e9, 175e9]}[name]
    assert sorted(table["N"].unique()) == sizes
    assert table["D"].max() == pytest.approx(3e11, rel=0.08)
    final = table[table["run"].str.endswith("175b")].sort_values("D")["loss"].iloc[-1]
    # GPT-3 175B ends near 1.79 nats (the paper's figure); OPT-175B near ln 9.77 = 2.28.
    assert final == pytest.approx({"gpt3": 1.79, "opt": 2.28}[name], abs=0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalingLawWarning)  # OPT's fit puts E on its bound of 0
        assert np.isfinite(sl.fit(load(name).table.iloc[::5], "chinchilla", diagnostics=False).objective)


def _family_pool(name: str, held_sizes: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A bundled family's checkpoints (GPT-3 binned to 20 per run), split into the pool and the held-out runs' last checkpoints."""
    table = thin_checkpoints(load(name).table, 20) if name == "gpt3" else load(name).table[["run", "N", "D", "loss"]]
    return hold_out_largest(table, held_sizes)


def _family_cell(name: str, held_sizes: int, simulations: int = 16):
    """Design (defaults, seed 0) and the pool's grid baselines at the classic grid's budget; real ARE of each."""
    pool, final = _family_pool(name, held_sizes)
    arrays = (pool["N"].to_numpy(), pool["D"].to_numpy(), pool["run"].to_numpy())
    budget = classic_ladder(pool).compute
    target = {"N": float(final["N"].mean()), "D": float(final["D"].max())}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalingLawWarning)
        design = design_ladder("chinchilla", CHINCHILLA_PUBLISHED, target, budget, pool=arrays, simulations=simulations, seed=0)
    assert design.best.ladder.compute <= budget * (1 + 1e-9)
    errors = backtest_ladders([design.best.ladder, *(b.ladder for b in design.baselines)], pool, final)
    return design, errors


@pytest.mark.slow
def test_on_gpt3_the_design_beats_the_grid_at_equal_compute():
    # GPT-3 (a Hitchhiker's Guide family, bundled): pool = every checkpoint of the 125M-13B curves (binned to 20 per
    # run), held out = GPT-3 175B at 300B tokens, prior = Chinchilla's published law, budget = the 20-tokens/param
    # grid's (9.7% of the target's compute); every ladder leaves out each run's first 10% of tokens. Measured with the
    # defaults (32 simulations, 2% misfit along the ratio, seed 0): the best simulated score is 4 runs to 13B cut at
    # 160 tokens/param (0.40% real ARE), but 13 ladders are within simulation noise of it, and of those the design
    # proposes the one that spends the most of the budget: 4 runs to 13B cut at 320 tokens/param (97%), 1.56% ARE,
    # against 2.29% for the grid on its last checkpoints and 3.26% for the grid on all its checkpoints (the same
    # compute). The ties' real errors run from 0.40% to 11.4%.
    design, errors = _family_cell("gpt3", 1, simulations=32)
    assert errors[0] == pytest.approx(0.0156, abs=0.001)
    assert errors[1] == pytest.approx(0.0229, abs=0.001) and errors[2] == pytest.approx(0.0326, abs=0.001)
    assert errors[0] < min(errors[1:][np.isfinite(errors[1:])])
    # No tie spends more of the budget, to the nearest percent (4 runs to 13B cut at 640 tokens/param also spends 97%,
    # and scores worse in simulation).
    share = lambda e: round(e.ladder.compute / design.budget, 2)  # noqa: E731
    assert len(design.ties) >= 10 and all(share(t) <= share(design.best) for t in design.ties)


@pytest.mark.slow
def test_on_gemstones_the_simulations_prefer_a_ladder_the_real_runs_reject():
    # The gap left open (docs/design-validation.md): hold out the three ~2B Gemstones models, pool the other 19
    # runs' checkpoints. Measured with the defaults (32 simulations, seed 0): the best simulated score, 3 runs to 1B
    # cut at 6.7e19 FLOPs each (4.7% simulated error against the grid's 7.1%), is proposed; the grid is not within
    # simulation noise of it. On the real runs it errs 7.88% and the grid with all its checkpoints 2.58%; its one tie
    # (3 runs to 1B cut at 5.1e19 FLOPs each) errs 8.26%. Seeds 1-3 propose the grid itself. The simulations cannot
    # see what makes those ladders worse; the real runs can. When a change to the design fixes this, update the
    # numbers here and in docs/design-validation.md.
    design, errors = _family_cell("gemstones_350b", 3, simulations=32)
    grid = design.baselines[1]
    assert design.best.rmse < 0.75 * grid.rmse  # the simulations prefer the proposal clearly ...
    assert errors[0] == pytest.approx(0.0788, abs=0.001)
    assert errors[1] == pytest.approx(0.0812, abs=0.001) and errors[2] == pytest.approx(0.0258, abs=0.001)
    assert errors[0] > 3 * errors[2]  # ... and the real runs reject it: three times the grid's error
    pool, final = _family_pool("gemstones_350b", 3)
    tied = backtest_ladders([t.ladder for t in design.ties], pool, final)
    assert len(design.ties) == 1 and tied[0] == pytest.approx(0.0826, abs=0.001)


def test_design_command_backtests_on_the_pools_largest_sizes(capsys, tmp_path):
    from conftest import run_cli
    from scalinglaws.design import classic_ladder

    path = tmp_path / "opt.csv"
    table = load("opt").table[["run", "N", "D", "loss"]]
    table.to_csv(path, index=False)
    code, out, _ = run_cli(capsys, "design", "--pool", str(path), "--backtest", "1", "--simulations", "8", "--json")
    assert code == 0
    doc = json.loads(out)
    pool, held = hold_out_largest(table, 1)
    # Target, budget and held-out runs come from the pool: OPT-175B at its last checkpoint, the classic grid's compute.
    assert doc["target"] == {"N": 175e9, "D": pytest.approx(2.8e11, rel=1e-9)}
    assert doc["budget"] == pytest.approx(classic_ladder(pool).compute, rel=1e-5)
    assert doc["backtest"]["held_out"] == [{"N": 175e9, "D": pytest.approx(2.8e11, rel=1e-9), "loss": pytest.approx(np.log(9.768875), rel=1e-6)}]
    # The baselines' real errors: the grid on its last checkpoints cannot be fitted (5 points); on all of them but
    # each run's first 10% of tokens, 0.97%.
    last, every, same = doc["backtest"]["baselines_are"]
    assert last is None and every == pytest.approx(0.0097, abs=5e-4) and same == every
    assert 0 < doc["backtest"]["design_are"] < 0.2
    # The table gains a column of real errors (the same numbers), and the ladders tied with the proposal are listed.
    code, out, _ = run_cli(capsys, "design", "--pool", str(path), "--backtest", "1", "--simulations", "8")
    assert code == 0 and f"{doc['backtest']['design_are']:.2%}" in out and f"{every:.2%}" in out
    assert len(doc["ties"]) > 5 and f"Within simulation noise of the proposal (5 of {len(doc['ties'])})" in out
    # Each tie is backtested too, so the user sees how far apart ladders the simulations cannot separate are on real runs.
    ties_are = doc["backtest"]["ties_are"]
    assert len(ties_are) == len(doc["ties"]) and all(0 < e < 0.5 for e in ties_are) and max(ties_are) > 2 * min(ties_are)
    assert len(ties_are) == 15 and min(ties_are) == pytest.approx(0.0036, abs=5e-5) and max(ties_are) == pytest.approx(0.0259, abs=5e-5)  # README
    ties_table = out.split("Within simulation noise of the proposal")[1]
    assert "real ARE" in ties_table and all(f"{e:.2%}" in ties_table for e in ties_are[:5])


def test_design_command_backtest_errors(capsys, tmp_path):
    from conftest import run_cli

    code, _, err = run_cli(capsys, "design", "--backtest", "1")
    assert code == 2 and "--backtest K needs --pool RUNS" in err
    code, _, err = run_cli(capsys, "design")
    assert code == 2 and "give --target N=...,D=... (the run to forecast), or --pool RUNS --backtest K" in err
    path = tmp_path / "no-loss.csv"
    load("opt").table[["run", "N", "D"]].to_csv(path, index=False)
    code, _, err = run_cli(capsys, "design", "--pool", str(path), "--backtest", "1")
    assert code == 2 and "loss" in err


def _marin_dclm() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Marin's IsoFLOP runs on DCLM (no licence: ../shared only), split by the top budget as in benchmarks/design_families.py."""
    raw = pd.read_csv(shared_data("marin_isoflops", "isoflop-dclm.csv"))
    raw = raw[~raw["Name"].str.contains("validation-optimal")]
    table = pd.DataFrame({"N": raw["parameter_count"].astype(float), "D": raw["throughput/total_tokens"].astype(float),
                          "loss": raw["eval/paloma/macro_loss"].astype(float),
                          "budget": raw["Name"].str.extract(r"isoflop-([0-9.e+]+)-")[0].astype(float)})
    return hold_out_top_budget(table)


@pytest.mark.slow
def test_on_marin_a_family_never_tuned_on_the_design_errs_more_than_the_grid():
    # An out-of-sample check: the Marin IsoFLOP runs were first backtested after the design's rules were fixed,
    # and they disagree with the simulations. DCLM corpus, 38 finished runs in the pool up to 2.5B parameters and
    # 3e19 FLOPs; held out, 8 runs of 1B-6.7B at 3e20 FLOPs around the bottom of the bowl (2.5B, 18.6B tokens).
    # Measured with the defaults (32 simulations, seed 0): the design proposes 4 sizes, the cheapest 2 runs each
    # (76% of the budget), and errs 5.18% where the 20-tokens/param grid errs 3.77%; over the 11 candidates with
    # enough runs to fit, the simulated and the real errors rank opposite ways (Spearman -0.41). Over seeds 0-3 and
    # 3x the budget the design loses to the grid in every Marin corpus where it does not simply pick the grid
    # (docs/design-validation.md).
    from scipy.stats import spearmanr

    pool, held = _marin_dclm()
    assert len(pool) == 38 and len(held) == 8
    target = {"N": float(held["N"].iloc[0]), "D": float(held["D"].iloc[0])}  # the lowest-loss held-out run
    grid = classic_ladder(pool)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalingLawWarning)
        design = design_ladder("chinchilla", CHINCHILLA_PUBLISHED, target, grid.compute, pool=(pool["N"].to_numpy(), pool["D"].to_numpy()),
                               simulations=32, seed=0)
        designed, grid_error = backtest_ladders([design.best.ladder, grid], pool, held)
        real = backtest_ladders([e.ladder for e in design.candidates], pool, held)
    assert designed == pytest.approx(0.0518, abs=0.001) and grid_error == pytest.approx(0.0377, abs=0.001)
    assert designed > 1.3 * grid_error
    simulated = np.array([e.rmse for e in design.candidates])
    ok = np.isfinite(simulated) & np.isfinite(real)
    assert ok.sum() == 11 and spearmanr(simulated[ok], real[ok])[0] == pytest.approx(-0.41, abs=0.02)


def _datablations_single_epoch() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The Datablations contour's single-epoch runs: (pool, the three largest-compute runs held out, largest first)."""
    raw = pd.read_csv(shared_data("hitchhiker_colpret", "aggregated_eval", "datablations_contour_losses.csv"))
    once = raw[raw["epochs"] == 1]
    table = pd.DataFrame({"N": once["num_params"], "D": once["token_num"], "loss": once["openLM_loss"]}).astype(float)
    return hold_out_top_compute(table, runs=3)


@pytest.mark.slow
def test_on_datablations_a_second_family_never_tuned_on_the_design_loses_to_the_grid_at_3x():
    # A second out-of-sample check, its split fixed before any result: the 33 single-epoch runs of the Datablations
    # contour (C4, 7M-8.7B parameters), the three largest in compute held out (2.8B, 4.2B and 8.7B, each at about 20
    # tokens/param; the 8.7B at 178B tokens is the target, 15x the pool's largest compute). At the classic grid's
    # budget the design proposes the grid itself (0.95%). At 3x it proposes 8 sizes up to 8.7B, 4 runs each spread
    # over their token counts (56% of the budget), and errs 2.33% where the grid errs 0.95%. Seed 0, 32 simulations.
    pool, held = _datablations_single_epoch()
    assert len(pool) == 30 and list(held["N"]) == [8.67e9, 4.2465e9, 2.81e9]
    target = {"N": float(held["N"].iloc[0]), "D": float(held["D"].iloc[0])}
    grid = classic_ladder(pool)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalingLawWarning)
        design = design_ladder("chinchilla", CHINCHILLA_PUBLISHED, target, 3 * grid.compute, pool=(pool["N"].to_numpy(), pool["D"].to_numpy()),
                               simulations=32, seed=0)
        designed, grid_error = backtest_ladders([design.best.ladder, grid], pool, held)
    assert design.best.ladder.name == "8 of the sizes up to 8.7e+09, spread 4 per size"
    assert designed == pytest.approx(0.0233, abs=0.001) and grid_error == pytest.approx(0.0095, abs=0.001)
    assert designed > 2 * grid_error
