"""Your own vectors, end to end, on data nobody here made: scikit-learn's bundled data sets.

Four runs share one logs folder and one TensorBoard: ``vectors_tsne.py`` (the
command) on the iris flowers, coloured by species, strings, no images, and on
520 colour patches of scikit-learn's two sample photos, in cosine distance, with
RGB thumbnails; ``write_embedding_run`` (the call) on the 1,797 8 x 8 digits
with their pictures, and on the iris flowers with no colour column. For each:
TensorBoard serves it, the checker finds nothing, the bookmarks colour by the
named column, and the vote column is an independent leave-one-out 5-NN vote in
the chosen metric; without a colour column no vote is written. Chromium shows
the species legend in the Projector's colours (our pictures' colours) and the
photos' RGB thumbnails on the map.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO, TensorBoardServer, metadata_table, run_script, vote_of
from PIL import Image
from projector_page import ProjectorPage, skip_without_browser

pytestmark = pytest.mark.slow

sys.path.insert(0, str(REPO / "tools"))
from sklearn_example import write_example  # noqa: E402


def readme_pipeline_call() -> str:
    """The python block under "Your own vectors" that calls write_embedding_run, exactly as written."""
    section = (REPO / "README.md").read_text().split("## Your own vectors", 1)[1].split("\n## ", 1)[0]
    (block,) = [code for code in re.findall(r"```python\n(.*?)```", section, re.S) if "write_embedding_run(" in code]
    return block


COLOUR_COLUMN = {"iris": "species", "photos": "photo", "digits": "digit", "iris_uncoloured": None}
METRIC = {"iris": "euclidean", "photos": "cosine", "digits": "euclidean", "iris_uncoloured": "euclidean"}


@pytest.fixture(scope="module")
def own(tmp_path_factory):
    """The data sets' files, and the four runs in one logs folder."""
    root = tmp_path_factory.mktemp("own_vectors")
    data = {name: write_example(name, root / "data" / name) for name in ("iris", "digits", "photos")}
    logs = root / "logs"
    iris = run_script("vectors_tsne.py", data["iris"] / "vectors.npy", "--metadata", data["iris"] / "metadata.tsv",
                      "--color-by", "species", "--logdir", logs / "iris")
    assert iris.returncode == 0, iris.stderr
    photos = run_script("vectors_tsne.py", data["photos"] / "vectors.npy", "--metadata",
                        data["photos"] / "metadata.tsv", "--images", data["photos"] / "images.npy",
                        "--color-by", "photo", "--metric", "cosine", "--logdir", logs / "photos")
    assert photos.returncode == 0, photos.stderr

    from mnist_tsne import write_embedding_run
    from tutorial.vector_files import read_metadata

    # The README's call, exactly as written there, run beside logs/: it writes logs/digits.
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        exec(compile(readme_pipeline_call(), "README.md", "exec"), {})  # noqa: S102 - the README's own code
    flowers = np.load(data["iris"] / "vectors.npy")
    species, _ = read_metadata(data["iris"] / "metadata.tsv", len(flowers))
    write_embedding_run(logs / "iris_uncoloured", {"iris": flowers}, species)
    return {"data": data, "logs": logs, "stdout": {"iris": iris.stdout, "photos": photos.stdout}}


@pytest.fixture(scope="module")
def server(own):
    server = TensorBoardServer(own["logs"])
    server.get("/data/plugin/projector/runs")
    yield server
    server.close()


def tensor_name(run: str) -> str:
    return {"iris": "vectors", "photos": "vectors", "digits": "digits", "iris_uncoloured": "iris"}[run]


def served_metadata(server, run: str) -> dict[str, tuple[str, ...]]:
    text = server.get(f"/data/plugin/projector/metadata?run={run}&name={tensor_name(run)}").decode()
    return metadata_table(text.splitlines())


def independent_vote(vectors: np.ndarray, classes: list[str], metric: str) -> tuple[list[str], np.ndarray]:
    """Each point's leave-one-out 5-NN vote in float64 ``metric`` distances (a tie goes to the nearest tied
    neighbour's class), and which points it is well defined for (the 5th and 6th nearest differ)."""
    x = vectors.astype(np.float64)
    if metric == "cosine":
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        distances = 1 - x @ x.T
    else:
        squared = (x ** 2).sum(axis=1)
        distances = squared[:, None] + squared[None, :] - 2 * x @ x.T
    np.fill_diagonal(distances, np.inf)
    order = np.argsort(distances, axis=1, kind="stable")
    rows = np.arange(len(x))
    defined = distances[rows, order[:, 5]] - distances[rows, order[:, 4]] > 1e-9
    votes = [vote_of([classes[i] for i in row]) for row in order[:, :5]]
    return votes, defined


@pytest.mark.parametrize("run", ["iris", "photos", "digits"])
def test_the_vote_column_is_an_independent_leave_one_out_5nn_vote_in_the_runs_metric(own, server, run):
    name = "photos" if run == "photos" else run
    vectors = np.load(own["data"][name] / "vectors.npy")
    table = served_metadata(server, run)
    classes = list(table[COLOUR_COLUMN[run]])
    expected, defined = independent_vote(vectors, classes, METRIC[run])
    served = np.array(table[f"neighbours_{tensor_name(run)}"])
    assert defined.mean() > 0.5  # iris's measurements repeat, so some 5th and 6th nearest tie
    assert (served[defined] == np.array(expected)[defined]).all()
    metrics = json.loads((own["logs"] / run / "metrics.json").read_text())["embeddings"][tensor_name(run)]
    assert metrics["metric"] == METRIC[run]
    misplaced = served != np.array(classes)
    assert metrics["disagreeing_points"] == misplaced.sum()
    views = json.loads(server.get(f"/data/plugin/projector/bookmarks?run={run}&name={tensor_name(run)}"))
    (disagree,) = [view for view in views if view["label"] == "Where the neighbours disagree"]
    assert disagree["selectedPoints"] == np.flatnonzero(misplaced).tolist()
    assert disagree["selectedColorOptionName"] == f"neighbours_{tensor_name(run)}"


