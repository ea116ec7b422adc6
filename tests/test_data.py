"""Readers (files, TensorBoard, MLflow, W&B exports), units, layouts, bundled datasets, inspect."""

import json
import math

import numpy as np
import pandas as pd
import pytest

import scalinglaws as sl
from scalinglaws.data.trackers import read_mlflow, read_tensorboard, read_wandb
from scalinglaws.data.units import loss_to_nats, parse_quantity
from scalinglaws.datasets import DATASETS, list_datasets, load

LADDER = [("small", 1.2e8, 3.1), ("medium", 3.5e8, 2.8), ("large", 1.0e9, 2.6)]


@pytest.mark.parametrize(("text", "value"), [("2.8B", 2.8e9), ("125m", 1.25e8), ("1.5T", 1.5e12), ("7e9", 7e9), ("1,000", 1000.0), ("350M", 3.5e8), ("64k", 64e3), (3.0, 3.0)])
def test_parse_quantity(text, value):
    assert parse_quantity(text) == pytest.approx(value)


def test_parse_quantity_rejects_words():
    assert math.isnan(parse_quantity("big"))
    frame = pd.DataFrame({"N": ["1B", "2B", "lots"], "D": [1e9] * 3, "loss": [3.0, 2.9, 2.8]})
    with pytest.raises(sl.InputError, match="non-numeric value.*'lots'"):
        sl.read_runs(frame).require(["N"])


def test_loss_units_are_converted_and_said():
    runs = sl.read_runs(pd.DataFrame({"N": ["70m", "160m"], "D": ["300B"] * 2, "ppl": [20.0, 15.0]}), columns={"loss": "ppl"}, loss_unit="perplexity")
    assert runs.table["loss"].tolist() == pytest.approx([math.log(20.0), math.log(15.0)])
    assert "loss converted to nats per token as ln(perplexity)" in runs.notes
    assert runs.table["N"].tolist() == [7e7, 1.6e8]
    assert loss_to_nats(np.array([1.0]), "bits")[0] == pytest.approx(math.log(2))
    assert loss_to_nats(np.array([1.0]), "bpb", bytes_per_token=4.0)[0] == pytest.approx(4 * math.log(2))
    with pytest.raises(sl.InputError, match="needs --bytes-per-token"):
        loss_to_nats(np.array([1.0]), "bpb")
    with pytest.raises(sl.InputError, match="unknown loss unit 'nat'"):
        loss_to_nats(np.array([1.0]), "nat")


def test_tokens_from_steps():
    frame = pd.DataFrame({"run": ["a"] * 3, "N": [1e8] * 3, "step": [100, 200, 300], "loss": [3.0, 2.9, 2.8]})
    runs = sl.read_runs(frame, tokens_per_step=512 * 2048)
    assert runs.table["D"].tolist() == [100 * 512 * 2048, 200 * 512 * 2048, 300 * 512 * 2048]
    assert any("D derived as step x" in n for n in runs.notes)
    with pytest.raises(sl.InputError, match="needs a 'step' column"):
        sl.read_runs(frame.drop(columns="step"), tokens_per_step=1024)


def test_long_layout_is_pivoted():
    long = pd.DataFrame({"run": ["a", "a", "b", "b"], "N": [1e8, 1e8, 2e8, 2e8], "metric": ["loss", "acc", "loss", "acc"], "value": [3.0, 0.2, 2.5, 0.3]})
    runs = sl.read_runs(long)
    assert runs.table.set_index("run")["loss"].to_dict() == {"a": 3.0, "b": 2.5}
    assert runs.notes[0] == "pivoted a long table (2 metrics) to one column per metric"


