"""PassUntil task law (Hu et al. 2024): PU(N) = exp(-c N^-alpha), fitted by binomial maximum likelihood.

Golden values of the law, recovery of (c, alpha) from simulated binomial
counts down to pass rates of 1e-4 (where plain accuracy reads 0), interval
coverage, per-instance samples-until-success data, overdispersion, errors and
warnings, the command line, and real BIG-bench counts of public model
families (ObsScaling tables in ../shared/data).
"""

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli, shared_data

from scalinglaws.errors import ConvergenceWarning, ExtrapolationWarning, InputError, NonMonotoneWarning, ResidualTrendWarning
from scalinglaws.passuntil import passuntil_fit, passuntil_law, predict_pass_rate

SIZES = np.geomspace(1e8, 1e10, 9)
#: PU(1e8) = 1e-4 and PU(1e10) = 0.3: alpha = log(log(1e4) / -log(0.3)) / log(100), c = log(1e4) * 1e8^alpha.
ALPHA = math.log(math.log(1e4) / -math.log(0.3)) / math.log(100.0)
C = math.log(1e4) * 1e8**ALPHA


def test_law_golden_values():
    # exp(-2e4 / sqrt(1e9)) = exp(-0.632456) = 0.531286
    assert float(passuntil_law(1e9, c=2e4, alpha=0.5)) == pytest.approx(math.exp(-2e4 / 1e9**0.5), rel=1e-15)
    assert float(passuntil_law(1e9, c=2e4, alpha=0.5)) == pytest.approx(0.531286, abs=1e-6)
    rates = passuntil_law(np.array([1e8, 1e10]), c=C, alpha=ALPHA)
    assert rates == pytest.approx([1e-4, 0.3], rel=1e-12)
    # log(-log PU) is a straight line in log N with slope -alpha.
    slope = np.diff(np.log(-np.log(passuntil_law(SIZES, c=C, alpha=ALPHA)))) / np.diff(np.log(SIZES))
    assert slope == pytest.approx(np.full(8, -ALPHA), rel=1e-10)


def test_recovers_c_and_alpha_from_near_exact_counts():
    # 1e12 attempts per model: the counts pin the rates to ~1e-8, so the ML fit must return the truth.
    attempts = 10**12
    passes = np.round(passuntil_law(SIZES, c=C, alpha=ALPHA) * attempts)
    result = passuntil_fit(pd.DataFrame({"N": SIZES, "k": passes}), size="N", passes="k", attempts=attempts, dispersion=1.0)
    assert result.converged
    assert result.params["alpha"] == pytest.approx(ALPHA, rel=1e-6)
    assert result.params["c"] == pytest.approx(C, rel=1e-5)


def test_recovers_tiny_pass_rates_that_plain_accuracy_reads_as_zero():
    # 2000 attempts per model: at PU = 1e-4 the expected count is 0.2, so accuracy usually reads 0.
    rng = np.random.default_rng(3)
    passes = rng.binomial(2000, passuntil_law(SIZES, c=C, alpha=ALPHA))
    assert passes[0] == 0  # plain accuracy of the smallest model: 0
    result = passuntil_fit(pd.DataFrame({"N": SIZES, "k": passes}), size="N", passes="k", attempts=2000, dispersion=1.0)
    lo, hi = result.intervals["alpha"]
    assert lo < ALPHA < hi and hi - lo < 0.06
    assert result.params["alpha"] == pytest.approx(ALPHA, abs=0.01)
    # The fitted rate of the smallest model is within 10% of the true 1e-4 (measured 1.088x).
    assert result.observed["fitted"].iloc[0] == pytest.approx(1e-4, rel=0.1)
    assert result.observed["rate"].iloc[0] == 0.0 and result.observed["upper"].iloc[0] > 1e-4


