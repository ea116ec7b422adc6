"""The command-line contract: --json documents, exit codes, one-line errors."""

import json
import warnings

import pandas as pd
import pytest
from conftest import run_cli, shared_data

from scalinglaws.laws import CHINCHILLA_PUBLISHED
from scalinglaws.simulate import chinchilla_ladder, simulate_runs


run = run_cli


@pytest.fixture
def runs_csv(tmp_path):
    runs = simulate_runs("chinchilla", CHINCHILLA_PUBLISHED, noise=0.002, seed=5, **chinchilla_ladder())
    frame = pd.DataFrame({"Model Size": runs.table["N"], "Training FLOP": runs.table["C"], "loss": runs.table["loss"]})
    path = tmp_path / "runs.csv"
    frame.to_csv(path, index=False)
    return path


def test_fit_json_with_column_mapping_derives_d(capsys, runs_csv, tmp_path):
    out_path = tmp_path / "fit.json"
    code, out, err = run(capsys, "fit", str(runs_csv), "--law", "chinchilla", "--col", "N=Model Size", "--col", "C=Training FLOP", "--json", "-o", str(out_path))
    assert code == 0, err
    doc = json.loads(out)
    assert doc["law"] == "chinchilla" and doc["status"] == "converged"
    assert "D derived as C / (6 N)" in doc["notes"]
    assert doc["params"]["alpha"] == pytest.approx(CHINCHILLA_PUBLISHED["alpha"], rel=0.05)
    assert json.loads(out_path.read_text()) == doc


def test_predict_and_optimal_on_saved_fit(capsys, runs_csv, tmp_path):
    fit_path = tmp_path / "fit.json"
    run(capsys, "fit", str(runs_csv), "--col", "N=Model Size", "--col", "C=Training FLOP", "-o", str(fit_path), "--json")
    code, out, err = run(capsys, "predict", str(fit_path), "N=7e10", "D=1.4e12", "--json")
    assert code == 0, err
    predictions = json.loads(out)
    assert len(predictions) == 1 and set(predictions[0]) >= {"inputs", "loss", "interval"}
    # Close to the truth used to simulate (0.2% noise).
    assert predictions[0]["loss"] == pytest.approx(1.9208, rel=0.01)
    code, out, err = run(capsys, "optimal", str(fit_path), "--compute", "5.76e23", "--json")
    assert code == 0, err
    plan = json.loads(out)
    assert set(plan) >= {"C", "N", "D", "tokens_per_param", "loss"}
    assert 6 * plan["N"] * plan["D"] == pytest.approx(5.76e23, rel=1e-9)


def test_laws_lists_formula_and_citation(capsys):
    code, out, _ = run(capsys, "laws", "--json")
    assert code == 0
    laws = {row["name"]: row for row in json.loads(out)}
    assert {"chinchilla", "kaplan", "power:X"} <= set(laws)
    assert "Hoffmann" in laws["chinchilla"]["citation"]
    assert laws["chinchilla"]["formula"] == "L = E + A / N^alpha + B / D^beta"


def test_demo_prints_fit_forecast_and_plan(capsys):
    code, out, err = run(capsys, "demo", "--json", "--no-report")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["fit"]["status"] == "converged"
    assert doc["forecast"]["inputs"]["N"] == pytest.approx(10 * 2007837696)
    assert doc["optimal"]["C"] == pytest.approx(100 * 6 * 2007837696 * 100034150400, rel=1e-6)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("fit", "nope.csv"), "file not found: 'nope.csv'"),
        (("fit", "dataset:gemstones", "--law", "chinchila"), "unknown law 'chinchila'"),
        (("fit", "dataset:gemstones", "--col", "N"), "--col expects ROLE=COLUMN"),
        (("fit", "dataset:gemstones", "--col", "X=loss"), "unknown role 'X'"),
        (("fit", "dataset:nothing"), "unknown dataset 'nothing'"),
        (("predict", "missing.json", "N=1"), "fit file not found"),
        (("fit", "dataset:gemstones", "--loss", "l2"), "unknown loss 'l2'"),
    ],
)
def test_bad_input_exits_2_with_one_line(capsys, args, message):
    code, out, err = run(capsys, *args)
    assert code == 2
    assert out == ""
    assert message in " ".join(err.split())
    assert "Traceback" not in err


def test_bad_values_in_file_exit_2(capsys, tmp_path):
    path = tmp_path / "bad.csv"
    pd.DataFrame({"N": [1e8, 0, 3e8, 4e8, 5e8, 6e8], "D": [1e9] * 6, "loss": [3.0] * 6}).to_csv(path, index=False)
    code, _, err = run(capsys, "fit", str(path))
    assert code == 2
    assert "must be > 0" in err and "row 1" in err
    unreadable = tmp_path / "bad.parquet"
    unreadable.write_text("not parquet")
    code, _, err = run(capsys, "fit", str(unreadable))
    assert code == 2 and "cannot read" in err


