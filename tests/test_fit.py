"""The fitting engine: recovery, golden fits on real data, the reference procedure, determinism."""

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest

import scalinglaws as sl
from scalinglaws.datasets import load as load_dataset
from scalinglaws.errors import BoundWarning, InputError, ScalingLawWarning
from scalinglaws.fitting.reference import reference_fit
from scalinglaws.laws import CHINCHILLA_PUBLISHED, KAPLAN_PUBLISHED
from scalinglaws.simulate import chinchilla_ladder, simulate_runs

LADDER = chinchilla_ladder()
TRUTHS = {
    "chinchilla": (CHINCHILLA_PUBLISHED, LADDER),
    "kaplan": (KAPLAN_PUBLISHED, LADDER),
    "power:N": ({"E": 1.7, "A": 400.0, "alpha": 0.34}, {"N": np.geomspace(1e7, 1e10, 12)}),
    "power:D": ({"E": 1.7, "A": 410.0, "alpha": 0.28}, {"D": np.geomspace(1e9, 1e12, 12)}),
    "power:C": ({"E": 1.8, "A": 2000.0, "alpha": 0.15}, {"C": np.geomspace(1e17, 1e22, 12)}),
    "power:step": ({"E": 2.1, "A": 9.0, "alpha": 0.5}, {"step": np.geomspace(100, 1e5, 15)}),
}


@pytest.mark.parametrize("name", list(TRUTHS))
def test_noise_free_recovery_to_1e6(name):
    truth, inputs = TRUTHS[name]
    runs = simulate_runs(name, truth, **inputs)
    result = sl.fit(runs, name)
    assert result.status == "converged"
    for key, value in truth.items():
        assert result.params[key] == pytest.approx(value, rel=1e-6), key


@pytest.mark.parametrize("name", ["chinchilla", "power:N"])
def test_noisy_recovery_is_close(name):
    truth, inputs = TRUTHS[name]
    runs = simulate_runs(name, truth, noise=0.005, seed=3, **inputs)
    result = sl.fit(runs, name)
    assert result.converged
    # With 0.5% noise on a 40-point ladder the loss surface is recovered to
    # well under 1% across the fitted range (the parameters themselves are
    # correlated; interval coverage is tested with the bootstrap).
    law = sl.get_law(name)
    assert np.max(np.abs(law.function(result.params, inputs) / law.function(truth, inputs) - 1)) < 0.01
    realised = np.log(runs.values("loss") / law.function(truth, inputs))
    assert result.residual_std == pytest.approx(np.std(realised), rel=0.35)


def test_gemstones_matches_published_approach_3(tmp_path):
    # ../shared/data/gemstones/README.md: hot (<=100B), delta 1e-3: alpha 0.29287, E = e^0.76226.
    runs = sl.read_runs("dataset:gemstones")
    result = sl.fit(runs, "chinchilla")
    assert result.params["alpha"] == pytest.approx(0.29287, abs=5e-4)
    assert result.params["E"] == pytest.approx(math.exp(0.76226), rel=1e-3)
    published = {"E": math.exp(0.76226), "A": math.exp(5.3613), "alpha": 0.29287, "B": math.exp(15.416), "beta": 0.71287}
    inputs = runs.inputs(["N", "D"])
    published_objective = float(result.loss.total(result.law.function(published, inputs), runs.values("loss")))
    assert result.objective <= published_objective


def test_gemstones_delta_1e4_beats_full_reference_grid():
    # The data collector's full 4,500-start L-BFGS-B run gave 2.0759e-4 (authors: 2.0760e-4,
    # alpha 0.2989). We reach a lower objective (2.0751e-4) at a nearby alpha: the
    # reference's L-BFGS runs stop early in the flat (B, beta) direction.
    result = sl.fit("dataset:gemstones", "chinchilla", delta=1e-4)
    assert result.objective < 2.0759e-4 * (1 - 1e-4)
    assert result.params["alpha"] == pytest.approx(0.2989, abs=0.01)
    assert result.params["E"] == pytest.approx(math.exp(0.7663), rel=2e-3)


