"""Planning: frontier with intervals, data-constrained law, IsoFLOP approaches, FLOPs, inference."""

import json

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

from conftest import shared_data


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
