"""Sweeps: expansion into jobs, equality with backtest, failure isolation, resume, the CLI, Ray."""

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import scalinglaws.cli as cli
from scalinglaws.cli import sweep as sweep_cli
from scalinglaws.errors import InputError
from scalinglaws.evaluate import backtest
from scalinglaws.laws import CHINCHILLA_PUBLISHED
from scalinglaws.simulate import chinchilla_ladder, simulate_runs
from scalinglaws.sweep import StaleResultsWarning, expand, load_spec, parse_spec, read_results, run_sweep

from conftest import shared_data

LAWS = ["chinchilla", "power:N"]
SPLITS = [{"by": "C", "holdout": 0.2}, {"by": "N", "holdout": 0.25}]


@pytest.fixture
def runs_csv(tmp_path):
    """Two recipes (families) of a Chinchilla ladder, with a non-standard column name for N."""
    parts = []
    for i, recipe in enumerate(["adam", "lion"]):
        params = dict(CHINCHILLA_PUBLISHED, E=CHINCHILLA_PUBLISHED["E"] + 0.1 * i)
        table = simulate_runs("chinchilla", params, noise=0.005, seed=i, **chinchilla_ladder(sizes=6, tokens_per_size=4)).table
        parts.append(pd.DataFrame({"Model Size": table["N"], "D": table["D"], "loss": table["loss"], "recipe": recipe}))
    path = tmp_path / "runs.csv"
    pd.concat(parts).to_csv(path, index=False)
    return path


def write_spec(tmp_path, document):
    path = tmp_path / "spec.yaml"
    path.write_text(json.dumps(document))  # JSON is YAML
    return path


def good_spec(**extra):
    return {"laws": LAWS, "splits": SPLITS, "datasets": [{"path": "runs.csv", "columns": {"N": "Model Size"}, "group": "recipe"}], **extra}


def test_rows_equal_backtest_called_directly(tmp_path, runs_csv):
    result = run_sweep(write_spec(tmp_path, good_spec()), workers=2)
    table = result.table
    assert len(table) == 2 * 2 * 2 and (table["status"] == "ok").all()
    assert table["id"].is_unique and result.executed == 8 and result.skipped == 0
    frame = pd.read_csv(runs_csv)
    for row in table.itertuples():
        split = {"C:0.2": SPLITS[0], "N:0.25": SPLITS[1]}[row.split]
        family = frame[frame["recipe"] == row.family].reset_index(drop=True)
        (expected,) = backtest(family, [row.law], columns={"N": "Model Size"}, **split).results
        assert (row.dataset, row.n_fit, row.n_heldout) == ("runs", expected.n_fit, expected.n_heldout)
        assert row.mean_are == pytest.approx(expected.mean_are, rel=1e-9)
        assert row.max_are == pytest.approx(expected.max_are, rel=1e-9)
        assert row.fit_status == expected.status and np.isnan(row.coverage) and row.seconds > 0
    summary = result.summary().set_index("law")
    assert summary.loc["chinchilla", "mean_are"] < summary.loc["power:N", "mean_are"]
    assert result.pivot("C:0.2")[["dataset", "family"]].values.tolist() == [["runs", "adam"], ["runs", "lion"]]


def test_job_ids_are_stable_and_depend_on_the_settings(tmp_path, runs_csv):
    ids = [job.id for job in expand(load_spec(write_spec(tmp_path, good_spec()))).jobs]
    assert ids == [job.id for job in expand(load_spec(write_spec(tmp_path, good_spec()))).jobs]
    other = good_spec(splits=[{"by": "C", "holdout": 0.3}, SPLITS[1]])
    changed = [job.id for job in expand(load_spec(write_spec(tmp_path, other))).jobs]
    assert len(set(ids) & set(changed)) == 4  # the N split's jobs are the same jobs


def test_bootstrap_jobs_report_interval_hits(tmp_path, runs_csv):
    spec = good_spec(laws=["chinchilla"], splits=[SPLITS[0]], bootstrap=[0, {"replicates": 8, "seed": 1}])
    table = run_sweep(write_spec(tmp_path, spec), workers=1).table
    assert list(table["bootstrap"]) == [0, 8, 0, 8]
    boot = table[table["bootstrap"] == 8]
    assert boot["coverage"].between(0, 1).all() and table[table["bootstrap"] == 0]["coverage"].isna().all()
    # The point fit, hence the ARE, does not depend on the bootstrap.
    assert np.allclose(boot["mean_are"], table[table["bootstrap"] == 0]["mean_are"])


