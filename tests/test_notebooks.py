"""The lessons as notebooks: made from the lessons (not edited by hand), small, with outputs, and they run.

The committed notebooks must equal what ``tools/make_notebooks.py`` makes from the lessons now (outputs
aside), so a lesson that changed fails here until its notebook is made again. Every step's code is the
lesson's own ``main()``, word for word. Each notebook is run in a real Jupyter kernel (nbclient) on small drawn
digits, its parameters cell set as papermill would; its last cell starts TensorBoard through the repository's
launcher, which is asked what it serves (it stops with the kernel). Ctrl-C in a kernel ("Interrupt kernel")
stops the cell, not the kernel, and leaves the earlier run as it was.
"""

from __future__ import annotations

import json
import sys
import textwrap
import time
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
    headings = [cell.source.splitlines()[0] for cell in made.cells
                if cell.cell_type == "markdown" and "example" not in cell.metadata.get("tags", [])]
    text = (REPO / lesson).read_text()
    assert headings[0] == "# " + text.split('"""')[1].splitlines()[0]
    assert [h.removeprefix("## ") for h in headings[1:-2]] == [  # then what to click, and the screenshot
        line.removeprefix("# ## ") for line in text.splitlines() if line.startswith("# ## ")]


@pytest.mark.parametrize("lesson", LESSONS)
def test_the_notebooks_hold_no_code_that_is_not_in_their_lesson(lesson):
    """Every line of a step's cell is a line of the lesson, in order; the imports cell imports what the lesson
    imports. Only the setup cells (Colab, parameters, TensorBoard) are the notebook's own, and an example cell
    runs the lesson's own main() with other flags."""
    made = make_notebooks.notebook_of(lesson)
    source = (REPO / lesson).read_text()
    main = source[source.index("def main("):]
    steps = [cell.source for cell in made.cells if "main" in cell.metadata.get("tags", [])]
    assert len(steps) == len(make_notebooks.lesson_text(REPO / lesson)[1]) + 1  # the start of main(), each section
    imports, _, preamble = steps[0].rpartition("\n\n")
    for code in [preamble, *steps[1:]]:
        assert textwrap.indent(code, "    ", lambda line: line.strip() != "") in main, code
    lesson_imports = {node.module if isinstance(node, make_notebooks.ast.ImportFrom) else alias.name
                      for node in make_notebooks.ast.walk(make_notebooks.ast.parse(source))
                      if isinstance(node, make_notebooks.ast.Import | make_notebooks.ast.ImportFrom)
                      for alias in node.names}
    imported = [node for node in make_notebooks.ast.parse(imports).body]
    assert imported and all(isinstance(node, make_notebooks.ast.Import | make_notebooks.ast.ImportFrom)
                            for node in imported)
    assert {node.module if isinstance(node, make_notebooks.ast.ImportFrom) else node.names[0].name
            for node in imported} <= lesson_imports | {lesson.removesuffix(".py")}
    for cell in made.cells:
        if cell.cell_type == "code" and "example" in cell.metadata.get("tags", []):
            # Shell lines (!) make its data with tools/; the rest imports the lesson's main() and calls it.
            code = "\n".join(line for line in cell.source.splitlines() if not line.startswith("!"))
            body = make_notebooks.ast.parse(code).body
            assert isinstance(body[0], make_notebooks.ast.ImportFrom) and body[0].module == lesson.removesuffix(".py")
            assert all(isinstance(node, make_notebooks.ast.Expr) and node.value.func.id == "main" for node in body[1:])
            assert all("tools/" in line for line in cell.source.splitlines() if line.startswith("!"))
    # Every step runs once: no function of the pipeline is called in two cells.
    calls = [node.func.id for code in steps for node in make_notebooks.ast.walk(make_notebooks.ast.parse(code))
             if isinstance(node, make_notebooks.ast.Call) and isinstance(node.func, make_notebooks.ast.Name)
             and node.func.id in ("write_embedding_run", "write_run", "add_tsne_maps", "measure", "train")]
    assert len(calls) == len(set(calls)), calls


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
    # A picture: a PNG output (show()), or one inside the report's markdown (measure()'s table and pictures).
    assert any("image/png" in output.get("data", {}) or "data:image/png;base64," in output.get("data", {}).get(
        "text/markdown", "") for output in outputs)
    # The measures table, as the run prints it (kNN accuracy and trustworthiness of every tensor).
    assert any("| tensor | dims | kNN accuracy" in output.get("text", "") + output.get("data", {}).get(
        "text/markdown", "") for output in outputs)
    # No tensor or sprite dumped: every output is a picture, a table or a few lines of text.
    assert all(len(json.dumps(output)) < 600_000 for output in outputs)
    # It ends on its run in the Projector: a screenshot, since the live TensorBoard cannot be kept.
    [cell] = [cell for cell in notebook.cells if "screenshot" in cell.metadata.get("tags", [])]
    png = __import__("base64").b64decode(cell.attachments["projector.png"]["image/png"])
    assert png.startswith(b"\x89PNG") and len(png) > 20_000
    # What TensorFlow prints to the process's stderr as it loads stays out of the outputs.
    text = "".join(output.get("text", "") for output in outputs)
    assert "cuda drivers" not in text and "absl::InitializeLog" not in text


def notebook_text(lesson: str) -> str:
    notebook = nbformat.read(COMMITTED[lesson], as_version=4)
    return "".join(output.get("text", "") + output.get("data", {}).get("text/markdown", "")
                   for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs)