@pytest.mark.slow
def test_objective_no_higher_than_4500_start_reference():
    # The full reference recipe (REFERENCE.md §1.3) on a small noisy ladder,
    # where 4,500 scipy L-BFGS-B runs take seconds, not minutes.
    ladder = chinchilla_ladder(sizes=6, tokens_per_size=4)
    runs = simulate_runs("chinchilla", CHINCHILLA_PUBLISHED, noise=0.01, seed=11, **ladder)
    ours = sl.fit(runs, "chinchilla")
    ref = reference_fit(runs.values("N"), runs.values("D"), runs.values("loss"))
    assert ref.starts == 4500
    assert ours.objective <= ref.objective * (1 + 1e-9)


def test_gemstones_no_higher_than_reference_subset():
    # Every 9th start of the reference grid on the real data (the full grid is in benchmarks/fit_speed.py), its best
    # start polished to tight tolerances: with SciPy 1.17, L-BFGS-B's default stopping rule halts 1.2e-4 (relative)
    # above the optimum here, at alpha 0.2941 instead of 0.2929.
    from scalinglaws.fitting.reference import reference_grid

    runs = sl.read_runs("dataset:gemstones")
    ours = sl.fit(runs, "chinchilla")
    ref = reference_fit(runs.values("N"), runs.values("D"), runs.values("loss"), starts=reference_grid()[::9], polish=True)
    assert ours.objective <= ref.objective * (1 + 1e-9)
    assert ours.params["alpha"] == pytest.approx(ref.params["alpha"], rel=1e-4)


def test_same_input_gives_byte_identical_json():
    a = sl.fit("dataset:gemstones", "chinchilla").to_json()
    b = sl.fit("dataset:gemstones", "chinchilla").to_json()
    assert a == b
    doc = json.loads(a)
    for key in ("schema", "law", "formula", "params", "objective", "loss", "n_points", "status", "warnings", "provenance"):
        assert key in doc
    assert doc["schema"] == "scalinglaws.fit/1"
    assert set(doc["provenance"]) >= {"version", "data_sha256", "starts", "solver"}
    assert doc["loss"] == {"name": "huber", "delta": 1e-3, "space": "log"}


def test_saved_fit_round_trips(tmp_path):
    result = sl.fit("dataset:gemstones", "chinchilla")
    path = tmp_path / "fit.json"
    result.save(path)
    loaded = sl.load_fit(path)
    assert loaded.params == result.params  # unrounded, exactly
    assert loaded.to_json() == result.to_json()


def test_d_is_derived_from_compute_and_said():
    truth, inputs = TRUTHS["chinchilla"]
    runs = simulate_runs("chinchilla", truth, **inputs)
    frame = pd.DataFrame({"Model Size": runs.table["N"], "Training FLOP": 6 * runs.table["N"] * runs.table["D"], "loss": runs.table["loss"]})
    result = sl.fit(frame, "chinchilla", columns={"N": "Model Size", "C": "Training FLOP"})
    assert "D derived as C / (6 N)" in result.notes
    assert result.params["beta"] == pytest.approx(truth["beta"], rel=1e-6)


@pytest.mark.parametrize("loss", ["squared", "absolute"])
def test_other_objectives_recover_noise_free_parameters(loss):
    truth, inputs = TRUTHS["chinchilla"]
    runs = simulate_runs("chinchilla", truth, **inputs)
    result = sl.fit(runs, "chinchilla", loss=loss)
    assert result.params["alpha"] == pytest.approx(truth["alpha"], rel=1e-4)
    assert result.loss.name == loss


def test_linear_space_objective():
    truth, inputs = TRUTHS["power:N"]
    result = sl.fit(simulate_runs("power:N", truth, **inputs), "power:N", space="linear", loss="squared")
    assert result.params["alpha"] == pytest.approx(truth["alpha"], rel=1e-6)


