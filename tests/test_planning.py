"""Planning: frontier with intervals, data-constrained law, IsoFLOP approaches, FLOPs, inference."""

import json
import re

import numpy as np
import pandas as pd
import pytest

import scalinglaws as sl
from scalinglaws.errors import IsoFlopWarning
from scalinglaws.fitting import Bootstrap, Fit, Loss
from scalinglaws.laws import CHINCHILLA, CHINCHILLA_PUBLISHED, DATA_CONSTRAINED, DATA_CONSTRAINED_PUBLISHED
from scalinglaws.planning import (
    best_loss_for_budget,
    compute_optimal,
    envelope,
    frontier,
    inference_optimal,
    isoflop,
    transformer_flops,
)
from scalinglaws.simulate import simulate_runs

from conftest import run_cli, shared_data


def published(law=CHINCHILLA, params=CHINCHILLA_PUBLISHED, bootstrap=None):
    return Fit(law, params, 0.0, Loss(), 0, "converged", bootstrap=bootstrap)


@pytest.mark.parametrize(("args", "expected"), [((6.34e9, 242e9, 25e9), 2.2256440889984477), ((8.67e9, 178e9, 25e9), 2.2269634075087867)])
def test_data_constrained_reproduces_published_outputs(args, expected):
    n, d, u = args
    assert float(DATA_CONSTRAINED(DATA_CONSTRAINED_PUBLISHED, N=n, D=d, U=u)) == pytest.approx(expected, rel=1e-12)


def test_data_constrained_recovers_its_parameters():
    n = np.repeat(np.geomspace(1e8, 3e9, 5), 9)
    u = np.tile(np.repeat([5e9, 2e10, 8e10], 3), 5)
    d = np.tile([1e10, 4e10, 1.6e11], 15)
    runs = simulate_runs(DATA_CONSTRAINED, DATA_CONSTRAINED_PUBLISHED, N=n, D=d, U=u)
    result = sl.fit(runs, "data_constrained")
    for name, value in DATA_CONSTRAINED_PUBLISHED.items():
        assert result.params[name] == pytest.approx(value, rel=1e-6), name


def test_unique_tokens_allocation_reports_epochs():
    plan = compute_optimal(published(DATA_CONSTRAINED, DATA_CONSTRAINED_PUBLISHED), 1e22, unique_tokens=1e10)
    assert plan.epochs == pytest.approx(plan.D / 1e10)
    assert 6 * plan.N * plan.D == pytest.approx(1e22, rel=1e-9)
    # With plenty of unique data the law reduces to its Chinchilla core: fewer epochs, lower loss.
    rich = compute_optimal(published(DATA_CONSTRAINED, DATA_CONSTRAINED_PUBLISHED), 1e22, unique_tokens=1e13)
    assert rich.loss < plan.loss and rich.epochs < 1
    with pytest.raises(sl.InputError, match="needs the unique tokens available"):
        compute_optimal(published(DATA_CONSTRAINED, DATA_CONSTRAINED_PUBLISHED), 1e22)
    with pytest.raises(sl.InputError, match="--unique-tokens applies to data-constrained laws"):
        compute_optimal(published(), 1e22, unique_tokens=1e10)


@pytest.mark.parametrize("compute", [1e20, 1e22, 1e24])
def test_with_unique_tokens_to_spare_the_plan_is_the_chinchilla_optimum(compute):
    # U_D = min(D, U): a run shorter than one epoch sees only D unique tokens. With U >= D the law
    # has no repeats (R_D = R_N = 0 at the optimum), so the plan must be Chinchilla's closed form of
    # the same parameters. It used to credit all U to any run: N = 1e16 on 166,667 tokens at 1e22.
    params = DATA_CONSTRAINED_PUBLISHED
    n0, d0 = sl.planning.chinchilla_allocation(params, compute)
    loss0 = params["E"] + params["A"] / n0 ** params["alpha"] + params["B"] / d0 ** params["beta"]
    for u in (d0, 10 * d0, 1e20):
        plan = compute_optimal(published(DATA_CONSTRAINED, params), compute, unique_tokens=u)
        assert plan.N == pytest.approx(n0, rel=1e-6) and plan.D == pytest.approx(d0, rel=1e-6)
        assert plan.loss == pytest.approx(loss0, rel=1e-9)
    # Fewer unique tokens than Chinchilla's D* can only cost loss.
    short = compute_optimal(published(DATA_CONSTRAINED, params), compute, unique_tokens=d0 / 10)
    assert short.loss > loss0 and short.epochs > 1