def test_failing_jobs_become_error_rows_and_the_others_succeed(tmp_path, runs_csv):
    # data_constrained needs a U column the data lacks: a failure only the job can find.
    spec = good_spec(laws=["chinchilla", "data_constrained"], splits=[SPLITS[0]])
    spec["datasets"].append({"path": "runs.csv", "name": "mislabelled", "columns": {"N": "Size"}, "laws": ["chinchilla"]})
    (tmp_path / "notes.txt").write_text("N,D,loss\n")  # exists, but no reader for it: found by the job
    spec["datasets"].append({"path": "notes.txt", "name": "notes", "laws": ["chinchilla"]})
    spec["datasets"].append({"path": "runs.csv", "name": "filtered", "where": {"recipe": "sgd"}, "laws": ["chinchilla"]})
    result = run_sweep(write_spec(tmp_path, spec), workers=2)
    table = result.table.set_index(["dataset", "family", "law"])
    assert table.loc[("runs", "adam", "chinchilla"), "status"] == "ok"
    assert table.loc[("runs", "lion", "chinchilla"), "status"] == "ok"
    assert table.loc[("runs", "adam", "data_constrained"), "error"].startswith("missing column for 'U'")
    assert "column 'Size' (given for 'N') is not in the data" in table.loc[("mislabelled", "all", "chinchilla"), "error"]
    assert "unknown file type '.txt'" in table.loc[("notes", "all", "chinchilla"), "error"]
    assert "where 'recipe' in ['sgd'] of dataset 'filtered' matches no row" in table.loc[("filtered", "all", "chinchilla"), "error"]
    assert len(result.failed) == 5


def test_rerun_skips_jobs_done_and_retries_failures(tmp_path, runs_csv):
    out = tmp_path / "results.parquet"
    spec = good_spec(laws=["chinchilla", "data_constrained"], splits=[SPLITS[0]])
    first = run_sweep(write_spec(tmp_path, spec), out=out, workers=1)
    assert (first.executed, first.skipped) == (4, 0)
    second = run_sweep(write_spec(tmp_path, spec), out=out, workers=1)
    assert (second.executed, second.skipped) == (2, 2)  # only the failed jobs run again
    done = first.table[first.table["status"] == "ok"].set_index("id")["seconds"]
    assert second.table.set_index("id").loc[done.index, "seconds"].tolist() == done.tolist()
    with pytest.warns(StaleResultsWarning, match="dropped 2 rows"):
        third = run_sweep(write_spec(tmp_path, good_spec(laws=["chinchilla", "power:N"], splits=[SPLITS[0]])), out=out, workers=1)
    assert (third.executed, third.skipped, third.dropped) == (2, 2, 2)  # the new law only
    stored = read_results(out)
    # data_constrained left the spec: its rows went with it; the others are not duplicated.
    assert len(stored) == 4 and stored["id"].is_unique and set(stored["id"]) == set(third.table["id"])
    assert (stored["status"] == "ok").all()


def test_rerun_drops_rows_of_jobs_no_longer_in_the_spec(tmp_path, runs_csv, capsys):
    """A fixed spec used to leave the broken spec's error rows in --out (6 rows for 4 jobs)."""
    out = tmp_path / "res.csv"
    broken = good_spec(splits=[SPLITS[0]])
    broken["datasets"][0]["columns"] = {"N": "params"}  # wrong column: every job fails
    first = run_sweep(write_spec(tmp_path, broken), out=out, workers=1)
    assert len(first.failed) == 4
    fixed = write_spec(tmp_path, good_spec(splits=[SPLITS[0]]))
    with pytest.warns(StaleResultsWarning, match=r"dropped 4 rows of '.*res\.csv' whose jobs are not in this spec"):
        second = run_sweep(fixed, out=out, workers=1)
    stored = read_results(out)
    assert len(stored) == 4 and (stored["status"] == "ok").all() and second.dropped == 4
    assert set(stored["id"]) == set(second.table["id"]) and not set(stored["id"]) & set(first.table["id"])
    third = run_sweep(fixed, out=out, workers=1)  # nothing stale, nothing to run, no warning
    assert (third.executed, third.skipped, third.dropped) == (0, 4, 0)
    # With every job done, the stale rows still leave the file.
    with open(out, "a") as handle:
        handle.write("deadbeefdeadbeef,runs,adam,kaplan,C:0.2,0,0,0,,,,,,0.0,error,old\n")
    with pytest.warns(StaleResultsWarning, match="dropped 1 row of"):
        fourth = run_sweep(fixed, out=out, workers=1)
    assert fourth.executed == 0 and len(read_results(out)) == 4 and fourth.to_dict()["dropped"] == 1


def test_csv_results_round_trip(tmp_path, runs_csv):
    out = tmp_path / "results.csv"
    spec = write_spec(tmp_path, good_spec(laws=["chinchilla"], splits=[SPLITS[0]]))
    first = run_sweep(spec, out=out, workers=1)
    second = run_sweep(spec, out=out, workers=1)
    assert second.executed == 0
    pd.testing.assert_frame_equal(first.table, second.table)


