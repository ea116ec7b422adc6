"""Rebuild the bundled datasets from ../shared/data (MIT/Apache-licensed sources only).

    python tools/bundle_datasets.py [NAME ...]

Each dataset is converted to the tidy schema (roles N, D, C, step, loss, run,
family...) and written gzip-compressed under src/scalinglaws/datasets/files/;
its card (source, licence, units, caveats) sits beside it as NAME.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
OUT = ROOT / "src" / "scalinglaws" / "datasets" / "files"
sys.path.insert(0, str(ROOT / "src"))

from scalinglaws.data.units import parse_quantity  # noqa: E402


def gemstones_350b() -> pd.DataFrame:
    df = pd.read_json(SHARED / "gemstones" / "wandb_dfs" / "wandb_df_for_fitting_hot_100b+.jsonl", lines=True)
    return pd.DataFrame({"run": df.run_name, "N": df.params_active_precise, "D": df.tokens, "step": df.step,
                         "width": df.width, "depth": df.depth, "loss": df.final_loss})


def datablations() -> pd.DataFrame:
    df = pd.read_csv(SHARED / "hitchhiker_colpret" / "aggregated_eval" / "datablations_losses.csv")
    n = df["num_params"].map(parse_quantity)
    run = df["data"] + "-" + df["num_params"] + "-" + df["epochs"].astype(str) + "ep"
    out = pd.DataFrame({"run": run, "family": df["data"], "N": n, "D": df["token_num"].astype(float),
                        "U": df["tokens_per_epoch"].astype(float), "epochs": df["epochs"], "loss": df["loss"]})
    return out[out["D"] > 0].sort_values(["run", "D"]).reset_index(drop=True)


def olmo() -> pd.DataFrame:
    df = pd.read_csv(SHARED / "hitchhiker_colpret" / "aggregated_eval" / "olmo.csv")
    keep = {"c4_en-validation/CrossEntropyLoss": "loss_c4", "pile-validation/CrossEntropyLoss": "loss_pile",
            "wikitext_103-validation/CrossEntropyLoss": "loss_wikitext", "downstream/hellaswag_len_norm": "hellaswag",
            "downstream/arc_easy_acc": "arc_easy", "downstream/piqa_len_norm": "piqa"}
    out = pd.DataFrame({"run": df["model_name"], "N": df["num_params"].map(parse_quantity), "step": df["Step"]})
    out["D"] = out["step"] * 4_194_304.0
    for source, name in keep.items():
        out[name] = df[source]
    out["loss"] = out["loss_c4"]
    out = out[out["step"] > 0].dropna(subset=["loss"]).sort_values(["run", "step"]).reset_index(drop=True)
    return out


def pythia() -> pd.DataFrame:
    df = pd.read_csv(SHARED / "pythia_evals" / "pythia_v1_evals.csv")
    tasks = [c for c in df.columns if c.endswith("_acc") and not c.endswith("stderr")]
    out = pd.DataFrame({"run": df["model"] + df["deduped"].map({True: "-deduped", False: ""}) + "-" + df["shots"].astype(str) + "shot",
                        "family": df["model"], "deduped": df["deduped"], "shots": df["shots"],
                        "N": df["params_nonembedding"].astype(float), "N_total": df["params_total"].astype(float),
                        "step": df["step"], "D": df["tokens"].astype(float)})
    for task in tasks:
        out[task] = df[task]
    out["lambada_openai_ppl"] = df["lambada_openai_ppl"]
    out["loss"] = out["lambada_openai_ppl"].map(lambda v: float("nan") if v <= 0 else __import__("math").log(v))
    return out[out["D"] > 0].reset_index(drop=True)


def obsscaling() -> pd.DataFrame:
    df = pd.read_csv(SHARED / "obsscaling" / "base_llm_benchmark_eval.csv")
    out = df.rename(columns={"Model": "model", "Model Family": "family"})
    out.insert(2, "N", df["Model Size (B)"] * 1e9)
    out.insert(3, "D", df["Pretraining Data Size (T)"] * 1e12)
    out.insert(4, "C", df["FLOPs (1E21)"] * 1e21)
    return out.drop(columns=["Model Size (B)", "Pretraining Data Size (T)", "FLOPs (1E21)"])


GPT3_SIZES = {"small": 125e6, "medium": 350e6, "large": 760e6, "xl": 1.3e9, "2.7b": 2.7e9, "6.7b": 6.7e9, "13b": 13e9, "175b": 175e9}
OPT_SIZES = {"125m": 125e6, "1.3b": 1.3e9, "6.7b": 6.7e9, "13b": 13e9, "30b": 30e9, "175b": 175e9}


def gpt3() -> pd.DataFrame:
    df = pd.read_csv(SHARED / "hitchhiker_colpret" / "raw_data" / "gpt3" / "extracted.csv").dropna(subset=["val_loss"])
    out = pd.DataFrame({"run": "gpt3-" + df["model"], "N": df["model"].map(GPT3_SIZES), "D": df["step"] * 1e9,
                        "loss": df["val_loss"], "train_loss": df["train_loss"]})
    return out.sort_values(["N", "D"]).reset_index(drop=True)


def opt() -> pd.DataFrame:
    df = pd.read_csv(SHARED / "hitchhiker_colpret" / "aggregated_eval" / "opt_trajectories.csv")
    out = pd.DataFrame({"run": "opt-" + df["model_size"], "N": df["model_size"].map(OPT_SIZES), "step": df["steps"],
                        "D": 10.0 ** df["num_token"], "loss": np.log(df["ppl"]), "ppl": df["ppl"]})
    return out.sort_values(["N", "D"]).reset_index(drop=True)


BUILDERS = {"gemstones_350b": gemstones_350b, "datablations": datablations, "olmo": olmo, "pythia": pythia, "obsscaling": obsscaling, "gpt3": gpt3, "opt": opt}

if __name__ == "__main__":
    for name, build in BUILDERS.items():
        if sys.argv[1:] and name not in sys.argv[1:]:
            continue
        frame = build()
        path = OUT / f"{name}.csv.gz"
        frame.to_csv(path, index=False, compression={"method": "gzip", "mtime": 0})
        print(f"{name}: {len(frame)} rows, {path.stat().st_size / 1e3:.0f} kB")