def test_interval_coverage_on_simulated_counts():
    # 400 simulated ladders: the 95% Wald intervals of alpha and of the predicted rate at 3e10 should cover
    # the truth about 95% of the time (pure binomial scale, as simulated).
    # The lack-of-fit warning (deviance test at p < 0.001) must stay rare on data that follow the law.
    rng = np.random.default_rng(11)
    truth_at = float(passuntil_law(3e10, c=C, alpha=ALPHA))
    covered_alpha = covered_rate = alarms = 0
    estimates = []
    for _ in range(400):
        passes = rng.binomial(2000, passuntil_law(SIZES, c=C, alpha=ALPHA))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResidualTrendWarning)
            result = passuntil_fit(pd.DataFrame({"N": SIZES, "k": passes}), size="N", passes="k", attempts=2000, targets=[3e10], dispersion=1.0)
        alarms += len(caught)
        lo, hi = result.intervals["alpha"]
        covered_alpha += lo <= ALPHA <= hi
        (p,) = result.predictions
        covered_rate += p.lower <= truth_at <= p.upper
        estimates.append(result.params["alpha"])
    assert 0.92 <= covered_alpha / 400 <= 0.98
    assert 0.92 <= covered_rate / 400 <= 0.98
    assert np.mean(estimates) == pytest.approx(ALPHA, abs=0.002)  # no visible bias
    assert alarms <= 2


def test_samples_until_first_success_per_instance():
    # PassUntil proper: each instance is sampled until its first success (geometric draws, one shared rate per size).
    rng = np.random.default_rng(5)
    rows = [(n, draw) for n, p in zip(SIZES, passuntil_law(SIZES, c=C, alpha=ALPHA), strict=True) for draw in rng.geometric(p, size=300)]
    frame = pd.DataFrame(rows, columns=["N", "samples"])
    result = passuntil_fit(frame, size="N", samples_until="samples")
    assert len(result.observed) == 9 and result.observed["passes"].tolist() == [300.0] * 9
    lo, hi = result.intervals["alpha"]
    assert lo < ALPHA < hi
    assert result.params["alpha"] == pytest.approx(ALPHA, abs=0.015)
    # Censored instances (never solved within the budget) count their samples as failures.
    budget = 3000
    censored = frame.assign(solved=frame["samples"] <= budget, samples=np.minimum(frame["samples"], budget))
    capped = passuntil_fit(censored, size="N", samples_until="samples", solved="solved")
    assert capped.observed["passes"].iloc[0] < 300
    assert capped.params["alpha"] == pytest.approx(ALPHA, abs=0.03)


def test_rate_times_items_and_overdispersion():
    rng = np.random.default_rng(8)
    p = passuntil_law(SIZES, c=C, alpha=ALPHA)
    # Model-to-model scatter beyond binomial noise (beta-binomial): the deviance dispersion widens the intervals.
    passes = rng.binomial(2000, rng.beta(p * 50, (1 - p) * 50))
    frame = pd.DataFrame({"N": SIZES, "acc": passes / 2000})
    with pytest.warns(ResidualTrendWarning, match="far beyond binomial noise"):
        auto = passuntil_fit(frame, size="N", rate="acc", attempts=2000)
    with pytest.warns(ResidualTrendWarning, match="far beyond binomial noise"):
        binomial = passuntil_fit(frame, size="N", rate="acc", attempts=2000, dispersion=1.0)
    assert auto.deviance_dispersion == pytest.approx(binomial.deviance_dispersion) and auto.deviance_dispersion > 5
    assert auto.params == pytest.approx(binomial.params)
    width = lambda r: r.intervals["alpha"][1] - r.intervals["alpha"][0]  # noqa: E731
    expected = math.sqrt(auto.deviance_dispersion) * auto.quantile / binomial.quantile
    assert width(auto) / width(binomial) == pytest.approx(expected, rel=1e-9)
    assert auto.quantile > binomial.quantile  # Student-t on 7 degrees of freedom
    assert any("deviance dispersion" in note for note in auto.notes)
    assert auto.intervals["alpha"][0] < ALPHA < auto.intervals["alpha"][1]