def test_predict_bad_inputs_exit_2(capsys, tmp_path):
    fit_path = tmp_path / "fit.json"
    run(capsys, "fit", "dataset:gemstones", "-o", str(fit_path), "--json")
    for args, message in [(("N=abc", "D=1"), "N must be a number"), (("N=1e9",), "missing input(s) D"), (("N=1e9", "D=-1"), "finite number > 0")]:
        code, _, err = run(capsys, "predict", str(fit_path), *args)
        assert code == 2 and message in err, err
    code, _, err = run(capsys, "optimal", str(fit_path), "--compute", "lots")
    assert code == 2 and "--compute must be a number" in err
    not_a_fit = tmp_path / "other.json"
    not_a_fit.write_text("{}")
    code, _, err = run(capsys, "predict", str(not_a_fit), "N=1", "D=1")
    assert code == 2 and "not a scalinglaws fit" in err


def test_failed_fit_exits_1_and_says_so(capsys, monkeypatch):
    # Force the local solver to stop on its evaluation limit.
    import sys

    fit_module = sys.modules["scalinglaws.fitting.fit"]
    from scalinglaws.fitting.polish import Polished

    real = fit_module.polish

    def exhausted(*args, **kwargs):
        result = real(*args, **kwargs)
        return Polished(result.params, result.objective, False, "The maximum number of function evaluations is exceeded.", result.evaluations)

    monkeypatch.setattr(fit_module, "polish", exhausted)
    code, out, _ = run(capsys, "fit", "dataset:gemstones", "--json")
    assert code == 1
    doc = json.loads(out)
    assert doc["status"].startswith("not converged: The maximum number of function evaluations")
    assert any(w["code"] == "not_converged" for w in doc["warnings"])


def test_outputs_go_into_new_folders_and_a_folder_is_no_file(capsys, tmp_path):
    # A --plot or -o path in a folder that does not exist yet creates the folder (as the report always did) instead of
    # ending in a FileNotFoundError traceback; a folder given where a file is wanted, or read as a fit, is one line, exit 2.
    fit_path, plot_path = tmp_path / "new" / "deeper" / "fit.json", tmp_path / "figs" / "fit.png"
    code, _, err = run(capsys, "fit", "dataset:gemstones", "-o", str(fit_path), "--plot", str(plot_path), "-q")
    assert code == 0, err
    assert json.loads(fit_path.read_text())["law"] == "chinchilla" and plot_path.read_bytes()[:4] == b"\x89PNG"
    code, _, err = run(capsys, "fit", "dataset:gemstones", "-o", str(tmp_path / "new"), "-q")
    assert code == 2 and "the fit path" in err and "is a folder; give a file name inside it" in err
    code, _, err = run(capsys, "predict", str(tmp_path), "N=1e9", "D=1e11")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Is a directory" in err and "Traceback" not in err


def test_piped_tables_keep_every_digit(capsys):
    # Redirected output used to be cut at 80 columns, turning cells into "2.147…"; piped tables are now 160 wide.
    code, out, err = run(capsys, "hparams", "fit", str(shared_data("steplaw", "dense_lr_bs_loss.csv")))
    assert code == 0, err
    assert "…" not in out and "2.147e+08" in out and "quadratic" in out


@pytest.mark.parametrize(("field", "value", "message"), [
    ("params", {"beta": "x"}, "parameter 'beta' must be a number, got 'x'"),
    ("params", {"beta": [1]}, "parameter 'beta' must be a number"),
    ("objective", "low", "objective must be a number"),
    ("loss", {"delta": "big"}, "fit JSON has a malformed law, params or loss field"),
    ("residual_std", "x", "fit JSON has a malformed field"),
])
def test_predict_on_a_corrupted_fit_json_exits_2(capsys, tmp_path, field, value, message):
    fit_path = tmp_path / "fit.json"
    run(capsys, "fit", "dataset:gemstones", "-o", str(fit_path), "--json")
    doc = json.loads(fit_path.read_text())
    doc[field] = {**doc[field], **value} if isinstance(value, dict) else value
    fit_path.write_text(json.dumps(doc))
    code, out, err = run(capsys, "predict", str(fit_path), "N=1e9", "D=1e11")
    assert code == 2 and out == "" and message in err and "Traceback" not in err, err


def test_predict_rejects_a_repeated_input_and_accepts_unit_suffixes(capsys, tmp_path):
    fit_path = tmp_path / "fit.json"
    run(capsys, "fit", "dataset:gemstones", "-o", str(fit_path), "--json")
    code, out, err = run(capsys, "predict", str(fit_path), "N=1e9", "D=1e11", "N=2e9")
    assert code == 2 and out == "" and "input gives N more than once (N=1e9, N=2e9)" in err
    code, out, err = run(capsys, "predict", str(fit_path), "N=7B", "D=1.4T", "--json")
    assert code == 0, err
    code2, out2, _ = run(capsys, "predict", str(fit_path), "N=7e9", "D=1.4e12", "--json")
    assert code2 == 0 and json.loads(out) == json.loads(out2)
    code, out, _ = run(capsys, "predict", str(fit_path), "N=125m,1.5B", "D=20B", "--json")
    assert code == 0 and [p["inputs"]["N"] for p in json.loads(out)] == [1.25e8, 1.5e9]


