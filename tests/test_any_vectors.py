"""write_projector_logs with anyone's vectors, as a real TensorBoard serves them to the Projector.

Four runs a user might bring: vectors alone; word vectors with one text
column; colour pictures (32 x 32 x 3); and pictures wider than tall. Then the
README's "Your own vectors" snippet, executed exactly as it is written there,
over HTTP and in Chromium: the Projector loads its points and finds a word.
"""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest
from conftest import REPO, TensorBoardServer
from PIL import Image
from projector_page import ProjectorPage, skip_without_browser

from mnist_tsne import write_projector_logs

RNG = np.random.default_rng(7)
WORDS = [f"word{i}" for i in range(30)]
COLOUR = RNG.integers(0, 256, (20, 32, 32, 3), dtype=np.uint8)
WIDE = RNG.integers(0, 256, (10, 12, 30), dtype=np.uint8)  # 12 px high, 30 px wide
RUNS = {
    "vectors_only": {"embeddings": {"vectors": RNG.normal(size=(40, 16))}},
    "words": {"embeddings": {"word_vectors": RNG.normal(size=(30, 8))}, "metadata": {"word": WORDS}},
    "colour": {"embeddings": {"features": RNG.normal(size=(20, 12))}, "images": COLOUR,
               "metadata": {"kind": ["cat", "dog"] * 10, "score": np.arange(20) / 10}},
    "wide": {"embeddings": {"features": RNG.normal(size=(10, 5))}, "images": WIDE},
}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The four runs, written by write_projector_logs into one logs folder, and a TensorBoard serving it."""
    logs = tmp_path_factory.mktemp("any_vectors") / "logs"
    for run, arguments in RUNS.items():
        write_projector_logs(logs / run, **arguments)
    server = TensorBoardServer(logs)
    yield server
    server.close()


def embedding_info(server: TensorBoardServer, run: str) -> dict:
    """The one embedding the Projector's info route lists for ``run``."""
    (info,) = json.loads(server.get(f"/data/plugin/projector/info?run={run}"))["embeddings"]
    return info


def served_tensor(server: TensorBoardServer, run: str, name: str, shape: list[int]) -> np.ndarray:
    return np.frombuffer(server.get(f"/data/plugin/projector/tensor?run={run}&name={name}"), np.float32).reshape(shape)


def served_sprite(server: TensorBoardServer, run: str, name: str) -> np.ndarray:
    png = server.get(f"/data/plugin/projector/sprite_image?run={run}&name={name}")
    return np.asarray(Image.open(io.BytesIO(png)))


@pytest.mark.slow
def test_every_run_is_listed(served):
    assert sorted(json.loads(served.get("/data/plugin/projector/runs"))) == sorted(RUNS)


@pytest.mark.slow
def test_vectors_alone_are_served_with_no_metadata_or_sprite(served):
    info = embedding_info(served, "vectors_only")
    assert info["tensorName"] == "vectors" and info["tensorShape"] == [40, 16]
    assert "metadataPath" not in info and "sprite" not in info
    vectors = RUNS["vectors_only"]["embeddings"]["vectors"]
    assert np.allclose(served_tensor(served, "vectors_only", "vectors", [40, 16]), vectors, atol=1e-6)


@pytest.mark.slow
def test_one_text_column_is_served_without_a_header_one_row_per_point(served):
    info = embedding_info(served, "words")
    assert info["metadataPath"] == "metadata.tsv" and info["tensorShape"] == [30, 8]
    rows = served.get("/data/plugin/projector/metadata?run=words&name=word_vectors").decode().splitlines()
    assert rows == WORDS  # the Projector would read a header "word" as a 31st point