def test_data_constrained_sees_at_most_the_tokens_it_trained_on():
    # Before one epoch ends (D < U) the run has seen D unique tokens, not U: the law is that of U = D.
    n, d = 1e9, 2e10
    for u in (2e10, 1e11, 1e14):
        assert float(DATA_CONSTRAINED(DATA_CONSTRAINED_PUBLISHED, N=n, D=d, U=u)) == float(DATA_CONSTRAINED(DATA_CONSTRAINED_PUBLISHED, N=n, D=d, U=d))


def test_frontier_and_intervals_from_replicates():
    rng = np.random.default_rng(0)
    base = np.array([CHINCHILLA_PUBLISHED[p] for p in CHINCHILLA.parameter_names])
    reps = base * np.exp(0.02 * rng.standard_normal((200, 5)))
    reps[3] = np.nan  # a replicate that did not converge is ignored
    fit = published(bootstrap=Bootstrap(reps, 0.9, "run", 0))
    plans = frontier(fit, 1e20, 1e24, points=5)
    assert [p.C for p in plans] == pytest.approx([1e20, 1e21, 1e22, 1e23, 1e24])
    for p in plans:
        lo, hi = p.intervals["N"]
        assert lo < p.N < hi
        assert p.level == 0.9
        assert set(p.intervals) == {"N", "D", "tokens_per_param", "loss"}
    with pytest.raises(sl.InputError, match="--compute-range must be LOW:HIGH"):
        frontier(fit, 1e24, 1e20)


def test_optimal_text_shows_an_interval_for_every_column(tmp_path, capsys):
    # Only N* and loss had intervals in the text table (the JSON had all four), though the README promises every column.
    rng = np.random.default_rng(0)
    base = np.array([CHINCHILLA_PUBLISHED[p] for p in CHINCHILLA.parameter_names])
    path = tmp_path / "bfit.json"
    published(bootstrap=Bootstrap(base * np.exp(0.02 * rng.standard_normal((50, 5))), 0.9, "run", 0)).save(path)
    code, out, err = run_cli(capsys, "optimal", str(path), "--compute", "1e22")
    assert code == 0, err
    header = " ".join(out.split())
    for label in ("N* 90% interval", "D* 90% interval", "D*/N* 90% interval", "loss 90% interval"):
        assert label in header
    row = next(line for line in out.splitlines() if line.startswith("│ 1e+22"))
    assert len(re.findall(r"\[[^\]]+, [^\]]+\]", row)) == 4


def test_a_fit_whose_data_term_does_not_fall_has_no_allocation():
    # B = 0: loss does not depend on D, so nothing trades N against D. It used to raise ZeroDivisionError.
    flat = Fit(CHINCHILLA, {**CHINCHILLA_PUBLISHED, "B": 0.0}, 0.0, Loss(), 0, "converged")
    with pytest.raises(sl.FitError, match="no compute-optimal allocation at C=1e\\+23 .*B=0"):
        compute_optimal(flat, 1e23)
    # A replicate like it only drops out of the interval.
    base = np.array([CHINCHILLA_PUBLISHED[p] for p in CHINCHILLA.parameter_names])
    reps = np.tile(base, (50, 1)) * np.exp(0.02 * np.random.default_rng(1).standard_normal((50, 5)))
    reps[0, CHINCHILLA.parameter_names.index("B")] = 0.0
    plan = compute_optimal(published(bootstrap=Bootstrap(reps, 0.9, "run", 0)), 1e23)
    assert np.isfinite(plan.intervals["N"]).all() and plan.intervals["N"][0] < plan.N < plan.intervals["N"][1]