def test_messages_name_the_option_and_the_value_as_given(capsys, tmp_path):
    ladder = pd.DataFrame({"N": [1e8, 2e8, 4e8, 8e8, 1.6e9, 3.2e9, 6.4e9], "D": [2e9] * 7, "loss": [3.1, 2.9, 2.8, 2.7, 2.6, 2.55, 2.5]})
    good = tmp_path / "good.csv"
    ladder.to_csv(good, index=False)
    code, out, err = run(capsys, "fit", str(good), "--loss-unit", "bpb", "--bytes-per-token", "-4")
    assert code == 2 and "--bytes-per-token must be a number > 0" in err and "needs --bytes-per-token" not in err
    ppl = tmp_path / "ppl.csv"
    ladder.assign(loss=[20.0, 0.5, 12.0, 10.0, 9.0, 8.0, 7.0]).to_csv(ppl, index=False)
    code, out, err = run(capsys, "fit", str(ppl), "--loss-unit", "perplexity")
    assert code == 2 and "perplexities must be > 1" in err and "first 0.5 at row 1" in err and "-0.69" not in err
    no_loss = tmp_path / "no_loss.csv"
    ladder.drop(columns="loss").to_csv(no_loss, index=False)
    code, out, err = run(capsys, "fit", str(no_loss))
    assert code == 2 and "the data has: N, D, C (derived)." in err
    two_runs = tmp_path / "two_runs.csv"
    ladder.assign(run=["a"] * 4 + ["b"] * 3, D=[1e9, 2e9, 3e9, 4e9, 1e9, 2e9, 3e9]).to_csv(two_runs, index=False)
    code, out, err = run(capsys, "fit", str(two_runs), "--law", "power:N", "--bootstrap", "5")
    assert code == 2 and "Use --by row or add runs" in err and "by='row'" not in err


def test_python_bootstrap_message_keeps_the_python_spelling():
    import scalinglaws as sl
    from scalinglaws.uncertainty import bootstrap

    frame = pd.DataFrame({"run": ["a"] * 4 + ["b"] * 3, "N": [1e8] * 4 + [2e8] * 3, "D": [1e9, 2e9, 3e9, 4e9, 1e9, 2e9, 3e9],
                          "loss": [3.1, 2.9, 2.8, 2.7, 2.8, 2.6, 2.5]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sl.errors.ScalingLawWarning)  # the point fit of 7 rows is ill-conditioned
        with pytest.raises(sl.InputError, match="Use by='row'"):
            bootstrap(frame, "power:D", replicates=5)


def test_missing_role_lists_the_file_columns_by_their_names():
    import scalinglaws as sl

    runs = sl.read_runs(pd.DataFrame({"Model Size": [1e8, 2e8], "Training FLOP": [1e18, 2e18], "val": [3.0, 2.0]}),
                        columns={"N": "Model Size", "C": "Training FLOP"})
    with pytest.raises(sl.InputError, match=r"the data has: Model Size \(as N\), Training FLOP \(as C\), val, D \(derived\)\."):
        runs.require(["loss"])


def test_datasets_name_prints_the_card(capsys):
    code, out, err = run(capsys, "datasets", "gemstones")
    assert code == 0, err
    assert out.startswith("# gemstones") and "Licence: MIT" in out and "Columns:" in out and "Source:" in out
    code, out, _ = run(capsys, "datasets", "opt", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["name"] == "opt" and doc["licence"] == "MIT" and doc["card"].startswith("# opt")
    code, out, err = run(capsys, "datasets", "nope")
    assert code == 2 and out == "" and "unknown dataset 'nope'" in err


def test_datasets_is_an_attribute_after_import_scalinglaws():
    import subprocess
    import sys

    code = "import scalinglaws; print(len(scalinglaws.datasets.load('gemstones')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "220"


@pytest.mark.parametrize("value", [1, -2, 2.5, True, "3"])
def test_one_rule_for_bootstrap_counts(value):
    # Nine places used to check a bootstrap count each in its own words; check_replicates is the one rule.
    from scalinglaws.arguments import check_replicates
    from scalinglaws.errors import InputError

    with pytest.raises(InputError, match=r"--bootstrap must be 0 \(no intervals\) or an integer >= 2 \(replicates\), got "):
        check_replicates(value)
    assert check_replicates(0) == 0 and check_replicates(2) == 2


@pytest.mark.parametrize("command", [["design", "--target", "N=7e9,D=1.4e12", "--budget", "1e21", "--simulations", "8"],
                                     ["fit", "dataset:gemstones"], ["isoflop", "dataset:gemstones"]])
def test_a_plot_file_type_is_refused_before_any_work(capsys, tmp_path, command):
    # --plot's suffix is checked as the option is read (one callback on the shared option), so a slow command such as
    # design no longer simulates for seconds and prints its results before refusing plot.txt.
    code, out, err = run(capsys, *command, "--plot", str(tmp_path / "plot.txt"))
    assert code == 2 and out == "" and "--plot must end in .png, .svg, .pdf" in err
    assert not (tmp_path / "plot.txt").exists()