@pytest.mark.slow
def test_colour_pictures_make_an_rgb_sprite_in_the_right_grid(served):
    info = embedding_info(served, "colour")
    assert info["sprite"]["singleImageDim"] == [32, 32]
    sprite = served_sprite(served, "colour", "features")
    assert sprite.shape == (5 * 32, 5 * 32, 3)  # ceil(sqrt(20)) = 5 columns and rows
    for i in (0, 7, 19):
        row, col = divmod(i, 5)
        assert np.array_equal(sprite[row * 32:(row + 1) * 32, col * 32:(col + 1) * 32], COLOUR[i]), i
    rows = served.get("/data/plugin/projector/metadata?run=colour&name=features").decode().splitlines()
    assert rows[:3] == ["kind\tscore", "cat\t0.0", "dog\t0.1"] and len(rows) == 21


@pytest.mark.slow
def test_wide_pictures_keep_their_shape_width_first_in_the_config(served):
    info = embedding_info(served, "wide")
    assert info["sprite"]["singleImageDim"] == [30, 12]  # width, then height
    sprite = served_sprite(served, "wide", "features")
    assert sprite.shape == (4 * 12, 4 * 30)  # ceil(sqrt(10)) = 4
    assert np.array_equal(sprite[2 * 12:3 * 12, 1 * 30:2 * 30], WIDE[9])  # point 9: row 2, column 1


# The README's snippet ---------------------------------------------------------------------------------


def readme_snippet() -> str:
    """The first python block under the README's "Your own vectors" heading, exactly as written."""
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Your own vectors", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S)[1]


@pytest.fixture(scope="module")
def snippet_run(tmp_path_factory):
    """Run the snippet in an empty folder, as a user would; return the folder and the snippet's variables."""
    folder = tmp_path_factory.mktemp("snippet")
    code = readme_snippet()
    assert len(code.splitlines()) <= 15
    namespace: dict = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - the README's own code
    return folder, namespace


def test_the_readme_snippet_writes_its_vectors_and_words(snippet_run):
    import tensorflow as tf

    folder, namespace = snippet_run
    (run,) = [path.parent for path in (folder / "logs").rglob("projector_config.pbtxt")]
    assert tf.train.load_checkpoint(str(run)).get_tensor("word_vectors") == pytest.approx(namespace["vectors"])
    assert (run / "metadata.tsv").read_text().splitlines() == namespace["words"]  # one column: no header


@pytest.fixture(scope="module")
def snippet_server(snippet_run):
    """A TensorBoard serving the logs folder the README's snippet wrote."""
    server = TensorBoardServer(snippet_run[0] / "logs")
    yield server
    server.close()


@pytest.mark.slow
def test_the_readme_snippet_writes_a_run_the_projector_serves(snippet_run, snippet_server):
    _, namespace = snippet_run
    vectors, words = np.asarray(namespace["vectors"]), namespace["words"]
    (run,) = json.loads(snippet_server.get("/data/plugin/projector/runs"))
    info = embedding_info(snippet_server, run)
    assert info["tensorShape"] == list(vectors.shape) and "sprite" not in info
    served = served_tensor(snippet_server, run, info["tensorName"], info["tensorShape"])
    metadata = snippet_server.get(f"/data/plugin/projector/metadata?run={run}&name={info['tensorName']}")
    assert np.allclose(served, vectors, atol=1e-6)
    assert metadata.decode().splitlines() == words


@pytest.mark.slow
def test_the_readme_snippet_in_the_browser_shows_every_point_and_finds_a_word(snippet_run, snippet_server, browser):
    skip_without_browser()
    _, namespace = snippet_run
    vectors, words = np.asarray(namespace["vectors"]), namespace["words"]
    snippet_server.get("/data/plugin/projector/runs")  # wait until it answers
    with ProjectorPage(browser, snippet_server.url) as projector:
        expected = f"Points: {len(words)} | Dimension: {vectors.shape[1]}"
        assert projector.wait_for_status(expected) == expected
        assert projector.label_by() == "label"  # one column: the Projector calls it "label"
        found = projector.search(words[1])
        card = projector.point_card()
        neighbours = projector.neighbours()
        assert projector.error_message() == ""
    # Searching a word selects its point: the card names it, and its nearest points are listed by word.
    assert found == "1 matches." and card.split("\n")[0] == words[1]
    assert neighbours and set(neighbours) <= set(words) - {words[1]}