def test_predictions_backtest_and_json():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"N": SIZES, "k": rng.binomial(2000, passuntil_law(SIZES, c=C, alpha=ALPHA)), "n": 2000})
    result = passuntil_fit(frame, size="N", passes="k", attempts="n", targets=[1e10], max_size=3e9, dispersion=1.0)
    assert len(result.observed) == 6 and len(result.held_out) == 3
    table = predict_pass_rate(result, [1e10])
    (p,) = result.predictions
    assert [p.pass_rate, p.lower, p.upper] == pytest.approx(table.iloc[0][["pass_rate", "lower", "upper"]].tolist(), rel=1e-12)
    assert p.lower < float(passuntil_law(1e10, c=C, alpha=ALPHA)) < p.upper
    assert result.held_out["inside"].all()
    document = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert document["schema"] == "scalinglaws.passuntil/1" and document["params"]["alpha"] == result.params["alpha"]


def test_warnings_are_typed():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"N": SIZES, "k": rng.binomial(2000, passuntil_law(SIZES, c=C, alpha=ALPHA))})
    with pytest.warns(ExtrapolationWarning, match="100x the largest size fitted"):
        passuntil_fit(frame, size="N", passes="k", attempts=2000, targets=[1e12], dispersion=1.0)
    falling = frame.assign(k=frame["k"].to_numpy()[::-1])
    with pytest.warns(NonMonotoneWarning, match="inverse scaling"):
        passuntil_fit(falling, size="N", passes="k", attempts=2000, dispersion=1.0)
    # Zero passes below a size and all passes above: no finite maximum (the rate jumps).
    jump = pd.DataFrame({"N": [1e8, 2e8, 4e8, 8e8], "k": [0, 0, 100, 100]})
    with pytest.warns(ConvergenceWarning, match=r"no finite maximum: no size above 2e\+08 has a failure"):
        result = passuntil_fit(jump, size="N", passes="k", attempts=100)
    assert not result.converged


@pytest.mark.parametrize(
    ("change", "options", "message"),
    [
        ({"k": [0, 3, 2100, 90, 260]}, {}, r"passes exceed attempts at 1 row\(s\), first row 2 \(2100 > 1000\)"),
        ({"k": [0, -3, 21, 90, 260]}, {}, r"passes column 'k' must be >= 0 .* -3 at row 1"),
        ({"k": [0, 3.5, 21, 90, 260]}, {}, r"passes column 'k' must hold whole counts .* 3.5 at row 1"),
        ({"n": [1000, 0, 1000, 1000, 1000]}, {}, r"attempts column 'n' must be >= 1"),
        ({"k": [0, 3, None, 90, 260]}, {}, r"passes column 'k' has 1 missing or non-numeric value"),
        ({"N": [1e8, 3e8, -1, 3e9, 1e10]}, {}, r"size column 'N' must be > 0"),
        ({}, {"passes": "wins"}, r"passes column 'wins' is not in the data; the data has: N, k, n"),
        ({}, {"size": "params"}, r"size column 'params' is not in the data"),
        ({}, {"attempts": "tries"}, r"attempts column 'tries' is not in the data"),
        ({}, {"attempts": None}, r"passes= needs attempts="),
        ({}, {"attempts": 0}, r"attempts must be a column name or a whole number >= 1"),
        ({}, {"rate": "k"}, r"give the counts one way: .* got passes, rate"),
        ({}, {"passes": None}, r"give the counts one way: .* got none"),
        ({}, {"solved": "k"}, r"solved= goes with samples_until="),
        ({"k": [0, 0, 0, 0, 0]}, {}, r"no passes at all: the pass rate cannot be told from 0"),
        ({"k": [1000] * 5}, {}, r"every attempt passed"),
        ({"N": [1e9] * 5}, {}, r"needs pass counts at 2 or more model sizes; got 1"),
        ({}, {"level": 95}, r"level must be between 0 and 1"),
        ({}, {"dispersion": 0.5}, r"dispersion must be 'auto' or a number >= 1"),
        ({}, {"targets": [-7e9]}, r"targets must be finite sizes > 0"),
        ({}, {"max_size": 2e8}, r"at or below max_size=2e\+08"),
    ],
)
def test_bad_input_is_an_input_error(change, options, message):
    frame = pd.DataFrame({"N": [1e8, 3e8, 1e9, 3e9, 1e10], "k": [0, 3, 21, 90, 260], "n": [1000] * 5})
    for column, values in change.items():
        frame[column] = values
    kwargs = {"size": "N", "passes": "k", "attempts": "n", **options}
    with pytest.raises(InputError, match=message):
        passuntil_fit(frame, **kwargs)