def test_unsorted_steps_are_sorted_and_reported_duplicates_rejected():
    frame = pd.DataFrame({"run": ["a", "a", "a"], "step": [3, 1, 2], "loss": [2.8, 3.0, 2.9]})
    runs = sl.read_runs(frame)
    assert runs.table["step"].tolist() == [1, 2, 3]
    assert "sorted checkpoints by step within each run" in runs.notes
    with pytest.raises(sl.InputError, match="duplicated checkpoint.*run 'a' step 1"):
        sl.read_runs(pd.DataFrame({"run": ["a", "a"], "step": [1, 1], "loss": [3.0, 3.1]}))


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet", ".json", ".jsonl"])
def test_file_formats_round_trip(tmp_path, suffix):
    frame = pd.DataFrame({"run": [r for r, _, _ in LADDER], "params": [n for _, n, _ in LADDER], "tokens": [20 * n for _, n, _ in LADDER], "val_loss": [l for _, _, l in LADDER]})
    path = tmp_path / f"runs{suffix}"
    {".csv": lambda: frame.to_csv(path, index=False), ".tsv": lambda: frame.to_csv(path, sep="\t", index=False),
     ".parquet": lambda: frame.to_parquet(path), ".json": lambda: frame.to_json(path, orient="records"),
     ".jsonl": lambda: frame.to_json(path, orient="records", lines=True)}[suffix]()
    runs = sl.read_runs(path)
    assert runs.mapping == {"N": "params", "D": "tokens", "loss": "val_loss", "run": "run"}
    assert runs.table["loss"].tolist() == pytest.approx([l for _, _, l in LADDER])


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_tensorboard_directory_is_read(tmp_path):
    tensorboardX = pytest.importorskip("tensorboardX")
    for name, n, final in LADDER:
        writer = tensorboardX.SummaryWriter(str(tmp_path / name))
        for step in (100, 200, 300):
            writer.add_scalar("eval/loss", final + 300 / step * 0.1, step)
            writer.add_scalar("params", n, step)
        writer.close()
    frame = read_tensorboard(tmp_path)
    assert set(frame["run"]) == {"small", "medium", "large"}
    assert len(frame) == 9
    runs = sl.read_runs(tmp_path, columns={"loss": "eval/loss", "N": "params"}, tokens_per_step=1e6)
    final = runs.table[runs.table["step"] == 300].set_index("run")["loss"]
    assert final.to_dict() == pytest.approx({name: l + 0.1 for name, _, l in LADDER}, rel=1e-6)
    assert runs.table["D"].max() == 3e8


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_mlflow_store_is_read(tmp_path):
    mlflow = pytest.importorskip("mlflow")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    for name, n, final in LADDER:
        with mlflow.start_run(run_name=name):
            mlflow.log_params({"N": f"{n:g}", "tokens_per_step": "1e6"})
            for step in (1, 2, 3):
                mlflow.log_metric("val_loss", final + 0.1 / step, step=step)
    frame = read_mlflow(uri)
    assert sorted(frame["run"].unique()) == ["large", "medium", "small"]
    assert frame["N"].dtype.kind == "f"  # params parsed as numbers
    runs = sl.read_runs(str(tmp_path), tokens_per_step=1e6)  # a directory holding mlflow.db
    assert runs.mapping["loss"] == "val_loss"
    assert runs.table.groupby("run")["loss"].min().to_dict() == pytest.approx({name: l + 0.1 / 3 for name, _, l in LADDER})


def test_wandb_export_with_config(tmp_path):
    history = tmp_path / "history.csv"
    pd.DataFrame({"_step": [10, 20, 30], "val/loss": [3.0, 2.8, 2.7], "_runtime": [1.0, 2.0, 3.0]}).to_csv(history, index=False)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"_wandb": {"value": {}}, "n_params": {"value": "350M"}, "lr": {"value": 3e-4}}))
    frame = read_wandb(history, config=config, run="ladder-350m")
    assert frame["run"].unique().tolist() == ["ladder-350m"]
    assert frame["n_params"].unique().tolist() == [3.5e8]
    runs = sl.read_runs(frame, columns={"loss": "val/loss", "N": "n_params"}, tokens_per_step=2**20)
    assert runs.table["D"].tolist() == [10 * 2**20, 20 * 2**20, 30 * 2**20]


def test_bundled_datasets_have_cards_and_licences():
    frame = list_datasets()
    assert {"gemstones", "gemstones_350b", "datablations", "olmo", "pythia", "obsscaling"} <= set(frame["name"])
    assert set(frame["licence"]) <= {"MIT", "Apache-2.0"}
    for card in DATASETS.values():
        text = card.card()
        assert "Licence" in text and card.name in text


@pytest.mark.parametrize("name", ["gemstones", "gemstones_350b", "datablations", "olmo", "pythia"])
def test_every_loss_dataset_fits(name):
    with _ignore_scaling_warnings():
        result = sl.fit(f"dataset:{name}", "chinchilla")
    assert result.n_points == len(load(name).table.dropna(subset=["loss"]))
    assert np.isfinite(result.objective)


class _ignore_scaling_warnings:
    def __enter__(self):
        import warnings

        self.ctx = warnings.catch_warnings()
        self.ctx.__enter__()
        warnings.simplefilter("ignore", sl.errors.ScalingLawWarning)

    def __exit__(self, *exc):
        return self.ctx.__exit__(*exc)