def test_parameter_on_bound_warns():
    # Data with no irreducible term: E is driven to 0.
    n = np.geomspace(1e7, 1e10, 10)
    frame = pd.DataFrame({"N": n, "loss": 50.0 * n**-0.2})
    with pytest.warns(BoundWarning, match="parameter E .* is at its bound 0"):
        result = sl.fit(frame, "power:N")
    assert any(w.code == "parameter_at_bound" for w in result.warnings)


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"N": [1e8, 2e8, 4e8], "loss": [3, 2.9, 2.8]}), "missing column for 'D'"),
        (pd.DataFrame({"N": [1e8, -2e8, 4e8, 8e8, 1e9, 2e9, 3e9], "D": [1e9] * 7, "loss": [3.0] * 7}), "must be > 0 .* row 1"),
        (pd.DataFrame({"N": [1e8, 2e8, 4e8, 8e8, 1e9, 2e9, 3e9], "D": [1e9] * 7, "loss": [3.0, np.nan, 3, 3, 3, 3, 3]}), "'loss' has 1 missing"),
        (pd.DataFrame({"N": ["1e8", "big", "1e9", "1", "2", "3", "4"], "D": [1e9] * 7, "loss": [3.0] * 7}), "non-numeric value.*'big'"),
        (pd.DataFrame({"N": [1e8, 2e8, 4e8], "D": [1e9] * 3, "loss": [3.0, 2.9, 2.8]}), "5 parameters but the data has only 3"),
    ],
)
def test_bad_input_is_named(frame, message):
    with pytest.raises(sl.InputError, match=message):
        sl.fit(frame, "chinchilla")


def test_bad_loss_names():
    with pytest.raises(sl.InputError, match="unknown loss 'l2'"):
        sl.fit("dataset:gemstones", "chinchilla", loss="l2")
    with pytest.raises(sl.InputError, match="--delta must be a positive number"):
        sl.fit("dataset:gemstones", "chinchilla", delta=0.0)


def test_user_column_names_in_messages():
    frame = pd.DataFrame({"size": [1e8, 0, 4e8, 5e8, 6e8, 7e8, 8e8], "D": [1e9] * 7, "loss": [3.0] * 7})
    with pytest.raises(sl.InputError, match="'N' \\(column 'size'\\)"):
        sl.fit(frame, "chinchilla", columns={"N": "size"})


def test_no_warnings_on_a_clean_fit():
    with warnings.catch_warnings():
        warnings.simplefilter("error", ScalingLawWarning)
        sl.fit("dataset:gemstones", "chinchilla")


@pytest.mark.slow
def test_large_logs_rank_the_grid_by_least_squares_and_still_recover_the_law():
    # 60,000 checkpoint rows (above EXACT_GRID_MAX_ROWS): the grid is ranked by the
    # exact linear solves' least-squares residual, the polish minimises the Huber sum.
    from scalinglaws.fitting.search import EXACT_GRID_MAX_ROWS

    sizes = np.geomspace(7e7, 1e10, 20)
    fractions = np.linspace(0.05, 1.0, 3000)
    n = np.repeat(sizes, fractions.size)
    d = np.concatenate([100 * s * fractions for s in sizes])
    assert n.size > EXACT_GRID_MAX_ROWS
    runs = simulate_runs("chinchilla", CHINCHILLA_PUBLISHED, noise=0.0, seed=0, N=n, D=d)
    result = sl.fit(runs, "chinchilla")
    assert result.converged
    for name, value in CHINCHILLA_PUBLISHED.items():
        assert result.params[name] == pytest.approx(value, rel=1e-6), name


@pytest.mark.parametrize("law", ["chinchilla", "kaplan", "power:C"])
def test_counts_weigh_rows_exactly_as_copies(law):
    # The bootstrap fits resampled runs through counts; it must be the same fit as stacking copies.
    runs = load_dataset("gemstones")
    rows = np.random.default_rng(3).integers(0, len(runs), len(runs))
    counts = np.bincount(rows, minlength=len(runs))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ScalingLawWarning)
        copied = sl.fit(sl.Runs(runs.table.iloc[rows].reset_index(drop=True)), law)
        weighted = sl.fit(runs, law, counts=counts)
    assert weighted.n_points == copied.n_points == len(runs)
    assert weighted.objective == pytest.approx(copied.objective, rel=1e-10)
    assert weighted.residual_std == pytest.approx(copied.residual_std, rel=1e-6)
    prediction = {"N": np.array(1e10), "D": np.array(2e11), "C": np.array(1.2e22)}
    assert sl.predict(weighted, **{v: prediction[v] for v in weighted.law.variables}) == pytest.approx(
        sl.predict(copied, **{v: prediction[v] for v in copied.law.variables}), rel=1e-6)


def test_counts_must_be_non_negative_integers_per_row():
    runs = load_dataset("gemstones")
    with pytest.raises(InputError, match="counts must be 220 non-negative integers, one per row"):
        sl.fit(runs, "chinchilla", counts=np.full(len(runs), 0.5))


