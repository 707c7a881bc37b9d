"""The lessons as notebooks: made from the lessons (not edited by hand), small, with outputs, and they run.

The committed notebooks must equal what ``tools/make_notebooks.py`` makes from the lessons now (outputs
aside), so a lesson whose sections changed fails here until its notebook is made again. Each notebook is run
in a real Jupyter kernel (nbclient) on small drawn digits, its parameters cell set as papermill would; its last
cell starts TensorBoard through the repository's launcher, which is asked what it serves (it stops with the kernel).
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import pytest
from conftest import REPO, write_mnist_dir

sys.path.insert(0, str(REPO / "tools"))
nbformat = pytest.importorskip("nbformat")

import make_notebooks  # noqa: E402

LESSONS = list(make_notebooks.LESSONS)
COMMITTED = {lesson: REPO / "notebooks" / plan["notebook"] for lesson, plan in make_notebooks.LESSONS.items()}


def cells(notebook) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source) for cell in notebook.cells]


@pytest.mark.parametrize("lesson", LESSONS)
def test_each_notebook_is_made_from_its_lesson_as_it_is_now(lesson):
    committed = nbformat.read(COMMITTED[lesson], as_version=4)
    made = make_notebooks.notebook_of(lesson)
    # ... and from the lesson and the modules its steps call as they are now (their outputs would be stale).
    assert cells(committed) == cells(made), f"run: python tools/make_notebooks.py --execute {lesson}"
    assert committed.metadata["made_from"] == made.metadata["made_from"], (
        f"a file the notebook runs changed; run: python tools/make_notebooks.py --execute {lesson}")
    assert {"mnist_tsne.py", "tutorial/mnist_data.py" if lesson != "vectors_tsne.py" else "tutorial/vector_files.py",
            lesson} <= set(made.metadata["made_from"])
    # The markdown is the lesson's own words: its docstring's first line and every section heading.
    headings = [source.splitlines()[0] for kind, source in cells(made) if kind == "markdown"]
    text = (REPO / lesson).read_text()
    assert headings[0] == "# " + text.split('"""')[1].splitlines()[0]
    assert [h.removeprefix("## ") for h in headings[1:-1]] == [
        line.removeprefix("# ## ") for line in text.splitlines() if line.startswith("# ## ")]


@pytest.mark.parametrize("lesson", LESSONS)
def test_each_committed_notebook_is_valid_small_and_shows_its_results(lesson):
    path = COMMITTED[lesson]
    assert path.stat().st_size < 2_000_000
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning from nbformat's validator (missing cell ids, ...) fails too
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)  # raises on anything nbformat's schema does not accept
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    assert any("image/png" in output.get("data", {}) for output in outputs)
    # The measures table, as the run prints it (kNN accuracy and trustworthiness of every tensor).
    assert any("kNN accuracy" in output.get("data", {}).get("text/markdown", "") for output in outputs)
    # No tensor or sprite dumped: every output is a picture, a table or a few lines of text.
    assert all(len(json.dumps(output)) < 600_000 for output in outputs)


def parameters(lesson: str, data: Path, logs: Path, example: Path) -> str:
    """Small, fast values for the parameters cell of ``lesson``."""
    return {
        "mnist_tsne.py": f'DATA_DIR = "{data}"\nNUM_IMAGES = 150\nLOGS = "{logs}"',
        "autoencoder_tsne.py": f'DATA_DIR = "{data}"\nDATASET = "mnist"\nNUM_IMAGES = 150\nEPOCHS = 1\nSEED = 0\n'
                               f'LOGS = "{logs}"',
        "vectors_tsne.py": f'EXAMPLE = "{example}"\nLOGS = "{logs}"',
    }[lesson]


# Run in the kernel after the notebook's last cell, while the TensorBoard it started is alive (it ends
# with the kernel): which runs that TensorBoard's Projector serves.
ASK_TENSORBOARD = """\
import json, urllib.request
from tensorboard import manager
[info] = [info for info in manager.get_all() if info.logdir == LOGS]
with urllib.request.urlopen(f"http://127.0.0.1:{info.port}/data/plugin/projector/runs", timeout=60) as answer:
    print("SERVED " + json.dumps(json.loads(answer.read())))"""


@pytest.mark.slow
@pytest.mark.parametrize("lesson", LESSONS)
def test_each_notebook_runs_in_a_jupyter_kernel(lesson, tmp_path):
    pytest.importorskip("nbclient")
    data = write_mnist_dir(tmp_path / "data", n_test=150, n_train=300)
    logs = tmp_path / "logs"
    notebook = make_notebooks.notebook_of(lesson)
    [cell] = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    cell.source = parameters(lesson, data, logs, tmp_path / "example")
    notebook.cells.append(nbformat.v4.new_code_cell(ASK_TENSORBOARD))
    make_notebooks.execute(notebook, timeout=600)  # raises CellExecutionError on the first failing cell
    outputs = [output for cell in notebook.cells for output in cell.get("outputs", [])]
    assert any("image/png" in output.get("data", {}) for output in outputs)
    # The runs the notebook wrote are the Projector's, and the inline TensorBoard served them.
    runs = sorted(path.parent.relative_to(logs).as_posix() for path in logs.rglob("projector_config.pbtxt"))
    [answer] = [line for output in notebook.cells[-1].outputs for line in output.get("text", "").splitlines()
                if line.startswith("SERVED ")]
    assert runs and sorted(json.loads(answer.removeprefix("SERVED "))) == runs