def test_rate_input_errors():
    frame = pd.DataFrame({"N": [1e8, 1e9, 1e10], "acc": [0.001, 0.0123456, 0.3]})
    with pytest.raises(InputError, match=r"rate column 'acc' times attempts is not a whole number of passes at row 1"):
        passuntil_fit(frame, size="N", rate="acc", attempts=1000)
    with pytest.raises(InputError, match=r"rate column 'acc' must hold fractions in \[0, 1\] .* divide percentages by 100"):
        passuntil_fit(frame.assign(acc=[0.1, 1.2, 30.0]), size="N", rate="acc", attempts=1000)
    with pytest.raises(InputError, match="samples_until= counts the attempts itself"):
        passuntil_fit(frame.assign(s=[3, 2, 1]), size="N", samples_until="s", attempts=10)
    with pytest.raises(InputError, match=r"solved column 'ok' must hold true/false"):
        passuntil_fit(frame.assign(s=[3, 2, 1], ok=["yes", "maybe", "no"]), size="N", samples_until="s", solved="ok")


def emergent_counts(family: str, task: str) -> pd.DataFrame:
    """BIG-bench task counts of one model family from the ObsScaling tables.

    lm-eval-harness scores word_unscrambling and the arithmetic tasks on 2000 items each; every score in
    the file is a whole number of items out of 2000 (checked here), so passes = score x 2000.
    """
    scores = pd.read_csv(shared_data("obsscaling", "base_llm_emergent_capability_eval.csv"))
    models = pd.read_csv(shared_data("obsscaling", "base_llm_benchmark_eval.csv"))
    items = scores[task].dropna() * 2000
    assert np.abs(items - np.round(items)).max() < 1e-9
    joined = scores.merge(models[["Model", "Model Family", "Model Size (B)"]], on="Model")
    part = joined[joined["Model Family"] == family].dropna(subset=[task]).sort_values("Model Size (B)")
    return pd.DataFrame({"model": part["Model"], "N": part["Model Size (B)"] * 1e9, "rate": part[task]})


def test_pythia_word_unscrambling_largest_model_from_the_smaller_ones():
    # Pythia (deduplicated) 70M-6.9B, two of which solve 0 of 2000 items, predict the 12B model.
    # Measured: predicted 0.02091 (95% interval 0.0124-0.0331) against 42/2000 = 0.0210 observed (0.4% off);
    # a least-squares line through log(-log accuracy), which must drop the zeros, predicts 0.0171 (18.7% off).
    counts = emergent_counts("Pythia", "word_unscrambling_2_exact_match")
    assert counts["rate"].tolist()[:2] == [0.0, 0.0]
    result = passuntil_fit(counts, size="N", rate="rate", attempts=2000, max_size=7e9)
    (held,) = result.held_out.itertuples(index=False)
    assert held.size == 12e9 and held.passes == 42
    assert held.predicted == pytest.approx(0.02091, rel=0.005)
    assert abs(held.predicted - held.rate) / held.rate < 0.01 and held.inside
    assert result.params["alpha"] == pytest.approx(0.1462, abs=5e-4)
    fitted = counts[(counts["N"] < 7e9 + 1) & (counts["rate"] > 0)]
    slope, intercept = np.polyfit(np.log(fitted["N"]), np.log(-np.log(fitted["rate"])), 1)
    naive = math.exp(-math.exp(intercept + slope * math.log(12e9)))
    assert abs(naive - held.rate) / held.rate == pytest.approx(0.187, abs=0.005)