def test_benchmark_spec_points_at_the_shared_data():
    shared_data("hitchhiker_colpret")
    spec = load_spec(Path(__file__).resolve().parents[1] / "benchmarks" / "sweep_families.yaml")
    for dataset in spec.datasets:
        assert dataset.path.startswith("dataset:") or Path(dataset.location).is_file(), dataset.location


@pytest.mark.parametrize(("document", "message"), [
    ({"laws": LAWS}, "has no 'datasets'"),
    ({"datasets": ["runs.csv"]}, "no laws for datasets\\[0\\]"),
    ({**good_spec(), "law": ["kaplan"]}, "unknown key\\(s\\) 'law' in the sweep spec"),
    (good_spec(splits=[{"by": "C", "holdout": 1.5}]), "splits\\[0\\].holdout must be a fraction between 0 and 1"),
    (good_spec(splits=[{"by": "tokens"}]), "splits\\[0\\].by must be one of C, N, D"),
    (good_spec(splits=[{"column": "is_train", "by": "N"}]), "gives both 'column' and by/holdout"),
    (good_spec(bootstrap=1), "bootstrap.replicates must be 0 \\(no intervals\\) or an integer >= 2"),
    ({"laws": LAWS, "datasets": ["runs.csv", {"path": "other/runs.csv"}]}, "dataset names must be unique"),
    ({"laws": LAWS, "datasets": [{"file": "runs.csv"}]}, "unknown key\\(s\\) 'file' in datasets\\[0\\]"),
    (["runs.csv"], "the sweep spec must be a mapping"),
    # Unknown law names used to pass here and fail every job of that law (exit 1).
    (good_spec(laws=["chinchilla", "nosuchlaw"]), "'laws' in the sweep spec: unknown law 'nosuchlaw'; choose one of: bnsl, chinchilla"),
    ({"datasets": [{"path": "runs.csv", "laws": ["power:U"]}]}, "'datasets\\[0\\].laws' in the sweep spec: law 'power' needs the variable"),
])
def test_bad_spec_is_an_input_error(document, message):
    with pytest.raises(InputError, match=message):
        parse_spec(document)


@pytest.mark.parametrize(("entry", "message"), [
    # Each used to pass the spec check and fail every job of the dataset (exit 1).
    ("dataset:gemstone", r"datasets\[0\].path: unknown bundled dataset 'gemstone'; choose one of: .*gemstones"),
    ("dataset:", r"datasets\[0\].path: unknown bundled dataset ''; choose one of: .*gemstones"),
    ("nope.csv", r"datasets\[0\].path: data file not found: '.*nope.csv'.*relative paths start from the spec's folder"),
    ({"path": "runs.csv", "columns": {"Q": "x"}}, r"unknown role 'Q' in datasets\[0\].columns; roles: N, D, C, U, step"),
])
def test_spec_check_finds_unknown_datasets_paths_and_roles(tmp_path, runs_csv, entry, message):
    with pytest.raises(InputError, match=message):
        parse_spec({"laws": ["chinchilla"], "datasets": [entry]}, base=tmp_path)


def test_spec_check_accepts_bundled_datasets_and_existing_paths(tmp_path, runs_csv):
    spec = parse_spec({"laws": ["chinchilla"], "datasets": ["dataset:gemstones", {"path": "runs.csv", "columns": {"N": "Model Size"}}]},
                      base=tmp_path)
    assert [d.name for d in spec.datasets] == ["gemstones", "runs"]


def test_bad_spec_files_and_options(tmp_path, runs_csv):
    with pytest.raises(InputError, match="sweep spec not found"):
        load_spec(tmp_path / "nope.yaml")
    (tmp_path / "broken.yaml").write_text("laws: [chinchilla\n")
    with pytest.raises(InputError, match="cannot read sweep spec .* as YAML"):
        load_spec(tmp_path / "broken.yaml")
    spec = write_spec(tmp_path, good_spec())
    with pytest.raises(InputError, match="--out must end in .parquet or .csv"):
        run_sweep(spec, out=tmp_path / "results.xlsx")
    with pytest.raises(InputError, match="--workers must be >= 1"):
        run_sweep(spec, workers=0)


def test_an_unreachable_ray_address_fails_fast(tmp_path, runs_csv):  # the spec's data must exist
    pytest.importorskip("ray")
    import socket
    import time

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    start = time.perf_counter()
    with pytest.raises(InputError, match=rf"cannot reach Ray at --ray 'ray://127.0.0.1:{port}'.*check the head node is running"):
        run_sweep(write_spec(tmp_path, good_spec()), ray=f"ray://127.0.0.1:{port}")
    assert time.perf_counter() - start < 15