def test_the_notebooks_show_the_figures_the_results_page_gives():
    """Lesson 1's notebook ran on the 10,000 MNIST test digits, as the README's figures; lesson 2's on seed 0."""
    lesson1 = notebook_text("mnist_tsne.py")
    metrics = json.loads((REPO / "docs" / "results" / "mnist-t10k-metrics.json").read_text())["embeddings"]
    pixels = metrics["pixels"]
    assert "Loaded 10000 digits (test split) from mnist IDX files" in lesson1
    assert f"| `pixels` | 784 | {pixels['knn_accuracy']:.3f} | {pixels['disagreeing_points']} |" in lesson1
    tsne = metrics["pixels_tsne_2d"]
    assert f"| `pixels_tsne_2d` | 2 | {tsne['knn_accuracy']:.3f} | {tsne['disagreeing_points']} |" in lesson1
    lesson2 = notebook_text("autoencoder_tsne.py")
    bench = json.loads((REPO / "bench" / "results" / "2026-12-05-votes-mnist-t10k-fashion-amd-epyc-2cores.json")
                       .read_text())
    for row in bench["rows"]:
        if row["section"] == "codes" and row["benchmark"].endswith(" on mnist"):
            name, seed0 = row["benchmark"].split()[0], row["knn_accuracy_per_seed"][0]
            misplaced = round((1 - seed0) * 10_000)
            assert f"| `{name}` | {784 if name == 'pixels' else 64} | {seed0:.3f} | {misplaced} |" in lesson2, name


def parameters(lesson: str, data: Path, logs: Path, example: Path) -> str:
    """Small, fast values for the parameters cell of ``lesson``: its flags, as the committed cell sets them."""
    return {
        "mnist_tsne.py": f'LOGS = "{logs}"\nargv = ["--data-dir", "{data}", "--num-images", "150", '
                         f'"--logdir", f"{{LOGS}}/mnist"]',
        "autoencoder_tsne.py": f'LOGS = "{logs}"\nargv = ["--data-dir", "{data}", "--num-images", "150", '
                               f'"--epochs", "1", "--logdir", f"{{LOGS}}/autoencoder"]',
        "vectors_tsne.py": f'EXAMPLE = "{example}"\n!{{sys.executable}} tools/sklearn_example.py iris {{EXAMPLE}}\n'
                           f'LOGS = "{logs}"\nargv = [f"{{EXAMPLE}}/vectors.npy", "--metadata", '
                           f'f"{{EXAMPLE}}/metadata.tsv", "--color-by", "species", "--logdir", f"{{LOGS}}/iris"]\n'
                           f'LATER = "{example.parent / "digits"}"',
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
    assert any("image/png" in output.get("data", {}) or "data:image/png;base64," in output.get("data", {}).get(
        "text/markdown", "") for output in outputs)
    # The runs the notebook wrote are the Projector's, and the inline TensorBoard served them.
    runs = sorted(path.parent.relative_to(logs).as_posix() for path in logs.rglob("projector_config.pbtxt"))
    [answer] = [line for output in notebook.cells[-1].outputs for line in output.get("text", "").splitlines()
                if line.startswith("SERVED ")]
    assert runs and sorted(json.loads(answer.removeprefix("SERVED "))) == runs


# A kernel that wrote a run, then is interrupted while it writes the run again, on 20,000 vectors (a t-SNE of
# half a minute and more). The earlier run must stay as it was, and the kernel answer the next cell.
EARLIER_RUN = """
import sys
sys.path.insert(0, {repo!r})
import numpy as np
from mnist_tsne import write_embedding_run
from tutorial.pipeline import RunSettings
small = np.random.default_rng(0).normal(size=(60, 5))
write_embedding_run({logdir!r}, {{"v": small}}, settings=RunSettings(tsne_dims=(), evaluate=False))
print("earlier run written")
"""
LONG_RUN = """
large = np.random.default_rng(1).normal(size=(20_000, 30))
write_embedding_run({logdir!r}, {{"v": large}}, settings=RunSettings(perplexity=50))
"""


@pytest.mark.slow
def test_interrupting_a_kernel_stops_the_cell_keeps_the_kernel_and_the_earlier_run(tmp_path):
    jupyter_client = pytest.importorskip("jupyter_client")
    logdir = tmp_path / "logs" / "run"
    manager, client = jupyter_client.manager.start_new_kernel(kernel_name="python3")
    try:
        reply = client.execute_interactive(EARLIER_RUN.format(repo=str(REPO), logdir=str(logdir)), timeout=120)
        assert reply["content"]["status"] == "ok", reply["content"]
        before = {path.name: path.read_bytes() for path in logdir.iterdir()}
        message_id = client.execute(LONG_RUN.format(logdir=str(logdir)))
        time.sleep(8)  # well inside the t-SNE
        manager.interrupt_kernel()
        reply = client.get_shell_msg(timeout=120)
        while reply["parent_header"].get("msg_id") != message_id:
            reply = client.get_shell_msg(timeout=120)
        assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "KeyboardInterrupt"
        assert manager.is_alive()
        # The kernel aborts what arrives just after an error (ipykernel's stop_on_error); then it answers.
        for _ in range(10):
            reply = client.execute_interactive("print(sum(range(4)))", timeout=60)
            if reply["content"]["status"] != "aborted":
                break
            time.sleep(1)
        assert reply["content"]["status"] == "ok"
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    assert {path.name: path.read_bytes() for path in logdir.iterdir()} == before
    assert not list(tmp_path.rglob("*.partial-*")), "staging folder left behind"