@pytest.mark.parametrize(
    ("family", "largest", "predicted", "observed", "inside"),
    [
        # Measured predictions of each family's largest model's word_unscrambling rate from the smaller ones.
        ("BLOOM", 7.1e9, 0.01069, 0.0085, True),  # 26% high
        ("GPT-Neo/J", 20e9, 0.03962, 0.0315, True),  # 26% high
        ("OPT", 66e9, 0.02527, 0.0135, False),  # 87% high: OPT-66B solves fewer than OPT-30B
    ],
)
def test_other_families_word_unscrambling(family, largest, predicted, observed, inside):
    counts = emergent_counts(family, "word_unscrambling_2_exact_match")
    result = passuntil_fit(counts, size="N", rate="rate", attempts=2000, max_size=largest * 0.999)
    (held,) = result.held_out.itertuples(index=False)
    assert held.size == pytest.approx(largest) and held.rate == pytest.approx(observed)
    assert held.predicted == pytest.approx(predicted, rel=0.005)
    assert bool(held.inside) is inside


@pytest.fixture
def cli(monkeypatch):
    """The CLI with the passuntil command (registered here until the CLI module list includes it)."""
    from scalinglaws import cli as package
    from scalinglaws.cli import passuntil

    if "passuntil" not in {c.name for c in package.app.registered_commands}:
        monkeypatch.setattr(package.app, "registered_commands", [*package.app.registered_commands, *passuntil.app.registered_commands])


def test_command_line(cli, tmp_path, capsys):
    path = tmp_path / "unscramble.csv"
    pd.DataFrame({"params": ["70m", "160m", "410m", "1b", "1.4b", "2.8b", "6.9b", "12b"], "solved": [0, 0, 6, 9, 11, 15, 29, 42]}).to_csv(path, index=False)
    code, out, _ = run_cli(capsys, "passuntil", str(path), "--size", "params", "--passes", "solved", "--attempts", "2000",
                           "--max-size", "7e9", "--target", "N=7e10", "--json")
    assert code == 0
    document = json.loads(out)
    assert document["params"]["alpha"] == pytest.approx(0.1462, abs=5e-4)
    assert document["held_out"][0]["predicted"] == pytest.approx(0.02091, rel=0.005)
    assert document["predictions"][0]["size"] == 7e10
    assert [w["code"] for w in document["warnings"]] == ["extrapolation"]
    code, out, err = run_cli(capsys, "passuntil", str(path), "--size", "params", "--passes", "solved", "--attempts", "2000",
                             "--target", "N=2e10", "--plot", str(tmp_path / "pu.png"))
    assert code == 0 and "Predicted pass rate" in out and "alpha" in out
    assert (tmp_path / "pu.png").stat().st_size > 10_000
    code, out, err = run_cli(capsys, "passuntil", str(path), "--size", "params", "--passes", "solved", "--attempts", "5")
    assert code == 2 and out == ""
    assert "passes exceed attempts" in err
    jump = tmp_path / "jump.csv"
    pd.DataFrame({"N": [1e8, 2e8, 4e8, 8e8], "k": [0, 0, 100, 100]}).to_csv(jump, index=False)
    code, out, err = run_cli(capsys, "passuntil", str(jump), "--size", "N", "--passes", "k", "--attempts", "100", "--json")
    assert code == 1 and json.loads(out)["status"].startswith("not converged")