@pytest.mark.parametrize(("law", "hint"), [("sigmoid", "scalinglaws task"), ("downstream_error", "target='ERROR_COLUMN'")])
def test_law_of_the_loss_is_not_fitted_to_the_loss_itself(law, hint):
    # sigmoid and downstream_error take the loss as input: fitting them to the loss column fits loss against itself.
    with pytest.raises(InputError, match=rf"law '{law}' predicts another quantity from the 'loss' column.*{hint}"):
        sl.fit("dataset:gemstones", law)


def test_cli_fit_refuses_a_law_of_the_loss(capsys):
    from conftest import run_cli

    code, out, err = run_cli(capsys, "fit", "dataset:gemstones", "--law", "sigmoid")
    assert code == 2 and out == ""
    assert "cannot be fitted to 'loss' itself" in err and "scalinglaws task" in err


def test_provenance_records_the_real_columns_and_marks_derived_ones():
    truth, inputs = TRUTHS["chinchilla"]
    runs = simulate_runs("chinchilla", truth, **inputs)
    frame = pd.DataFrame({"Model Size": runs.table["N"], "Training FLOP": 6 * runs.table["N"] * runs.table["D"], "loss": runs.table["loss"]})
    result = sl.fit(frame, "chinchilla", columns={"N": "Model Size", "C": "Training FLOP"})
    assert result.provenance["columns"] == {"N": "Model Size", "D": "derived as C / (6 N)", "loss": "loss", "C": "Training FLOP"}
    plain = sl.fit(runs.table[["N", "D", "loss"]], "chinchilla")
    assert plain.provenance["columns"] == {"N": "N", "D": "D", "loss": "loss"}


def _published_fit():
    from scalinglaws.laws import CHINCHILLA

    return sl.Fit(CHINCHILLA, CHINCHILLA_PUBLISHED, 0.0, sl.Loss(), 0, "converged")


def test_predict_reads_a_saved_fit_from_its_path(tmp_path):
    result = _published_fit()
    path = tmp_path / "fit.json"
    result.save(path)
    expected = sl.predict(result, N=1e9, D=1e10)
    assert sl.predict(path, N=1e9, D=1e10) == expected
    assert sl.predict(str(path), N=1e9, D=1e10) == expected
    assert sl.predict_points(str(path), [{"N": 1e9, "D": 1e10}])[0].loss == pytest.approx(float(expected))
    with pytest.raises(InputError, match="fit file not found: .*missing.json"):
        sl.predict(str(tmp_path / "missing.json"), N=1e9, D=1e10)


@pytest.mark.parametrize("bad, name", [({}, "dict"), (None, "NoneType"), (3, "int")])
def test_predict_refuses_what_is_not_a_fit(bad, name):
    with pytest.raises(InputError, match=rf"fit must be a Fit \(from sl.fit\) or the path of a fit JSON .*got {name}$"):
        sl.predict(bad, N=1e9, D=1e10)


def test_predict_names_inputs_of_different_lengths_and_refuses_no_inputs():
    result = _published_fit()
    with pytest.raises(InputError, match="inputs N, D have different numbers of values \\(N has 2, D has 3\\); give each input either one value"):
        sl.predict(result, N=[1e9, 2e9], D=[1e10] * 3)
    with pytest.raises(InputError, match="no inputs to predict at: N, D have no values; give at least one value for each input"):
        sl.predict(result, N=[], D=[])
    with pytest.raises(InputError, match="no inputs to predict at: D has no values"):
        sl.predict(result, N=1e9, D=[])
    # One value broadcasts against many, as before.
    assert sl.predict(result, N=1e9, D=[1e10, 2e10]).shape == (2,)


@pytest.mark.parametrize("delta", ["a", None, [1, 2]])
def test_fit_names_a_delta_that_is_not_a_number(delta):
    with pytest.raises(InputError, match=r"delta must be a positive number \(the Huber threshold on the residuals, e.g. delta=1e-3\), got"):
        sl.fit("dataset:gemstones", "chinchilla", delta=delta)


def test_task_ladder_example_runs_on_its_own():
    import doctest

    # help(sl.task_ladder) shows the example: it must run with nothing imported beforehand.
    test = doctest.DocTestParser().get_doctest(sl.task_ladder.__doc__, {}, "task_ladder", None, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test, out=lambda text: None)
    assert runner.failures == 0 and runner.tries > 0
