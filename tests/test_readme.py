"""The README's promises: two set-up commands first, runnable Python examples."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(), flags=re.S)


def test_two_setup_commands_come_first():
    bash = blocks("bash")
    assert bash[0].strip() == "pip install . && scalinglaws demo"
    assert bash[1].strip() == 'pip install -e ".[test]" && python -m pytest -q'
    ci = (README.parent / ".ci" / "run").read_text()
    assert bash[1].strip() in ci


@pytest.mark.filterwarnings("ignore::scalinglaws.errors.ScalingLawWarning")
@pytest.mark.parametrize("index", range(len(blocks("python"))))
def test_python_examples_run(index, tmp_path, monkeypatch):
    code = blocks("python")[index]
    if "../shared/" in code:  # examples on the unbundled data run from the repository root, beside ../shared
        if not (README.parent.parent / "shared" / "data").is_dir():
            pytest.skip("needs ../shared/data beside the repository")
        monkeypatch.chdir(README.parent)
    else:
        monkeypatch.chdir(tmp_path)
    exec(compile(code, f"README.md python block {index}", "exec"), {"__name__": "__readme__"})


@pytest.mark.parametrize("page", ["README.md", "docs/design-validation.md"])
def test_relative_links_point_at_files_in_the_repository(page):
    path = README.parent / page
    targets = re.findall(r"\]\(([^)#:\s]+)(?:#[^)]*)?\)", path.read_text())  # [text](target), not URLs or anchors
    missing = [t for t in targets if not (path.parent / t).exists()]
    assert targets and not missing, f"{page} links to files that are not there: {missing}"


def test_the_design_validation_cells_match_the_tables_in_its_page():
    import numpy as np
    import pandas as pd

    page = (README.parent / "docs" / "design-validation.md").read_text()
    cells = pd.read_csv(README.parent / "docs" / "design-validation.csv")
    missing = [f"{v:.2f}%" for v in cells[["design_are", "grid_are"]].to_numpy().ravel() if np.isfinite(v) and f"{v:.2f}%" not in page]
    assert len(cells) == 51 and not missing, f"numbers in design-validation.csv that its page does not show: {missing}"