def make_isoflop_runs(noise=0.0, seed=0):
    """IsoFLOP runs from the published Chinchilla law: N* grows as C^(beta/(alpha+beta))."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in np.geomspace(1e18, 1e21, 6):
        n_opt = compute_optimal(published(), c).N
        for n in n_opt * np.geomspace(0.25, 4, 9):
            loss = float(CHINCHILLA(CHINCHILLA_PUBLISHED, N=n, D=c / (6 * n))) * np.exp(noise * rng.standard_normal())
            rows.append({"C": c, "N": n, "loss": loss})
    return pd.DataFrame(rows)


def test_isoflop_recovers_the_allocation_exponent():
    # Chinchilla's loss is not a parabola in log N: the check for asymmetric profiles fires.
    with pytest.warns(IsoFlopWarning, match="clearly asymmetric"):
        result = isoflop(make_isoflop_runs())
    truth = CHINCHILLA_PUBLISHED["beta"] / (CHINCHILLA_PUBLISHED["alpha"] + CHINCHILLA_PUBLISHED["beta"])
    assert len(result.budgets) == 6 and all(b.n_points == 9 for b in result.budgets)
    # Parabolas in log N of a non-parabolic profile are slightly biased: within 0.01.
    assert result.N_opt.exponent == pytest.approx(truth, abs=0.01)
    assert result.D_opt.exponent == pytest.approx(1 - truth, abs=0.01)
    doc = result.to_dict()
    assert set(doc["budgets"][0]) == {"C", "N_opt", "D_opt", "loss_opt", "n_points"}


def test_isoflop_bootstrap_intervals_cover_and_warn_on_thin_budgets():
    runs = make_isoflop_runs(noise=0.003, seed=1)
    thin = pd.DataFrame({"C": [3e21, 3e21], "N": [1e10, 2e10], "loss": [2.0, 2.01]})
    with pytest.warns(IsoFlopWarning, match="has 2 run"):
        result = isoflop(pd.concat([runs, thin]), bootstrap=100, seed=0)
    lo, hi = result.N_opt.interval["exponent"]
    assert lo < result.N_opt.exponent < hi
    assert lo < 0.457 < hi


def test_isoflop_warns_when_vertex_is_outside_the_sweep():
    runs = make_isoflop_runs()
    runs = runs[runs.groupby("C")["N"].rank() <= 4]  # only the small half of each profile
    with pytest.warns(IsoFlopWarning) as record:
        isoflop(runs)
    assert any("lies outside the sampled sizes" in str(w.message) for w in record)


def test_isoflop_errors():
    with pytest.raises(sl.InputError, match="needs at least 2 budgets"):
        isoflop(pd.DataFrame({"C": [1e20] * 4, "N": [1e8, 2e8, 4e8, 8e8], "loss": [3, 2.9, 2.95, 3.1]}))
    with pytest.raises(sl.InputError, match="budget column 'B' is not in the data"):
        isoflop(make_isoflop_runs(), budget="B")


def test_marin_isoflop_real_data():
    # Marin scaling ladder (no licence: read here, never bundled). The name's budget is
    # ~2ND, so C = 3x it; validation-optimal rows duplicate per-budget optima.
    frame = pd.read_csv(shared_data("marin_isoflops", "isoflop-dclm.csv"))
    frame = frame[~frame["Name"].str.contains("validation-optimal")]
    frame["budget"] = 3 * frame["Name"].str.extract(r"isoflop-([0-9.e+]+)-")[0].astype(float)
    with pytest.warns(IsoFlopWarning, match="asymmetric"):
        result = isoflop(frame, budget="budget", columns={"N": "parameter_count", "D": "throughput/total_tokens", "loss": "eval/paloma/macro_loss"})
    assert len(result.budgets) == 7
    assert result.N_opt.exponent == pytest.approx(0.4236, abs=1e-3)
    assert result.D_opt.exponent == pytest.approx(0.5521, abs=1e-3)
    assert result.N_opt.exponent + result.D_opt.exponent == pytest.approx(1.0, abs=0.03)


def test_snapped_budgets_span_at_most_the_tolerance():
    from scalinglaws.data.readers import read_runs
    from scalinglaws.planning import assign_budgets

    # Each run is 1.2x the previous: chaining neighbours used to put all six in one budget spanning 2.5x.
    compute = 1e20 * 1.2 ** np.arange(6)
    runs = read_runs(pd.DataFrame({"C": compute, "N": 1e9, "loss": 2.0}))
    budgets = assign_budgets(runs, tolerance=0.25)
    assert len(np.unique(budgets)) == 3
    assert np.allclose(budgets, np.repeat(np.sqrt(compute[0::2] * compute[1::2]), 2))
    # The Marin DCLM ladder without its budget column: no snapped budget spans more than 1.25x or merges two named budgets
    # (1.8e19 and 3e19 used to share one).
    frame = pd.read_csv(shared_data("marin_isoflops", "isoflop-dclm.csv"))
    frame = frame[~frame["Name"].str.contains("validation-optimal")]
    named = 3 * frame["Name"].str.extract(r"isoflop-([0-9.e+]+)-")[0].astype(float).to_numpy()
    runs = read_runs(frame, columns={"N": "parameter_count", "D": "throughput/total_tokens", "loss": "eval/paloma/macro_loss"})
    table = pd.DataFrame({"snapped": assign_budgets(runs), "C": 6 * runs.values("N") * runs.values("D"), "named": named})
    groups = table.groupby("snapped")
    assert (groups["C"].max() / groups["C"].min()).max() <= 1.25
    assert groups["named"].nunique().max() == 1


def test_approach_1_refuses_the_options_it_would_ignore(capsys):
    # --bootstrap and --compare used to be ignored silently with --approach 1.
    code, out, err = run_cli(capsys, "isoflop", "dataset:gemstones", "--approach", "1", "--bootstrap", "10", "--compare", "chinchilla")
    assert code == 2 and out == "" and "--bootstrap, --compare apply to approach 2 (IsoFLOP parabolas) only; drop them" in err
    code, out, err = run_cli(capsys, "isoflop", "dataset:gemstones", "--approach", "1", "--budget", "C")
    assert code == 2 and "--budget applies to approach 2" in err
    code, out, _ = run_cli(capsys, "isoflop", "dataset:gemstones", "--approach", "1", "--json")
    assert code == 0 and json.loads(out)["approach"] == 1


def test_approach_1_envelope_on_gemstones():
    result = envelope("dataset:gemstones")
    assert result.N_opt.exponent == pytest.approx(0.641, abs=0.01)
    assert result.points["N"].is_monotonic_increasing or result.points["N"].iloc[-1] > result.points["N"].iloc[0]


def test_flop_accounting():
    count = transformer_flops(n_layers=24, d_model=2048, vocab=50304, context=2048)
    assert count.params_non_embedding == 12 * 24 * 2048**2
    assert count.params_embedding == 2 * 50304 * 2048
    expected = 3 * (2 * count.params_non_embedding + 2 * 24 * 2048 * 2048 + 2 * 2048 * 50304)
    assert count.flops_per_token == expected
    assert count.flops_per_token / count.six_n == pytest.approx(1.1686, abs=1e-4)
    with pytest.raises(sl.InputError, match="--layers must be a positive integer"):
        transformer_flops(n_layers=0, d_model=1, vocab=1, context=1)


def test_inference_aware_allocation():
    fit = published()
    no_inference = inference_optimal(fit, target_loss=2.0, inference_tokens=0.0)
    chinchilla = compute_optimal(fit, no_inference.training_flops)
    assert no_inference.N == pytest.approx(chinchilla.N, rel=1e-5)  # no inference: Chinchilla-optimal
    heavy = inference_optimal(fit, target_loss=2.0, inference_tokens=2e12)
    assert heavy.N < no_inference.N and heavy.D_train > no_inference.D_train
    assert heavy.loss == pytest.approx(2.0, abs=1e-9)
    assert heavy.total_flops < heavy.chinchilla_total_flops
    reverse = best_loss_for_budget(fit, total_flops=heavy.total_flops, inference_tokens=2e12)
    assert reverse.loss == pytest.approx(2.0, abs=1e-6)
    assert reverse.N == pytest.approx(heavy.N, rel=1e-3)
    with pytest.raises(sl.InputError, match="at or below the law's irreducible loss"):
        inference_optimal(fit, target_loss=1.5, inference_tokens=1e12)


def test_an_optimum_at_the_edge_of_the_search_range_is_an_error_not_a_plan(tmp_path, capsys):
    # A vanishing model-size term used to return N* = 1015 (the search bound) as the plan.
    flat_n = {**DATA_CONSTRAINED_PUBLISHED, "A": 7e-49, "alpha": 3.0}
    with pytest.raises(sl.FitError, match="no optimum at C=1e\\+22: its model-size term is flat .*A=7e-49"):
        compute_optimal(published(DATA_CONSTRAINED, flat_n), 1e22, unique_tokens=1e10)
    with pytest.raises(sl.FitError, match="no optimum at C=1e\\+22: its model-size term is flat"):
        compute_optimal(published(params={**CHINCHILLA_PUBLISHED, "A": 1e-60}), 1e22, method="numeric")
    # A = 0 in an inference plan used to answer N = 1000.
    no_n = published(params={**CHINCHILLA_PUBLISHED, "A": 0.0})
    with pytest.raises(sl.FitError, match="no optimum for target loss 2.5: its model-size term is flat .*A=0"):
        inference_optimal(no_n, target_loss=2.5, inference_tokens=1e12)
    # A budget whose best model exceeds 1e16 parameters used to be planned at 1e16 ("saves -599.4%").
    path = tmp_path / "fit.json"
    published().save(path)
    code, out, err = run_cli(capsys, "inference", str(path), "--inference-tokens", "1e12", "--total-flops", "1e40")
    assert code == 2 and out == "" and "no plan for --total-flops 1e+40" in err and "outside what the law can plan" in err
    # Bootstrap replicates without an optimum in range are dropped from the intervals, not fatal.
    reps = np.array([[CHINCHILLA_PUBLISHED[p] for p in CHINCHILLA.parameter_names]] * 20) * np.linspace(0.95, 1.05, 20)[:, None]
    reps[0, 1] = 1e-60  # A of one replicate
    plan = compute_optimal(published(bootstrap=Bootstrap(reps, 0.9, "run", 0)), 1e22, method="numeric")
    assert plan.intervals["N"][0] < plan.N < plan.intervals["N"][1]


@pytest.mark.parametrize("tokens", ["-1e11", "0"])
def test_flops_rejects_tokens_that_are_not_positive(tokens, capsys):
    # Used to print negative (or zero) training FLOPs with exit 0.
    code, out, err = run_cli(capsys, "flops", "--layers", "24", "--d-model", "2048", "--vocab", "50304", "--context", "2048", "--tokens", tokens)
    assert code == 2 and out == "" and "--tokens must be a positive number of training tokens" in err
    with pytest.raises(sl.InputError, match="--tokens must be a positive number"):
        transformer_flops(n_layers=2, d_model=64, vocab=100, context=16).training_flops(float(tokens))


def test_cli_planning_commands(tmp_path, capsys):
    from scalinglaws.cli import main

    path = tmp_path / "fit.json"
    published().save(path)

    def run(*args):
        with pytest.raises(SystemExit) as info:
            main(list(args))
        out, err = capsys.readouterr()
        return info.value.code or 0, out, err

    code, out, _ = run("optimal", str(path), "--compute-range", "1e20:1e24", "--points", "3", "--json")
    assert code == 0 and len(json.loads(out)["frontier"]) == 3
    assert json.loads(out)["allocation_exponent"]["value"] == pytest.approx(0.4566, abs=1e-3)
    code, _, err = run("optimal", str(path), "--compute-range", "1e24")
    assert code == 2 and "LOW:HIGH" in err
    code, _, err = run("optimal", str(path))
    assert code == 2 and "exactly one of --compute" in err
    runs_path = tmp_path / "iso.csv"
    make_isoflop_runs().to_csv(runs_path, index=False)
    code, out, _ = run("isoflop", str(runs_path), "--json", "--compare", "chinchilla")
    assert code == 0 and len(json.loads(out)["budgets"]) == 6
    assert [row["a"] for row in json.loads(out)["comparison"]] == pytest.approx([0.457, 0.4566], abs=0.01)
    code, out, _ = run("flops", "--layers", "24", "--d-model", "2048", "--vocab", "50304", "--context", "2048", "--json")
    assert json.loads(out)["ratio_to_six_n"] == pytest.approx(1.1686, abs=1e-4)
    code, out, _ = run("inference", str(path), "--inference-tokens", "2e12", "--target-loss", "2.0", "--json")
    assert code == 0 and json.loads(out)["saving"] > 0


@pytest.mark.parametrize("compute, shown", [(1e5, "N\\* = 0.0185"), (1e40, "N\\* = 1.19e\\+23")])
def test_the_closed_form_plans_only_inside_the_searched_sizes(compute, shown, tmp_path, capsys):
    # The closed form used to answer C = 1e5 FLOPs with N* = 0.018 parameters (loss 970) and C = 1e40 with 1.2e23 parameters,
    # exit 0, where the numeric search refuses both: the same range now holds for both methods.
    fit = sl.fit("dataset:gemstones", "chinchilla")
    with pytest.raises(sl.InputError, match=f"no plan at C={compute:.3g}".replace("+", "\\+") + f": the chinchilla law's optimum is {shown}"):
        compute_optimal(fit, compute)
    with pytest.raises(sl.InputError, match="no plan at C="):
        compute_optimal(fit, compute, method="numeric")
    path = tmp_path / "fit.json"
    fit.save(path)
    code, out, err = run_cli(capsys, "optimal", str(path), "--compute", f"{compute:g}")
    assert code == 2 and out == "" and "outside what the law can plan" in err
    assert compute_optimal(fit, 1e21).N == pytest.approx(compute_optimal(fit, 1e21, method="numeric").N, rel=1e-6)
