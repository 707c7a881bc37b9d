"""vectors_tsne.py's files and limits, without TensorFlow: readers, classes and their colours, sampling,
and every row of its bad-input table in docs/bad-input.md, run as a user would run it."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, run_script, stderr_lines
from PIL import Image

from tutorial.classes import CATEGORY10, LIGHTER, OTHER, classes_of, projector_order
from tutorial.errors import InputError
from tutorial.pipeline import RunSettings
from tutorial.vector_files import read_images, read_metadata, read_vectors, sample_rows

RNG = np.random.default_rng(3)


# Reading files ------------------------------------------------------------------------------------------


def test_every_vectors_format_reads_the_same_numbers(tmp_path):
    vectors = RNG.normal(size=(6, 3)).astype(np.float32)
    np.save(tmp_path / "words.npy", vectors)
    np.savez(tmp_path / "layers.npz", first=vectors, second=vectors[:, :2] * 2)
    (tmp_path / "plain.tsv").write_text("\n".join("\t".join(f"{v:.9g}" for v in row) for row in vectors) + "\n")
    (tmp_path / "named.csv").write_text("a,b,c\n" + "\n".join(",".join(f"{v:.9g}" for v in row) for row in vectors))
    assert list(read_vectors(tmp_path / "words.npy")) == ["words"]
    layers = read_vectors(tmp_path / "layers.npz")
    assert list(layers) == ["first", "second"] and layers["second"].shape == (6, 2)
    for name in ("words.npy", "plain.tsv", "named.csv"):  # the Projector's vectors TSV: no header
        (tensor,) = read_vectors(tmp_path / name).values()
        assert tensor.dtype == np.float32 and np.allclose(tensor, vectors, atol=1e-6), name


def test_metadata_keeps_text_fills_missing_cells_and_cleans_tabs_and_line_breaks(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text('title,year,topic\n"Hello, world",1999,news\n"two\nlines",,\n"a\ttab",2001\n', encoding="utf-8")
    columns, cleaned = read_metadata(path, 3)
    assert columns == {"title": ["Hello, world", "two lines", "a tab"], "year": ["1999", "", "2001"],
                       "topic": ["news", "", ""]}
    assert cleaned == 2


def test_images_from_a_column_of_files_become_one_thumbnail_size(tmp_path):
    (tmp_path / "pics").mkdir()
    for i, size in enumerate([(100, 50), (40, 40), (30, 90)]):
        Image.new("RGB", size, (200, 30 * i, 10)).save(tmp_path / "pics" / f"{i}.png")
    metadata = {"file": [f"pics/{i}.png" for i in range(3)]}
    images = read_images("file", metadata, tmp_path / "metadata.tsv", 3)
    assert images.shape == (3, 32, 64, 3) and images.dtype == np.uint8  # the first's aspect, 64 px wide
    assert tuple(images[1, 10, 10]) == (200, 30, 10)


def test_the_projectors_colour_order_and_our_colours():
    # Whole numbers first, ascending; then the rest as first met: the order of a JavaScript object's keys.
    assert projector_order(["b", "10", "a", "2", "b", "", "2.5"]) == ["2", "10", "b", "a", "2.5"]
    classes = classes_of({"kind": ["dog", "cat", "dog", "emu"]}, "kind", 4)
    assert classes.names == ["cat", "dog", "emu"] and classes.codes.tolist() == [1, 0, 1, 2]
    # dog is the Projector's first category, cat its second, emu its third: d3's colours 0, 3 and 6.
    assert classes.colours == [CATEGORY10[3], CATEGORY10[0], CATEGORY10[6]]
    numbers = classes_of({"n": [str(v) for v in range(25)]}, "n", 25)
    assert numbers.names[:3] == ["0", "1", "2"] and numbers.colours[10] == LIGHTER[0]
    assert numbers.colours[20:] == [OTHER] * 5 and len(set(numbers.colours[:20])) == 20


def test_sampling_keeps_each_classes_share_and_is_repeatable():
    classes = np.array([0] * 900 + [1] * 90 + [2] * 10)
    rows = sample_rows(1000, 100, seed=4, classes=classes)
    assert len(rows) == 100 and np.all(np.diff(rows) > 0)
    assert np.bincount(classes[rows]).tolist() == [90, 9, 1]
    assert np.array_equal(rows, sample_rows(1000, 100, seed=4, classes=classes))
    assert not np.array_equal(rows, sample_rows(1000, 100, seed=5, classes=classes))


def test_max_points_samples_the_files_rows_and_says_which(tmp_path):
    from vectors_tsne import sampled

    tensors = {"v": np.arange(20, dtype=np.float32).reshape(10, 2)}
    metadata = {"word": [f"w{i}" for i in range(10)]}
    rows = np.array([1, 4, 7])
    kept, columns, images = sampled(tensors, metadata, np.zeros((10, 2, 2), np.uint8), rows)
    assert kept["v"][:, 0].tolist() == [2, 8, 14] and columns == {"word": ["w1", "w4", "w7"], "index": [1, 4, 7]}
    assert images.shape == (3, 2, 2)


def test_the_call_refuses_a_missing_colour_column_and_leaves_no_folder(tmp_path):
    from mnist_tsne import write_embedding_run

    with pytest.raises(ValueError, match="color_by column 'kind' is not in the metadata, whose columns are 'word'"):
        write_embedding_run(tmp_path / "run", {"v": RNG.normal(size=(40, 4))}, {"word": [str(i) for i in range(40)]},
                            color_by="kind")
    assert not list(tmp_path.iterdir())


# The bad-input table --------------------------------------------------------------------------------------


@dataclass
class Case:
    name: str  # the table's first column, word for word
    message: str  # part of the one stderr line
    files: dict = field(default_factory=dict)  # file name -> what to write
    args: list = field(default_factory=list)  # after VECTORS (vectors.npy unless files name another)


VECTORS = RNG.normal(size=(150, 4)).astype(np.float32)
WITH_NAN = VECTORS.copy()
WITH_NAN[[3, 7]] = np.nan
SPECIES = "species\n" + "\n".join(["setosa", "versicolor", "virginica"] * 50) + "\n"
CASES = [
    Case("A vectors file that does not exist", "vectors file missing.npy does not exist", {}, ["missing.npy"]),
    Case("A vectors file of another format", "is not a .npy, .npz, .tsv, .csv file", {"v.txt": "1 2 3\n"},
         ["v.txt"]),
    Case("A `.npy` that NumPy cannot read", "v.npy is not a NumPy .npy file", {"v.npy": b"not numpy"}, ["v.npy"]),
    Case("Vectors that are not [N, D]", "has shape (150,); vectors are [N, D]", {"v.npy": VECTORS[:, 0]}, ["v.npy"]),
    Case("Text in a vectors `.tsv`", "vector 1 holds 'abc', not a number", {"v.tsv": "1\t2\n3\tabc\n"}, ["v.tsv"]),
    Case("Rows of different lengths in a vectors `.csv`", "vector 1 has 1 numbers, the first has 2",
         {"v.csv": "1,2\n3\n"}, ["v.csv"]),
    Case("`.npz` arrays with different rows", "every array must hold the same points", {"v.npz": "two"}, ["v.npz"]),
    Case("NaN or infinite values", "NaN or infinite values in 2 rows (3, 7)", {"v.npy": WITH_NAN}, ["v.npy"]),
    Case("Metadata with another number of rows", "has 149 rows after its header for 150 vectors",
         {"m.tsv": "species\n" + "a\n" * 149}, ["--metadata", "m.tsv"]),
    Case("A metadata row with more cells than columns", "row 1 has 2 cells for 1 columns",
         {"m.csv": "species\na\nb,c\n" + "a\n" * 148}, ["--metadata", "m.csv"]),
    Case("`--color-by` a column that does not exist", "'kind' is not in the metadata, whose columns are 'species'",
         {"m.tsv": SPECIES}, ["--metadata", "m.tsv", "--color-by", "kind"]),
    Case("`--color-by` without `--metadata`", "--color-by needs --metadata", {}, ["--color-by", "species"]),
    Case("`--color-by` a column with empty cells", "'species' is empty in 1 row (the first: row 0)",
         {"m.tsv": "species\tn\n\t1\n" + "a\t1\n" * 149}, ["--metadata", "m.tsv", "--color-by", "species"]),
    Case("`--color-by` a column of more than 50 classes", "has 150 distinct values; the Projector colours at most 50",
         {"m.tsv": "id\n" + "".join(f"{i}\n" for i in range(150))}, ["--metadata", "m.tsv", "--color-by", "id"]),
    Case("`--images` for another number of points", "holds 149 images for 150 vectors",
         {"i.npy": np.zeros((149, 8, 8), np.uint8)}, ["--images", "i.npy"]),
    Case("`--images` that are not uint8", "holds float64 images; save them as uint8",
         {"i.npy": np.zeros((150, 8, 8))}, ["--images", "i.npy"]),
    Case("`--images` neither a file nor a metadata column", "is neither a file nor a metadata column (the columns: "
         "species)", {"m.tsv": SPECIES}, ["--metadata", "m.tsv", "--images", "photo"]),
    Case("`--images COLUMN` naming a missing file", "row 0's 'a.png'", {"m.tsv": "file\n" + "a.png\n" * 150},
         ["--metadata", "m.tsv", "--images", "file"]),
    Case("`--metric cosine` with a vector of zeros", "1 all-zero vectors (row 5) have no direction", {"v.npy": "zero"},
         ["v.npy", "--metric", "cosine"]),
    Case("More than 100,000 points without `--max-points`", "the Projector loads the first 100,000 only; pass "
         "--max-points 100000", {"v.npy": np.zeros((100_001, 2), np.float32)}, ["v.npy"]),
    Case("A perplexity too high for the points", "needs more than 450 points, got 150; lower --perplexity", {},
         ["--perplexity", "150"]),
    Case("A tensor named like a map the pipeline makes", "tensor 'x_tsne_2d' is named like a t-SNE map this "
         "pipeline makes", {"v.npz": "map-named"}, ["v.npz"]),
    Case("Values so large their squares overflow float32", "values up to 2e+30, whose squares overflow",
         {"v.npy": VECTORS / np.abs(VECTORS).max() * 2e30}, ["v.npy"]),
    Case("`--compare` a tensor that is not in the file", "cannot compare a with c: compare two of a, b",
         {"v.npz": "two-same", "m.tsv": SPECIES}, ["v.npz", "--metadata", "m.tsv", "--color-by", "species",
                                                   "--compare", "a:c"]),
    Case("`--compare` without `--color-by`", "comparing a with b needs a colour column", {"v.npz": "two-same"},
         ["v.npz", "--compare", "a:b"]),
]


def write_files(folder: Path, files: dict) -> None:
    np.save(folder / "vectors.npy", VECTORS)
    for name, content in files.items():
        path = folder / name
        if isinstance(content, np.ndarray):
            np.save(path, content)
        elif content == "two":
            np.savez(path, a=VECTORS, b=VECTORS[:10])
        elif content == "two-same":
            np.savez(path, a=VECTORS, b=VECTORS[:, ::-1])
        elif content == "map-named":
            np.savez(path, x=VECTORS, x_tsne_2d=VECTORS[:, :2])
        elif content == "zero":
            zeros = VECTORS.copy()
            zeros[5] = 0
            np.save(path, zeros)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


@pytest.fixture(scope="module")
def earlier_run(tmp_path_factory) -> Path:
    """An earlier run at --logdir (its run.json marks it as this project's), to be found unchanged after every
    failure; made by hand, so that these checks need no TensorFlow."""
    run = tmp_path_factory.mktemp("earlier") / "logs" / "vectors"
    run.mkdir(parents=True)
    (run / "run.json").write_text('{"script": "vectors_tsne.py"}\n')
    (run / "metadata.tsv").write_text("species\nsetosa\n")
    (run / "checkpoint").write_text('model_checkpoint_path: "embeddings.ckpt-1"\n')
    return run


def fingerprint(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*"))}


@pytest.mark.parametrize("case", CASES, ids=[re.sub(r"\W+", "_", c.name).strip("_") for c in CASES])
def test_bad_input(case: Case, earlier_run: Path, tmp_path: Path):
    import shutil

    write_files(tmp_path, case.files)
    logdir = tmp_path / "logs" / "vectors"
    shutil.copytree(earlier_run, logdir)
    before = fingerprint(logdir)
    vectors = [] if case.args and not case.args[0].startswith("-") else ["vectors.npy"]
    result = subprocess.run([sys.executable, str(REPO / "vectors_tsne.py"), *vectors, *case.args, "--logdir",
                             str(logdir)], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    lines = stderr_lines(result.stderr)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert len(lines) == 1 and case.message in lines[0], result.stderr
    assert fingerprint(logdir) == before, "the earlier run was changed"
    assert not list(tmp_path.rglob("*.partial-*")) and not list(tmp_path.rglob("*.old-*")), "staging left behind"


def test_the_bad_input_table_has_a_test_for_every_row():
    page = (REPO / "docs" / "bad-input.md").read_text()
    table = page.split("\n## `vectors_tsne.py`", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1].strip() for line in table.splitlines() if line.startswith("| ")][2:]
    assert rows == [case.name for case in CASES]


def test_reading_errors_are_data_errors_naming_the_file(tmp_path):
    (tmp_path / "v.tsv").write_text("")
    with pytest.raises(InputError, match=r"v\.tsv holds no vectors"):
        read_vectors(tmp_path / "v.tsv")


@pytest.mark.slow  # TensorFlow writes the run
def test_max_points_end_to_end_keeps_rows_classes_and_their_original_row_numbers(tmp_path):
    import tensorflow as tf

    sys.path.insert(0, str(REPO / "tools"))
    from sklearn_example import write_example

    data = write_example("digits", tmp_path / "digits")  # 1,797 digits; its metadata has an 'index' column
    run = tmp_path / "logs" / "digits"
    result = run_script("vectors_tsne.py", data / "vectors.npy", "--metadata", data / "metadata.tsv", "--images",
                        data / "images.npy", "--color-by", "digit", "--max-points", 300, "--no-tsne", "--no-metrics",
                        "--logdir", run)
    assert result.returncode == 0, result.stderr
    assert "Sampled 300 of the 1,797 points (seed 0, each digit keeping its share); metadata column " \
           "'row_in_files' gives each one's row in your files" in result.stdout
    header, *rows = (run / "metadata.tsv").read_text().splitlines()
    assert header == "digit\tindex\trow_in_files" and len(rows) == 300
    original = [int(row.split("\t")[2]) for row in rows]
    vectors, digits = np.load(data / "vectors.npy"), np.array([int(row.split("\t")[0]) for row in rows])
    stored = tf.train.load_checkpoint(str(run)).get_tensor("vectors")
    assert np.array_equal(stored, vectors[original]) and original == sorted(set(original))
    everyone = np.array([int(line.split("\t")[0]) for line in (data / "metadata.tsv").read_text().splitlines()[1:]])
    assert np.array_equal(digits, everyone[original])
    shares = np.bincount(everyone, minlength=10) * 300 / len(everyone)
    assert (np.abs(np.bincount(digits, minlength=10) - shares) < 1).all()  # each digit keeps its share
    sprite = np.asarray(Image.open(run / "sprite.png"))
    assert np.array_equal(sprite[:8, :8], np.load(data / "images.npy")[original[0]])


def test_the_call_refuses_a_folder_it_did_not_write_and_leaves_it_as_it_was(tmp_path):
    from mnist_tsne import write_embedding_run

    thesis = tmp_path / "thesis"
    thesis.mkdir()
    (thesis / "chapter1.tex").write_text("\\section{Intro}")
    with pytest.raises(ValueError, match="holds files these scripts did not write"):
        write_embedding_run(thesis, {"v": RNG.normal(size=(40, 4))}, settings=RunSettings(tsne_dims=()))
    assert [p.name for p in thesis.iterdir()] == ["chapter1.tex"] and not list(tmp_path.glob(".*partial*"))


@pytest.mark.slow  # lesson 3 in a subprocess, TensorFlow loading
def test_compare_puts_each_sides_bookmarks_on_both_tensors_maps(tmp_path):
    """--compare A:B on an .npz of two "layers" of the iris flowers: the paired bookmarks on both maps."""
    import json

    from sklearn.datasets import load_iris

    iris = load_iris()
    layers = {"measurements": iris.data, "projected": iris.data @ np.random.default_rng(0).normal(size=(4, 2))}
    np.savez(tmp_path / "layers.npz", **layers)
    (tmp_path / "m.tsv").write_text("species\n" + "\n".join(iris.target_names[iris.target]) + "\n")
    result = run_script("vectors_tsne.py", "layers.npz", "--metadata", "m.tsv", "--color-by", "species", "--compare",
                        "projected:measurements", "--logdir", "logs/run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    run = tmp_path / "logs" / "run"
    compared = json.loads((run / "metrics.json").read_text())["paired_votes"]["projected vs measurements"]
    for tensor in ("projected", "measurements"):
        labels = [view["label"] for view in json.loads((run / f"bookmarks_{tensor}.json").read_text())]
        assert f"projected right, measurements wrong ({compared['right_only_projected']})" in labels
        assert f"measurements right, projected wrong ({compared['right_only_measurements']})" in labels


def test_pandas_own_csvs_read_right(tmp_path, capsys):
    """DataFrame.to_csv() writes the index as an unnamed first column: not a dimension, and not a refusal."""
    import pandas as pd

    vectors = RNG.normal(size=(40, 6))
    frame = pd.DataFrame(vectors, columns=[f"d{i}" for i in range(6)])
    kept = frame[frame["d0"] > -1]  # a filtered frame keeps its old row labels: 0, 2, 3, 7, ...
    kept.to_csv(tmp_path / "v.csv")
    [(name, read)] = read_vectors(tmp_path / "v.csv").items()
    assert read.shape == (len(kept), 6) and np.allclose(read, kept.to_numpy(), atol=1e-6)
    assert "first column has no name: pandas' index, not a dimension" in capsys.readouterr().out
    pd.DataFrame({"topic": ["a", "b"] * 20}, index=range(100, 140)).to_csv(tmp_path / "m.csv")
    metadata, _ = read_metadata(tmp_path / "m.csv", 40)
    assert list(metadata) == ["index", "topic"] and metadata["index"][:2] == ["100", "101"]


def test_a_runs_only_metadata_column_keeps_its_name(tmp_path):
    """The Projector calls a lone column "label": the pipeline adds the row number, so the file has a header."""
    from mnist_tsne import write_embedding_run

    write_embedding_run(tmp_path / "run", {"v": RNG.normal(size=(40, 4))}, settings=RunSettings(perplexity=5))
    header = (tmp_path / "run" / "metadata.tsv").read_text().splitlines()[0]
    assert header == "trust_v_tsne_2d\trow"
