"""Bootstrap by run: intervals, their measured coverage, reproducibility, errors."""

import json

import numpy as np
import pandas as pd
import pytest

import scalinglaws as sl
from scalinglaws.laws import CHINCHILLA_PUBLISHED
from scalinglaws.simulate import chinchilla_ladder, simulate_runs
from scalinglaws.uncertainty import allocation_exponent_interval, bootstrap, derived_interval, prediction_interval, resampling_groups

POWER_TRUTH = {"E": 1.7, "A": 400.0, "alpha": 0.34}

pytestmark = pytest.mark.filterwarnings("ignore::scalinglaws.errors.ExtrapolationWarning")


def _power_law_hits(s: int) -> dict[str, bool]:
    """One simulated ladder of the coverage test: which intervals hold the truth."""
    import warnings

    from scalinglaws.errors import ExtrapolationWarning

    # The test's mark does not reach a worker started by spawn (macOS, Windows); a forked one inherits it anyway.
    warnings.simplefilter("ignore", ExtrapolationWarning)
    law = sl.get_law("power:N")
    target = {"N": np.array(1e10)}  # 10x beyond the largest size fitted
    truth_at_target = float(law.function(POWER_TRUTH, target))
    runs = simulate_runs("power:N", POWER_TRUTH, noise=0.01, seed=100 + s, N=np.geomspace(1e7, 1e9, 12))
    result = bootstrap(runs, "power:N", replicates=60, seed=s, workers=1)
    assert result.bootstrap.converged == 60
    hits = {name: lo <= POWER_TRUTH[name] <= hi for name, (lo, hi) in result.intervals().items()}
    lo, hi = prediction_interval(result, target, kind="mean")
    hits["mean"] = lo <= truth_at_target <= hi
    new_observation = truth_at_target * np.exp(0.01 * np.random.default_rng(7 + s).standard_normal())
    lo, hi = prediction_interval(result, target, kind="new_run", seed=s)
    hits["new_run"] = lo <= new_observation <= hi
    return hits


@pytest.mark.slow
def test_power_law_intervals_cover_the_truth_at_close_to_95_percent():
    # 100 simulated ladders of 12 sizes (1e7..1e9) with 1% log-normal seed noise,
    # 60 bootstrap replicates each (6,100 full multi-start fits; the ladders are
    # spread over two processes). With 100 simulations the binomial standard error of a 95% coverage is 2.2%, so each
    # quantity must cover in [0.88, 1.0] (3 SE below), and the average over the
    # five quantities must lie in [0.90, 0.995]: close to 95%, neither badly
    # under- nor trivially over-covering. A one-off 100 x 100 run measured
    # E 0.97, A 0.99, alpha 1.00, mean law 0.97, new run 0.98 (docs/sections/uncertainty.md).
    from concurrent.futures import ProcessPoolExecutor

    sims = 100
    with ProcessPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(_power_law_hits, range(sims), chunksize=10))
    coverage = {name: sum(o[name] for o in outcomes) / sims for name in ("E", "A", "alpha", "mean", "new_run")}
    for name, value in coverage.items():
        assert 0.88 <= value <= 1.0, (name, coverage)
    assert 0.90 <= np.mean(list(coverage.values())) <= 0.995, coverage


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::scalinglaws.errors.ScalingLawWarning")
def test_chinchilla_prediction_interval_coverage():
    # 12 ladders of 5 sizes x 4 token ratios, 1% noise, 24 replicates each: a
    # coarse check that the 95% interval of the mean law at a 7e9-parameter
    # target covers the truth in at least 9 of 12 simulations (if the true
    # coverage were 95%, 8 or fewer would happen with probability 0.002).
    ladder = chinchilla_ladder(sizes=5, tokens_per_size=4, n_range=(5e7, 1e9))
    target = {"N": np.array(7e9), "D": np.array(1.4e11)}
    truth = float(sl.get_law("chinchilla").function(CHINCHILLA_PUBLISHED, target))
    hits = 0
    for s in range(12):
        runs = simulate_runs("chinchilla", CHINCHILLA_PUBLISHED, noise=0.01, seed=300 + s, **ladder)
        result = bootstrap(runs, "chinchilla", replicates=24, seed=s)
        lo, hi = prediction_interval(result, target)
        hits += lo <= truth <= hi
    assert hits >= 9