@pytest.mark.parametrize("run", ["iris", "photos", "digits", "iris_uncoloured"])
def test_every_view_is_coloured_and_labelled_by_the_named_column(server, run):
    views = json.loads(server.get(f"/data/plugin/projector/bookmarks?run={run}&name={tensor_name(run)}"))
    column = COLOUR_COLUMN[run]
    suffix = f", coloured by {column}" if column else ""
    assert [view["label"] for view in views][:2] == [f"PCA{suffix}", f"t-SNE (converged offline){suffix}"]
    for view in views[:2]:
        assert view["selectedColorOptionName"] == (column or "")
        assert view["selectedLabelOption"] == (column or "species")


def test_without_a_colour_column_there_is_trust_but_no_vote(own, server):
    table = served_metadata(server, "iris_uncoloured")
    assert list(table) == ["species", "index", "trust_iris_tsne_2d"]
    assert len(set(table["trust_iris_tsne_2d"])) > 20
    views = json.loads(server.get("/data/plugin/projector/bookmarks?run=iris_uncoloured&name=iris"))
    assert "Where the neighbours disagree" not in [view["label"] for view in views]
    metrics = json.loads((own["logs"] / "iris_uncoloured" / "metrics.json").read_text())["embeddings"]
    assert "knn_accuracy" not in metrics["iris"] and 0.9 < metrics["iris_tsne_2d"]["trustworthiness"] <= 1
    assert not list((own["logs"] / "iris_uncoloured").glob("confusions_*.png"))


def test_every_run_is_served_and_the_checker_finds_nothing(own, server):
    assert sorted(json.loads(server.get("/data/plugin/projector/runs"))) == sorted(COLOUR_COLUMN)
    result = subprocess.run([sys.executable, str(REPO / "tools" / "check_projector_logs.py"), str(own["logs"])],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "4 runs, 4 fine, 0 with errors, 0 warnings" in result.stdout, result.stdout


def test_the_photos_sprite_is_rgb_and_the_digits_8x8_grey(own, server):
    info = json.loads(server.get("/data/plugin/projector/info?run=photos"))["embeddings"][0]
    assert info["sprite"]["singleImageDim"] == [32, 32]
    def sprite_of(run: str) -> np.ndarray:
        png = server.get(f"/data/plugin/projector/sprite_image?run={run}&name={tensor_name(run)}")
        return np.asarray(Image.open(io.BytesIO(png)))

    sprite = sprite_of("photos")
    images = np.load(own["data"]["photos"] / "images.npy")
    assert sprite.shape == (23 * 32, 23 * 32, 3)  # ceil(sqrt(520)) = 23
    assert np.array_equal(sprite[32:64, 64:96], images[23 + 2])  # never inverted: as given
    digits = sprite_of("digits")
    from sklearn.datasets import load_digits

    first = 255 - (load_digits().images[0] * 15).astype(np.uint8)  # the README's call inverts the strokes
    assert digits.ndim == 2 and np.array_equal(digits[:8, :8], first)


def test_the_command_ends_with_the_measures_and_how_to_serve_them(own):
    out = own["stdout"]["iris"]
    assert "| `vectors` | 4 |" in out and "| `vectors_tsne_2d` | 2 |" in out
    assert f"./run_tensorboard.sh --logdir {own['logs']}" in out
    assert "cosine distance" in own["stdout"]["photos"]


def test_in_chromium_the_species_legend_and_the_photos_colour_thumbnails(own, server, browser):
    skip_without_browser()
    from tutorial.classes import classes_of

    flowers = served = None
    with ProjectorPage(browser, server.url) as projector:
        projector.choose_run("iris")
        assert projector.wait_for_status("Points: 150 | Dimension: 4") == "Points: 150 | Dimension: 4"
        projector.open_bookmark("t-SNE (converged offline), coloured by species")
        projector.settle(1000)
        legend, colours = projector.legend(), projector.legend_colours()
        projector.choose_run("photos")
        assert projector.wait_for_status("Points: 520 | Dimension: 3072") == "Points: 520 | Dimension: 3072"
        projector.open_bookmark("t-SNE (converged offline), coloured by photo")
        projector.pause_tsne()
        projector.color_by("No color map")  # the thumbnails as they are, untinted
        projector.settle(2000)
        served = np.asarray(Image.open(io.BytesIO(projector.scatter_png())).convert("RGB")).astype(int)
        assert projector.error_message() == ""
    assert legend == {"setosa": 50, "versicolor": 50, "virginica": 50}
    # Our pictures give each species the colour the Projector gives it.
    species = list(metadata_table((own["logs"] / "iris" / "metadata.tsv").read_text().splitlines())["species"])
    ours = classes_of({"species": species}, "species", len(species))
    flowers = {name: tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
               for name, colour in zip(ours.names, ours.colours, strict=True)}
    assert colours == flowers
    # The flower's petals are orange: only an RGB thumbnail can put that colour on the map.
    r, g, b = served[..., 0], served[..., 1], served[..., 2]
    petals = (r > 190) & (g > 110) & (g < 200) & (b < 140) & (r - b > 90)
    assert petals.sum() > 200