@pytest.mark.parametrize(("option", "value", "message"), [
    # Said "must be a model size like N=7e9" though --max-size takes a bare number.
    ("--max-size", "0", "--max-size must be a model size > 0 like 7e9 (or 7B), got '0'"),
    ("--max-size", "1e9,2e9", "--max-size takes one model size like 7e9 (or 7B)"),
    # Said "attempts column '-5' is not in the data".
    ("--attempts", "-5", "--attempts must be a whole number >= 1 (the attempts of every row) or a column name, got '-5'"),
    ("--attempts", "2.5", "--attempts must be a whole number >= 1"),
])
def test_command_line_messages_say_what_the_option_takes(cli, tmp_path, capsys, option, value, message):
    path = tmp_path / "unscramble.csv"
    pd.DataFrame({"params": ["70m", "160m", "410m", "1b"], "solved": [0, 2, 6, 9]}).to_csv(path, index=False)
    options = {"--attempts": "2000", "--max-size": None, option: value}
    args = [arg for name, v in options.items() if v is not None for arg in (name, v)]
    code, out, err = run_cli(capsys, "passuntil", str(path), "--size", "params", "--passes", "solved", *args)
    assert code == 2 and out == "" and message in err


def test_help_names_the_dispersion_the_fit_uses(cli, capsys):
    # The help said "Pearson dispersion"; the fit widens by the deviance dispersion.
    code, out, _ = run_cli(capsys, "passuntil", "--help")
    text = " ".join(out.replace("│", " ").split())
    assert code == 0 and "deviance dispersion" in text and "Pearson" not in text


@pytest.mark.parametrize(("options", "message"), [
    # Said "passes= needs attempts=", "samples_until= counts the attempts itself; drop attempts=": Python keywords on the CLI.
    (["--passes", "solved"], "--passes needs --attempts (a column, or one whole number"),
    (["--rate", "rate"], "--rate needs --attempts (a column, or one whole number"),
    (["--samples-until", "solved", "--attempts", "10"], "--samples-until counts the attempts itself (the samples drawn per instance); drop --attempts"),
    (["--passes", "solved", "--attempts", "2000", "--solved", "solved"], "--solved goes with --samples-until"),
])
def test_command_line_names_its_options_not_python_keywords(cli, tmp_path, capsys, options, message):
    path = tmp_path / "unscramble.csv"
    pd.DataFrame({"params": ["70m", "160m", "410m", "1b"], "solved": [1, 2, 6, 9], "rate": [0.001, 0.002, 0.006, 0.009]}).to_csv(path, index=False)
    code, out, err = run_cli(capsys, "passuntil", str(path), "--size", "params", *options)
    assert code == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1
    assert "=" not in err.split("error: ")[-1].split(" (")[0]  # no keyword= in the option part of the message
    # Python callers keep the keyword wording.
    with pytest.raises(InputError, match="passes= needs attempts="):
        passuntil_fit(path, size="params", passes="solved")


def test_plot_file_type_is_checked_before_the_fit(cli, tmp_path, capsys):
    # Said "--plot must end in .png, .svg, .pdf" only after printing the full results (and fitting).
    path = tmp_path / "unscramble.csv"
    pd.DataFrame({"params": ["70m", "160m", "410m", "1b"], "solved": [1, 2, 6, 9]}).to_csv(path, index=False)
    code, out, err = run_cli(capsys, "passuntil", str(path), "--size", "params", "--passes", "solved", "--attempts", "2000",
                             "--plot", str(tmp_path / "x.txt"))
    assert code == 2 and out == "" and "--plot must end in .png, .svg, .pdf, got" in err and "x.txt" in err
    assert not (tmp_path / "x.txt").exists()


@pytest.mark.parametrize(("value", "shown"), [(float("nan"), "first nan at row 2"), (float("inf"), "first inf at row 2"), ("ten", "first 'ten' at row 2")])
def test_a_bad_count_is_quoted_as_written_not_as_a_numpy_repr(value, shown):
    # Said "first np.float64(nan) at row 0".
    frame = pd.DataFrame({"N": [1e8, 3e8, 1e9, 3e9], "k": [0, 3, value, 90]})
    with pytest.raises(InputError, match=rf"passes column 'k' has 1 missing or non-numeric value\(s\), {shown}; fix or remove"):
        passuntil_fit(frame, size="N", passes="k", attempts=100)