def test_ray_missing_says_what_to_install(tmp_path, runs_csv, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    with pytest.raises(InputError, match='pip install "scalinglaws\\[ray\\]"'):
        run_sweep(write_spec(tmp_path, good_spec()), ray="auto")


@pytest.fixture
def run_cli(monkeypatch, capsys):
    """Run ``scalinglaws ...`` in-process with the sweep command registered; return (code, stdout, stderr)."""
    if not any(c.name == "sweep" for c in cli.app.registered_commands):
        monkeypatch.setattr(cli.app, "registered_commands", [*cli.app.registered_commands, *sweep_cli.app.registered_commands])

    def run(*args):
        try:
            cli.main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_cli_json_and_exit_codes(tmp_path, runs_csv, run_cli):
    spec = write_spec(tmp_path, good_spec(splits=[SPLITS[0]]))
    code, out, err = run_cli("sweep", str(spec), "--json", "--workers", "1", "--out", str(tmp_path / "r.parquet"))
    assert code == 0, err
    doc = json.loads(out)
    assert (doc["schema"], doc["jobs"], doc["failed"]) == ("scalinglaws.sweep/1", 4, 0)
    assert [law["law"] for law in doc["laws"]] == ["chinchilla", "power:N"]
    assert set(doc["families"][0]["mean_are"]) == {"chinchilla", "power:N"}
    code, out, err = run_cli("sweep", str(spec), "--workers", "1", "--out", str(tmp_path / "r.parquet"))
    assert code == 0 and "4 jobs, 0 run, 4 already done" in out and "Mean ARE per family, split C:0.2" in out
    failing = write_spec(tmp_path, good_spec(laws=["data_constrained"], splits=[SPLITS[0]]))
    code, out, err = run_cli("sweep", str(failing), "--workers", "1")
    assert code == 1 and "missing column for 'U'" in err
    # An unknown law used to run and fail its jobs (exit 1); it is bad input, found when the spec is read.
    bad = write_spec(tmp_path, good_spec(laws=["no_such_law"], splits=[SPLITS[0]]))
    code, out, err = run_cli("sweep", str(bad), "--workers", "1")
    assert code == 2 and out == "" and "'laws' in the sweep spec: unknown law 'no_such_law'; choose one of: bnsl, chinchilla" in err
    code, out, err = run_cli("sweep", str(tmp_path / "nope.yaml"))
    assert code == 2 and "sweep spec not found" in err and out == ""
    # An unknown bundled dataset or column role used to become failed jobs (exit 1).
    for dataset, message in [("dataset:gemstone", "unknown bundled dataset 'gemstone'"),
                             ({"path": "runs.csv", "columns": {"Q": "x"}}, "unknown role 'Q' in datasets[0].columns")]:
        bad = write_spec(tmp_path, {"laws": ["chinchilla"], "datasets": [dataset]})
        code, out, err = run_cli("sweep", str(bad), "--workers", "1")
        assert code == 2 and out == "" and message in err, err


def test_cli_rerun_of_a_fixed_spec_rewrites_the_table(tmp_path, runs_csv, run_cli):
    results = tmp_path / "res.csv"
    broken = good_spec(splits=[SPLITS[0]])
    broken["datasets"][0]["columns"] = {"N": "params"}
    code, out, err = run_cli("sweep", str(write_spec(tmp_path, broken)), "--workers", "1", "--out", str(results))
    assert code == 1 and len(read_results(results)) == 4
    code, out, err = run_cli("sweep", str(write_spec(tmp_path, good_spec(splits=[SPLITS[0]]))), "--workers", "1", "--out", str(results))
    assert code == 0 and "4 jobs, 4 run, 0 already done, 0 failed" in out, err
    # The dropped rows are said once, as one warning line on stderr (not a raw Python warning with its source line).
    assert err.count("dropped 4 rows") == 1 and "warning: dropped 4 rows" in err and "StaleResultsWarning" not in err
    stored = read_results(results)
    assert len(stored) == 4 and (stored["status"] == "ok").all()


@pytest.fixture
def local_ray():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_ray_results_equal_local_results(tmp_path, runs_csv, run_cli, local_ray):
    spec = write_spec(tmp_path, good_spec(laws=["chinchilla", "power:N", "data_constrained"]))
    local = run_sweep(spec, workers=1).table.set_index("id")
    code, out, err = run_cli("sweep", str(spec), "--ray", "auto", "--json")
    assert code == 1, err  # the law that needs a missing column fails on Ray too
    remote = pd.DataFrame(json.loads(out)["rows"]).set_index("id")
    assert sorted(remote.index) == sorted(local.index)
    remote = remote.loc[local.index]
    assert remote["status"].tolist() == local["status"].tolist()
    assert remote["error"].fillna("").tolist() == local["error"].fillna("").tolist()
    assert np.allclose(remote["mean_are"].astype(float), local["mean_are"], rtol=1e-12, equal_nan=True)
    assert (remote["n_heldout"] == local["n_heldout"]).all()