def test_gemstones_350b_matches_published_fit():
    # ../shared/data/gemstones/README.md: hot_100b+ (<=350B), delta 1e-3: alpha 0.25911, E = e^0.66816.
    with _ignore_scaling_warnings():
        result = sl.fit("dataset:gemstones_350b", "chinchilla")
    assert result.params["alpha"] == pytest.approx(0.25911, abs=5e-4)
    assert result.params["E"] == pytest.approx(math.exp(0.66816), rel=2e-3)


def test_inspect_cli(capsys):
    from scalinglaws.cli import main

    with pytest.raises(SystemExit):
        main(["inspect", "dataset:gemstones", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert doc["rows"] == 220 and doc["runs"] == 22
    assert doc["roles"]["C"] == "(derived)"
    assert "C derived as 6 N D" in doc["notes"]


def test_reader_errors():
    with pytest.raises(sl.InputError, match="unknown file type '.xlsx'"):
        sl.read_runs(_touch(".xlsx"))
    with pytest.raises(sl.InputError, match="column 'nope' \\(given for 'N'\\) is not in the data"):
        sl.read_runs(pd.DataFrame({"a": [1]}), columns={"N": "nope"})


def _touch(suffix):
    import tempfile

    handle = tempfile.NamedTemporaryFile(suffix=suffix, delete=False)
    handle.close()
    return handle.name


def test_suffix_note_quotes_a_parsed_value_even_when_the_first_is_bad():
    # Found by hypothesis in CI: the note quoted the first value, which was not a quantity.
    runs = sl.read_runs(pd.DataFrame({"N": ["abc", "2.8B", "125m"], "loss": [3.0, 2.5, 2.4]}))
    assert "e.g. '2.8B' -> 2.8e+09" in runs.notes[0]
    with pytest.raises(sl.InputError, match="column 'N' has 1 non-numeric value"):
        sl.fit(runs, "power:N")


def test_tables_given_as_neither_path_nor_frame_are_refused():
    from scalinglaws.data.readers import as_frame
    from scalinglaws.hparams import critical_batch_size, fit_hparam_sweep

    with pytest.raises(sl.InputError, match="the sweep must be a table path \\(CSV, Parquet...\\) or a DataFrame, got list"):
        fit_hparam_sweep([1, 2, 3], bootstrap=0)
    with pytest.raises(sl.InputError, match="the runs must be a table path .* got dict"):
        critical_batch_size({"batch": [1]}, bootstrap=0)
    frame = pd.DataFrame({"N": [1.0]})
    assert as_frame(frame, "runs") is frame


def test_bad_value_is_reported_at_its_row_in_the_file_after_sorting(tmp_path, capsys):
    # Checkpoints are sorted by step within runs; the message must still quote the row as in the file.
    from conftest import run_cli

    frame = pd.DataFrame({"run": ["b", "a", "b", "a", "c", "c"], "step": [2, 2, 1, 1, 2, 1],
                          "N": [2e8, 1e8, 2e8, 1e8, 4e8, 4e8], "D": [2e9, 2e9, 1e9, 1e9, 2e9, 1e9],
                          "loss": [3.0, 3.2, 3.3, 3.5, 2.9, -1.0]})
    path = tmp_path / "shuffled.csv"
    frame.to_csv(path, index=False)
    runs = sl.read_runs(path)
    assert runs.table["run"].tolist()[:2] == ["a", "a"]  # reordered
    message = r"first -1 at row 5 \(counting data rows from 0, header excluded\)"
    with pytest.raises(sl.InputError, match=message):
        sl.fit(runs, "power:N")
    kept = runs.subset(np.ones(len(runs), dtype=bool))  # subsets keep the file rows
    with pytest.raises(sl.InputError, match=r"missing \(NaN\) value\(s\) at rows \[5\] \(counting data rows from 0"):
        sl.data.validate_positive(kept.table["loss"].where(kept.table["loss"] > 0), "'loss'", origin=kept.origin)
    code, _, err = run_cli(capsys, "fit", str(path), "--law", "power:N")
    assert code == 2 and "first -1 at row 5 (counting data rows from 0, header excluded)" in err
    # The first bad value is the first in the file, not in the sorted table.
    frame.loc[0, "loss"] = -2.0
    frame.to_csv(path, index=False)
    with pytest.raises(sl.InputError, match=r"2 zero or negative value\(s\), first -2 at row 0 "):
        sl.fit(path, "power:N")


def test_missing_mlflow_database_is_not_created(tmp_path, capsys):
    from conftest import run_cli

    path = tmp_path / "none.db"
    with pytest.raises(sl.InputError, match="file not found: .*none.db"):
        read_mlflow(f"sqlite:///{path}")
    code, out, err = run_cli(capsys, "inspect", f"sqlite:///{path}", "--json")
    assert code == 2 and out == "" and "file not found" in err and len(err.strip().splitlines()) == 1
    assert not path.exists()


def test_same_run_and_tokens_without_steps_is_kept_and_noted(tmp_path, capsys):
    # Curves read off a figure (the bundled GPT-3 ones) hold several points at one D, so these rows are not an error,
    # but they are never kept silently: the note names the first and says what to do if they are a log written twice.
    from conftest import run_cli

    frame = pd.DataFrame({"run": ["a", "a", "a", "b", "b", "b"], "N": [1e8] * 3 + [2e8] * 3,
                          "D": [1e9, 2e9, 2e9, 1e9, 2e9, 4e9], "loss": [3.3, 3.1, 3.0, 3.1, 2.9, 2.8]})
    runs = sl.read_runs(frame)
    assert len(runs) == 6
    assert any(note.startswith("1 row(s) share a run and D with another row (first: run 'a' at D = 2e+09)") for note in runs.notes)
    path = tmp_path / "dup.csv"
    frame.to_csv(path, index=False)
    code, out, err = run_cli(capsys, "fit", str(path), "--law", "power:N", "--json")
    assert code == 0, err
    assert any("share a run and D with another row" in note for note in json.loads(out)["notes"])
    # Distinct D values per run, or a step column telling the rows apart, give no such note.
    for other in (frame.assign(D=[1e9, 2e9, 3e9, 1e9, 2e9, 4e9]), frame.assign(step=[1, 2, 3, 1, 2, 3])):
        assert not any("share a run and D" in note for note in sl.read_runs(other).notes)


def test_exact_duplicate_rows_without_runs_are_kept_and_noted():
    frame = pd.DataFrame({"N": [1e8, 1e8, 2e8, 4e8], "D": [1e9, 1e9, 2e9, 4e9], "loss": [3.3, 3.3, 3.0, 2.8]})
    runs = sl.read_runs(frame)
    assert len(runs) == 4
    assert any("1 row(s) repeat another row in every column; kept" in note for note in runs.notes)
    assert not any("repeat another row" in note for note in sl.read_runs(frame.drop(index=1)).notes)


@pytest.mark.parametrize("columns, got", [(["N"], "list"), ("N=params", "str"), ([("N", "params")], "list")])
def test_columns_that_are_not_a_mapping_are_refused(columns, got):
    frame = pd.DataFrame({"params": [1e8, 2e8], "loss": [3.0, 2.9]})
    with pytest.raises(sl.InputError, match=rf"columns must be a mapping role -> column, e.g. \{{'N': 'params'\}} .*got {got}"):
        sl.read_runs(frame, columns=columns)
    with pytest.raises(sl.InputError, match="columns must be a mapping role -> column"):
        sl.read_runs("dataset:gemstones", columns=columns)


def test_two_columns_recognised_for_one_role_are_noted():
    frame = pd.DataFrame({"params": [1e8, 2e8], "num_params": [1.1e8, 2.2e8], "loss": [3.0, 2.9]})
    runs = sl.read_runs(frame)
    assert runs.mapping["N"] == "params"
    assert ("N read from column 'params'; 'num_params' also matches N; to use another, pass columns={'N': 'num_params'} "
            "(command line: --col N=num_params)") in runs.notes
    # Choosing explicitly, or having a single candidate, adds no note.
    assert not any("also match" in note for note in sl.read_runs(frame, columns={"N": "num_params"}).notes)
    assert not any("also match" in note for note in sl.read_runs(frame.drop(columns="num_params")).notes)
    three = sl.read_runs(frame.assign(n_params=[1.0, 2.0]))
    assert any(note.startswith("N read from column 'params'; 'n_params', 'num_params' also match N") for note in three.notes)


@pytest.mark.parametrize("kind", ["tables", "empty_db", "empty_file", "csv"])
def test_a_database_that_is_not_an_mlflow_store_is_refused_and_left_unchanged(tmp_path, capsys, kind):
    # MLflow creates its schema (and logs INFO lines) in any database it opens: reading must never write.
    import sqlite3

    from conftest import run_cli

    path = tmp_path / ("losses.csv" if kind == "csv" else "other.db")
    if kind == "tables":
        with sqlite3.connect(path) as connection:
            connection.execute("CREATE TABLE t (x INTEGER)")
            connection.execute("INSERT INTO t VALUES (1)")
        connection.close()
    elif kind == "empty_db":
        with sqlite3.connect(path) as connection:  # a database with a header and no tables
            connection.execute("PRAGMA user_version = 7")
        connection.close()
    elif kind == "empty_file":
        path.write_bytes(b"")
    else:
        pd.DataFrame({"N": [1e8], "loss": [3.0]}).to_csv(path, index=False)
    before = path.read_bytes()
    message = "cannot be read as an SQLite database" if kind == "csv" else "has no MLflow tables"
    with pytest.raises(sl.InputError, match=f"not an MLflow store: '.*{path.name}' {message}"):
        read_mlflow(f"sqlite:///{path}")
    code, out, err = run_cli(capsys, "inspect", f"sqlite:///{path}")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and "not an MLflow store" in err, err
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no journal or other file left beside it


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_mlflow_runs_named_alike_are_qualified_by_experiment_then_run_id(tmp_path):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")  # no global state (active experiment) left behind
    experiments = {name: client.create_experiment(name) for name in ("a", "b")}
    ids = {}
    for experiment, name, n in [("a", "m70M", 7e7), ("a", "m160M", 1.6e8), ("b", "m70M", 7e7), ("b", "m410M", 4.1e8), ("b", "m410M", 4.1e8)]:
        run_id = client.create_run(experiments[experiment], run_name=name).info.run_id
        client.log_param(run_id, "N", f"{n:g}")
        for step in (1, 2):
            client.log_metric(run_id, "val_loss", 3.0 + 1 / step, step=step)
        client.set_terminated(run_id)
        ids.setdefault((experiment, name), []).append(run_id)
    runs = sl.read_runs(str(tmp_path))
    names = set(runs.table["run"])
    assert names == {"a/m70M", "b/m70M", "m160M", *(f"b/m410M ({i})" for i in ids[("b", "m410M")])}
    assert len(runs.table) == 10
    assert "2 MLflow run name(s) are shared by several runs ('m410M', 'm70M'); those runs are named EXPERIMENT/RUN" in runs.notes
    assert any(note.startswith("runs named alike within one experiment ('b/m410M')") and "run id" in note for note in runs.notes)
    # Distinct names are kept as they are, with no note.
    only_a = read_mlflow(str(tmp_path), experiment="a")
    assert set(only_a["run"]) == {"m70M", "m160M"} and only_a.attrs["notes"] == []


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_a_metric_logged_twice_at_one_step_keeps_the_last_value_and_is_noted(tmp_path):
    tensorboardX = pytest.importorskip("tensorboardX")
    writer = tensorboardX.SummaryWriter(str(tmp_path / "tb" / "small"))
    for step, loss in [(100, 3.5), (200, 3.2), (300, 3.1), (200, 9.9), (300, 3.0)]:  # restarted from step 100
        writer.add_scalar("loss", loss, step)
        writer.add_scalar("params", 1e8, step)
    writer.close()
    runs = sl.read_runs(tmp_path / "tb")
    assert runs.table.set_index("step")["loss"].to_dict() == pytest.approx({100: 3.5, 200: 9.9, 300: 3.0})  # float32 in the events
    assert ("run 'small' logged 'loss' more than once at step(s) 200, 300 (a restart?); kept the last value logged, "
            "2 earlier value(s) replaced") in runs.notes
    assert any(note.startswith("run 'small' logged 'params' more than once at step(s) 200, 300") for note in runs.notes)

    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    run_id = client.create_run(client.create_experiment("restarts"), run_name="small").info.run_id
    client.log_param(run_id, "N", "1e8")
    for step, loss, time in [(1, 3.5, 1000), (2, 3.2, 2000), (2, 3.1, 3000)]:
        client.log_metric(run_id, "val_loss", loss, timestamp=time, step=step)
    runs = sl.read_runs(f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert runs.table.set_index("step")["loss"].to_dict() == {1: 3.5, 2: 3.1}
    assert ("run 'small' logged 'val_loss' more than once at step(s) 2 (a restart?); kept the last value logged, "
            "1 earlier value(s) replaced") in runs.notes