def test_same_seed_gives_identical_replicates():
    runs = simulate_runs("power:N", POWER_TRUTH, noise=0.01, seed=1, N=np.geomspace(1e7, 1e9, 10))
    a = bootstrap(runs, "power:N", replicates=20, seed=4, workers=1)
    b = bootstrap(runs, "power:N", replicates=20, seed=4, workers=2)
    assert np.array_equal(a.bootstrap.replicates, b.bootstrap.replicates)
    assert a.to_json() == b.to_json()
    c = bootstrap(runs, "power:N", replicates=20, seed=5, workers=1)
    assert not np.array_equal(a.bootstrap.replicates, c.bootstrap.replicates)


def test_resamples_runs_not_checkpoints():
    runs = sl.read_runs("dataset:gemstones")
    groups, unit = resampling_groups(runs)
    assert unit == "run"
    assert np.unique(groups).size == 22  # 22 models, 10 checkpoints each
    rows, unit = resampling_groups(runs, "row")
    assert unit == "row" and np.unique(rows).size == 220
    result = bootstrap(runs, "chinchilla", replicates=8, seed=0, workers=1)
    assert result.bootstrap.resampled_by == "run"
    assert result.bootstrap.converged == 8
    doc = json.loads(result.to_json())
    assert doc["level"] == 0.95
    assert set(doc["intervals"]) == {"E", "A", "alpha", "B", "beta"}
    assert doc["bootstrap"]["replicates"] == 8
    lo, hi = doc["intervals"]["alpha"]
    assert lo <= result.params["alpha"] <= hi or hi - lo > 0


def test_intervals_survive_a_round_trip(tmp_path):
    runs = simulate_runs("power:N", POWER_TRUTH, noise=0.01, seed=1, N=np.geomspace(1e7, 1e9, 10))
    result = bootstrap(runs, "power:N", replicates=12, seed=0, workers=1)
    path = tmp_path / "fit.json"
    result.save(path)
    loaded = sl.load_fit(path)
    assert loaded.intervals() == result.intervals()
    assert np.array_equal(loaded.bootstrap.replicates, result.bootstrap.replicates)


def test_new_run_interval_is_wider_than_mean_interval():
    runs = simulate_runs("power:N", POWER_TRUTH, noise=0.02, seed=2, N=np.geomspace(1e7, 1e9, 12))
    result = bootstrap(runs, "power:N", replicates=40, seed=0, workers=1)
    at = {"N": np.array(5e8)}
    mean_lo, mean_hi = prediction_interval(result, at, kind="mean")
    run_lo, run_hi = prediction_interval(result, at, kind="new_run")
    assert run_hi - run_lo > 1.5 * (mean_hi - mean_lo)
    # Predictions from the API carry both, labelled.
    prediction = sl.predict_points(result, [{"N": 5e8}])[0]
    assert prediction.interval == pytest.approx((float(mean_lo), float(mean_hi)))
    assert prediction.new_run_interval[1] - prediction.new_run_interval[0] > prediction.interval[1] - prediction.interval[0]


def test_derived_quantities_have_intervals():
    runs = simulate_runs("chinchilla", CHINCHILLA_PUBLISHED, noise=0.005, seed=3, **chinchilla_ladder())
    result = bootstrap(runs, "chinchilla", replicates=16, seed=0, workers=1)
    point, interval = allocation_exponent_interval(result)
    assert point == pytest.approx(result.params["beta"] / (result.params["alpha"] + result.params["beta"]))
    assert interval[0] <= interval[1]
    lo, hi = derived_interval(result, lambda p: sl.compute_optimal(sl.Fit(result.law, p, 0.0, result.loss, 0, "converged"), 1e22).N)
    assert 0 < lo <= hi


@pytest.mark.filterwarnings("ignore::scalinglaws.errors.BoundWarning")
def test_errors_are_named():
    runs = simulate_runs("power:N", POWER_TRUTH, N=np.geomspace(1e7, 1e9, 10))
    with pytest.raises(sl.InputError, match="--bootstrap must be an integer >= 2"):
        bootstrap(runs, "power:N", replicates=1)
    with pytest.raises(sl.InputError, match="--level must be between 0 and 1"):
        bootstrap(runs, "power:N", replicates=5, level=95)
    with pytest.raises(sl.InputError, match="cannot resample by 'family': no such column"):
        bootstrap(runs, "power:N", replicates=5, by="family")
    plain = sl.fit(runs, "power:N")
    with pytest.raises(sl.InputError, match="no bootstrap replicates"):
        prediction_interval(plain, {"N": 1e9})
    two_runs = pd.DataFrame({"run": ["a"] * 5 + ["b"] * 5, "N": np.geomspace(1e7, 1e9, 10), "loss": np.linspace(3, 2, 10)})
    with pytest.raises(sl.InputError, match="needs at least 3 runs"):
        bootstrap(two_runs, "power:N", replicates=5)


def test_cli_bootstrap_json_and_predict_level(tmp_path, capsys):
    from scalinglaws.cli import main

    path = tmp_path / "fit.json"
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "dataset:gemstones", "--bootstrap", "6", "--seed", "1", "--json", "-o", str(path)])
    assert exit_info.value.code in (0, None)
    doc = json.loads(capsys.readouterr().out)
    assert doc["bootstrap"]["converged"] == 6 and doc["level"] == 0.95
    with pytest.raises(SystemExit):
        main(["predict", str(path), "N=2e9", "D=1e11", "--level", "0.9", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert out[0]["level"] == 0.9
    lo, hi = out[0]["interval"]
    assert lo <= out[0]["loss"] <= hi


def _terminal_consoles(monkeypatch, stdout_is_terminal):
    import io

    from rich.console import Console

    from scalinglaws.cli import common

    bar = io.StringIO()
    monkeypatch.setattr(common, "stderr", Console(file=bar, force_terminal=True, width=100))
    monkeypatch.setattr(common, "stdout", Console(file=io.StringIO(), force_terminal=stdout_is_terminal, width=100))
    return bar


@pytest.mark.parametrize(("args", "stdout_is_terminal", "shown"), [([], True, True), (["--json"], True, False), ([], False, False)])
def test_progress_bar_only_on_a_terminal_and_never_under_json(monkeypatch, capsys, args, stdout_is_terminal, shown):
    from scalinglaws.cli import main

    bar = _terminal_consoles(monkeypatch, stdout_is_terminal)
    with pytest.raises(SystemExit) as info:
        main(["fit", "dataset:gemstones", "--law", "power:N", "--bootstrap", "4", *args])
    assert info.value.code in (0, None)
    assert ("bootstrap" in bar.getvalue() and "4/4" in bar.getvalue()) is shown
    if "--json" in args:
        assert json.loads(capsys.readouterr().out)["bootstrap"]["replicates"] == 4


def _bootstrapped_chinchilla():
    from scalinglaws.fitting.result import Bootstrap
    from scalinglaws.laws import CHINCHILLA

    point = sl.Fit(CHINCHILLA, CHINCHILLA_PUBLISHED, 0.0, sl.Loss(), 0, "converged")
    samples = np.tile([CHINCHILLA_PUBLISHED[p.name] for p in CHINCHILLA.parameters], (3, 1))
    return point.with_(bootstrap=Bootstrap(samples, 0.95, "run", 0, 0.0))


def test_prediction_interval_names_missing_inputs():
    result = _bootstrapped_chinchilla()
    with pytest.raises(sl.InputError, match="missing input\\(s\\) D for law 'chinchilla'; give all of: N=... D=..."):
        prediction_interval(result, {"N": 2e10})
    lo, hi = prediction_interval(result, {"N": 2e10, "D": 4e11})
    assert lo == pytest.approx(hi)


@pytest.mark.parametrize("seed", ["a", 1.5, -1, None, True])
def test_bootstrap_names_a_bad_seed(seed):
    runs = simulate_runs("power:N", POWER_TRUTH, N=np.geomspace(1e7, 1e9, 10))
    with pytest.raises(sl.InputError, match="seed must be a non-negative integer \\(e.g. seed=0; the same seed gives the same replicates\\), got"):
        bootstrap(runs, "power:N", replicates=5, seed=seed, workers=1)
