"""tools/check_projector_logs.py: a table of broken Projector folders, each served by a real TensorBoard too.

Every row breaks a good run in one way a user meets and expects the checker's
one error line and exit 1 (three traps: one warning, exit 0). Where the
problem can be seen over HTTP (the run missing, an error status, rows the
user did not write), a real TensorBoard shows that it serves it broken. Runs
written by both lessons, by the TensorFlow projector tutorial's code and by
PyTorch's ``add_embedding`` must come out clean.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.error
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, TensorBoardServer, make_digits
from google.protobuf import text_format
from PIL import Image
from tensorboard.plugins.projector import ProjectorConfig

from mnist_tsne import projector_bookmark, write_projector_logs

CHECKER = REPO / "tools" / "check_projector_logs.py"
N = 30


def check(logdir: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(CHECKER), str(logdir)], capture_output=True, text=True, timeout=60)


def write_good_run(run_dir: Path) -> None:
    """N points with two metadata columns, digit thumbnails and a bookmark: a run with nothing wrong."""
    images, labels = make_digits(N)
    vectors = np.random.default_rng(0).normal(size=(N, 8))
    write_projector_logs(run_dir, {"vectors": vectors},
                         {"word": [f"w{i}" for i in range(N)], "count": labels.tolist()}, 255 - images,
                         bookmarks={"vectors": [projector_bookmark("view", "pca", vectors[:, :3])]})


# Breakages -----------------------------------------------------------------------------------------------


def edit_config(run_dir: Path, change: Callable) -> None:
    config = text_format.Parse((run_dir / "projector_config.pbtxt").read_text(), ProjectorConfig())
    change(config.embeddings[0])
    (run_dir / "projector_config.pbtxt").write_text(text_format.MessageToString(config))


def save_checkpoint(run_dir: Path, tensors: dict[str, np.ndarray], prefix: str) -> None:
    import tensorflow as tf

    for old in run_dir.glob("embeddings.ckpt-*"):
        old.unlink()
    tf.raw_ops.SaveV2(prefix=str(run_dir / prefix), tensor_names=list(tensors), shape_and_slices=[""] * len(tensors),
                      tensors=[np.asarray(t, np.float32) for t in tensors.values()])
    (run_dir / "checkpoint").write_text(f'model_checkpoint_path: "{prefix}"\n')


def no_event_file(run_dir: Path) -> None:
    for event_file in run_dir.glob("events.out.tfevents.*"):
        event_file.unlink()


def config_does_not_parse(run_dir: Path) -> None:
    (run_dir / "projector_config.pbtxt").write_text('embeddings { tensor_name: "vectors"\n')


def tensor_not_in_checkpoint(run_dir: Path) -> None:
    edit_config(run_dir, lambda embedding: setattr(embedding, "tensor_name", "vectorz"))


def tf_checkpoint_keys(run_dir: Path) -> None:
    """Saved as the TensorFlow tutorial saves, but named in the config by the variable's own name."""
    import tensorflow as tf

    for old in run_dir.glob("embeddings.ckpt-*"):
        old.unlink()
    vectors = tf.Variable(np.random.default_rng(0).normal(size=(N, 8)).astype(np.float32))
    tf.train.Checkpoint(vectors=vectors).save(str(run_dir / "embedding.ckpt"))


def ragged_tensor_tsv(run_dir: Path) -> None:
    rows = ["\t".join(["0.5"] * (4 if i == 7 else 5)) for i in range(N)]
    (run_dir / "tensor.tsv").write_text("\n".join(rows) + "\n")
    edit_config(run_dir, lambda embedding: setattr(embedding, "tensor_path", "tensor.tsv"))


def two_dimensions(run_dir: Path) -> None:
    save_checkpoint(run_dir, {"vectors": np.random.default_rng(0).normal(size=(N, 2))}, "embeddings.ckpt-2")
    edit_config(run_dir, lambda embedding: embedding.ClearField("bookmarks_path"))


def missing_checkpoint(run_dir: Path) -> None:
    (run_dir / "checkpoint").write_text('model_checkpoint_path: "embeddings.ckpt-999"\n')


def metadata_row_missing(run_dir: Path) -> None:
    lines = (run_dir / "metadata.tsv").read_text().splitlines()
    (run_dir / "metadata.tsv").write_text("\n".join(lines[:-1]) + "\n")


def one_column_with_header(run_dir: Path) -> None:
    (run_dir / "metadata.tsv").write_text("word\n" + "".join(f"w{i}\n" for i in range(N)))


def tab_inside_a_value(run_dir: Path) -> None:
    lines = (run_dir / "metadata.tsv").read_text().splitlines()
    lines[5] = lines[5].replace("w4", "w\t4")
    (run_dir / "metadata.tsv").write_text("\n".join(lines) + "\n")


def metadata_outside_the_run(run_dir: Path) -> None:
    shutil.copy(run_dir / "metadata.tsv", run_dir.parent / "shared_metadata.tsv")
    edit_config(run_dir, lambda embedding: setattr(embedding, "metadata_path", "../shared_metadata.tsv"))


def sprite_missing(run_dir: Path) -> None:
    (run_dir / "sprite.png").unlink()


def sprite_too_large(run_dir: Path) -> None:
    Image.new("L", (8400, 8400), 255).save(run_dir / "sprite.png")
    edit_config(run_dir, lambda embedding: (embedding.sprite.ClearField("single_image_dim"),
                                            embedding.sprite.single_image_dim.extend([1400, 1400])))


def thumbnail_size_wrong(run_dir: Path) -> None:
    edit_config(run_dir, lambda embedding: (embedding.sprite.ClearField("single_image_dim"),
                                            embedding.sprite.single_image_dim.extend([56, 56])))


def grid_not_square(run_dir: Path) -> None:
    images, _ = make_digits(N)
    # 6 columns, 5 rows: what a sprite tool that fills rows of ceil(sqrt(N)) makes.
    grid = (255 - images).reshape(5, 6, 28, 28).transpose(0, 2, 1, 3).reshape(5 * 28, 6 * 28)
    Image.fromarray(grid).save(run_dir / "sprite.png")


def bookmark_not_json(run_dir: Path) -> None:
    (run_dir / "bookmarks_vectors.json").write_text('[{"label": "view", ')


def bookmark_field_missing(run_dir: Path) -> None:
    views = json.loads((run_dir / "bookmarks_vectors.json").read_text())
    del views[0]["selectedLabelOption"]
    (run_dir / "bookmarks_vectors.json").write_text(json.dumps(views))


def bookmark_one_point_short(run_dir: Path) -> None:
    views = json.loads((run_dir / "bookmarks_vectors.json").read_text())
    views[0]["projections"] = views[0]["projections"][:-1]
    (run_dir / "bookmarks_vectors.json").write_text(json.dumps(views))


def checkpoint_name_reused(run_dir: Path) -> None:
    import tensorflow as tf

    tensors = tf.train.load_checkpoint(str(run_dir))
    save_checkpoint(run_dir, {"vectors": tensors.get_tensor("vectors")}, "model.ckpt")


def training_checkpoint_hidden(run_dir: Path) -> None:
    # As copying a writer into a training folder does: the training's checkpoint stays, its state file goes.
    import tensorflow as tf

    tf.train.Checkpoint(weights=tf.Variable(tf.ones([3, 4]))).write(str(run_dir / "ckpt-7"))


def over_100000_points(run_dir: Path) -> None:
    for name in ("metadata.tsv", "sprite.png", "bookmarks_vectors.json"):
        (run_dir / name).unlink()
    save_checkpoint(run_dir, {"vectors": np.zeros((100_001, 3))}, "embeddings.ckpt-3")
    edit_config(run_dir, lambda embedding: (embedding.ClearField("metadata_path"), embedding.ClearField("sprite"),
                                            embedding.ClearField("bookmarks_path")))


# What TensorBoard serves for each -------------------------------------------------------------------------


def get(server: TensorBoardServer, route: str, run: str, **params) -> bytes | int:
    """The body TensorBoard's Projector serves at ``route`` for ``run``, or the HTTP error status."""
    query = "&".join(f"{key}={value}" for key, value in {"run": run, **params}.items())
    try:
        return server.get(f"/data/plugin/projector/{route}?{query}")
    except urllib.error.HTTPError as error:
        return error.code


def info(server, run) -> dict:
    return {e["tensorName"]: e for e in json.loads(get(server, "info", run))["embeddings"]}


def metadata_rows(server, run) -> list[str]:
    return get(server, "metadata", run, name="vectors").decode().splitlines()


def tensor_rows(server, run, name="vectors", dims=8) -> int:
    body = get(server, "tensor", run, name=name, num_rows=100_000)
    return body if isinstance(body, int) else len(np.frombuffer(body, np.float32)) // dims


@dataclass
class Case:
    name: str
    breakage: Callable[[Path], None]
    expected: str  # in the checker's line
    served_broken: Callable | None  # (server, run) -> True when TensorBoard serves it broken; None: not visible
    alone: bool = False  # it breaks the Projector for every run: served by a TensorBoard of its own


def runs(server, run) -> list[str]:
    return json.loads(get(server, "runs", run))


# The table of broken folders: each leaves the tab blank or wrong, and the checker exits 1.
BROKEN = [
    Case("no_event_file", no_event_file, "holds no events.out.tfevents.* file",
         lambda server, run: run not in runs(server, run)),
    Case("config_does_not_parse", config_does_not_parse, "does not parse",
         lambda server, run: get(server, "runs", run) == 500, alone=True),
    Case("tensor_not_in_checkpoint", tensor_not_in_checkpoint, "tensor 'vectorz' is not in checkpoint",
         lambda server, run: "tensorShape" not in info(server, run)["vectorz"]
         and isinstance(get(server, "tensor", run, name="vectorz"), int)),
    Case("tf_checkpoint_keys", tf_checkpoint_keys, "set tensor_name to 'vectors/.ATTRIBUTES/VARIABLE_VALUE'",
         lambda server, run: "vectors/.ATTRIBUTES/VARIABLE_VALUE" in info(server, run)
         and "tensorShape" not in info(server, run)["vectors"]),
    Case("ragged_tensor_tsv", ragged_tensor_tsv, "rows of [4, 5] values",
         lambda server, run: get(server, "runs", run) == 500, alone=True),
    Case("two_dimensions", two_dimensions, "tensor 'vectors' has 2 dimension(s)", None),
    Case("missing_checkpoint", missing_checkpoint, "checkpoint 'embeddings.ckpt-999' has no",
         lambda server, run: run not in runs(server, run)),
    Case("metadata_row_missing", metadata_row_missing, f"{N - 1} rows for the {N} points",
         lambda server, run: len(metadata_rows(server, run)) == N),  # header + N - 1
    Case("one_column_with_header", one_column_with_header, "one column takes no header row",
         lambda server, run: len(rows := metadata_rows(server, run)) == N + 1 and "\t" not in rows[0]),
    Case("tab_inside_a_value", tab_inside_a_value, "row 5 has 3 fields, the header 2",
         lambda server, run: metadata_rows(server, run)[5].count("\t") == 2),
    Case("metadata_outside_the_run", metadata_outside_the_run, "leads outside the run folder",
         lambda server, run: isinstance(get(server, "metadata", run, name="vectors"), int)),
    Case("sprite_missing", sprite_missing, "sprite 'sprite.png' does not exist",
         lambda server, run: isinstance(get(server, "sprite_image", run, name="vectors"), int)),
    Case("sprite_too_large", sprite_too_large, "is 8400 x 8400 px", None),
    Case("thumbnail_size_wrong", thumbnail_size_wrong, "holds 3 x 3 thumbnails of 56 x 56 px, fewer than", None),
    Case("grid_not_square", grid_not_square, "is a grid of 6 columns and 5 rows", None),
    Case("bookmark_not_json", bookmark_not_json, "is not JSON", None),
    Case("bookmark_field_missing", bookmark_field_missing, "bookmark 'view' lacks selectedLabelOption", None),
    Case("bookmark_one_point_short", bookmark_one_point_short, f"places {N - 1} points", None),
]
# Traps: the run shows, but not as the user may think; a warning, and exit 0.
TRAPS = [
    Case("checkpoint_name_reused", checkpoint_name_reused, "gets the same name on every write", None),
    Case("training_checkpoint_hidden", training_checkpoint_hidden, "not the folder's other checkpoint 'ckpt-7': "
         "a training run here no longer finds its own", None),
    Case("over_100000_points", over_100000_points, "the Projector loads only the first 100,000",
         lambda server, run: tensor_rows(server, run, dims=3) == 100_000),
]
CASES = BROKEN + TRAPS


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    """Each case's broken run, alone under a logs folder of its own, and the checker's answer for it."""
    root = tmp_path_factory.mktemp("broken")
    good = root / "good"
    write_good_run(good)
    found = {}
    for case in CASES:
        run_dir = root / case.name / "logs" / case.name
        shutil.copytree(good, run_dir)
        case.breakage(run_dir)
        found[case.name] = check(run_dir.parent)
    return root, found


def said(result: subprocess.CompletedProcess, level: str) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith(f"{level}: ")]


@pytest.mark.parametrize("case", BROKEN, ids=[case.name for case in BROKEN])
def test_each_broken_folder_gets_its_one_error_line_and_exit_1(broken, case):
    result = broken[1][case.name]
    assert result.returncode == 1, result.stdout + result.stderr
    errors = said(result, "error")
    assert len(errors) == 1 and case.expected in errors[0], result.stdout
    assert result.stdout.splitlines()[-1].startswith("Projector check of ")


@pytest.mark.parametrize("case", TRAPS, ids=[case.name for case in TRAPS])
def test_each_trap_gets_its_one_warning_and_exit_0(broken, case):
    result = broken[1][case.name]
    assert result.returncode == 0 and said(result, "error") == [], result.stdout + result.stderr
    warnings = said(result, "warning")
    assert len(warnings) == 1 and case.expected in warnings[0], result.stdout


@pytest.fixture(scope="module")
def served(broken):
    """One TensorBoard serving every case's run side by side, and one per case that breaks them all."""
    root = broken[0]
    together = root / "together"
    for case in CASES:
        if not case.alone:
            shutil.copytree(root / case.name / "logs", together, dirs_exist_ok=True)
    shutil.copy(root / "metadata_outside_the_run" / "logs" / "shared_metadata.tsv", together)
    servers = {None: TensorBoardServer(together)}
    servers |= {case.name: TensorBoardServer(root / case.name / "logs") for case in CASES if case.alone}
    yield servers
    for server in servers.values():
        server.close()


@pytest.mark.slow
@pytest.mark.parametrize("case", [case for case in CASES if case.served_broken], ids=lambda case: case.name)
def test_tensorboard_really_serves_each_broken_folder_broken(served, case):
    server = served[case.name if case.alone else None]
    assert case.served_broken(server, case.name)


@pytest.mark.slow
def test_the_good_run_is_served_whole_and_checks_clean(broken, served):
    good_logs = broken[0] / "good_logs"
    shutil.copytree(broken[0] / "good", good_logs / "good")
    result = check(good_logs)
    assert result.returncode == 0 and result.stdout.splitlines() == [
        f"Projector check of {good_logs}: 1 run, 1 fine, 0 with errors, 0 warnings."]
    # Each symptom above is the breakage's own: the good run, served, shows none of them.
    def shows(case: Case, server: TensorBoardServer) -> bool:
        try:
            return case.served_broken(server, "good")
        except (KeyError, IndexError, ValueError, TypeError):  # e.g. no tensor 'vectorz' to look at
            return False

    server = TensorBoardServer(good_logs)
    try:
        shown = [case.name for case in CASES if case.served_broken and not case.alone and shows(case, server)]
    finally:
        server.close()
    assert shown == [], shown

@pytest.mark.parametrize(("logdir", "message"), [
    ("{tmp}/nowhere", "is not a folder"),
    ("{tmp}", "holds no projector_config.pbtxt"),
])
def test_a_bad_logdir_is_exit_2_with_one_line(tmp_path, logdir, message):
    result = check(Path(logdir.format(tmp=tmp_path)))
    assert result.returncode == 2 and result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and message in result.stderr


# Clean runs from every writer ----------------------------------------------------------------------------


@pytest.mark.slow
def test_runs_of_both_lessons_are_clean(lesson_1_run, lesson_2_run, tmp_path):
    logs = tmp_path / "logs"  # the test session's runs of both lessons, side by side
    shutil.copytree(lesson_1_run[0], logs / "mnist")
    shutil.copytree(lesson_2_run[0], logs / "autoencoder")
    result = check(logs)
    assert result.returncode == 0 and result.stdout.splitlines() == [
        f"Projector check of {logs}: 2 runs, 2 fine, 0 with errors, 0 warnings."], result.stdout


@pytest.mark.slow
def test_the_tensorflow_tutorials_run_is_clean_and_its_tensor_name_explained(tmp_path):
    """The TensorFlow projector tutorial's writing cell, with made-up word vectors: served as --logdir itself."""
    import tensorflow as tf
    from tensorboard.plugins import projector

    log_dir = tmp_path / "imdb"
    log_dir.mkdir()
    (log_dir / "metadata.tsv").write_text("".join(f"word{i}\n" for i in range(50)))
    weights = tf.Variable(np.random.default_rng(0).normal(size=(50, 16)).astype(np.float32))
    tf.train.Checkpoint(embedding=weights).save(str(log_dir / "embedding.ckpt"))
    config = projector.ProjectorConfig()
    embedding = config.embeddings.add()
    embedding.tensor_name = "embedding/.ATTRIBUTES/VARIABLE_VALUE"
    embedding.metadata_path = "metadata.tsv"
    projector.visualize_embeddings(str(log_dir), config)

    result = check(log_dir)
    assert result.returncode == 0, result.stdout
    assert "note: " in result.stdout and "tf.train.Checkpoint's key for the variable 'embedding'" in result.stdout
    # Served as the tutorial serves it (tensorboard --logdir logs/imdb-example/): that is the name shown.
    server = TensorBoardServer(log_dir)
    try:
        shapes = {e["tensorName"]: e.get("tensorShape") for e in info(server, ".").values()}
    finally:
        server.close()
    assert shapes["embedding/.ATTRIBUTES/VARIABLE_VALUE"] == [50, 16]


def test_a_pytorch_add_embedding_run_is_clean(tmp_path):
    torch = pytest.importorskip("torch", reason="torch is not installed here (CI installs its CPU wheel: "
                                               "pip install torch==2.13.0+cpu)")
    from torch.utils.tensorboard import SummaryWriter

    images, labels = make_digits(40)
    writer = SummaryWriter(str(tmp_path / "logs" / "torch"))
    writer.add_embedding(torch.from_numpy(images.reshape(40, -1) / 255.0), metadata=labels.tolist(),
                         label_img=torch.from_numpy(images[:, None] / 255.0), tag="digits")
    writer.close()
    result = check(tmp_path / "logs")
    assert result.returncode == 0 and result.stdout.splitlines() == [
        f"Projector check of {tmp_path / 'logs'}: 1 run, 1 fine, 0 with errors, 0 warnings."], result.stdout


@pytest.mark.slow
def test_the_launcher_says_what_is_wrong_before_serving(broken, tmp_path):
    from projector_page import free_port, get_when_up

    logs = tmp_path / "logs"
    shutil.copytree(broken[0] / "sprite_missing" / "logs", logs)
    process = subprocess.Popen(["bash", str(REPO / "run_tensorboard.sh"), "--logdir", str(logs),
                                "--port", str(free_port())],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first_line = process.stderr.readline()
        assert first_line.startswith("error: ") and "sprite 'sprite.png' does not exist" in first_line
        assert process.stderr.readline().startswith("Projector check of ")
        url = process.stdout.readline().split("http://", 1)[1].split("/#projector")[0]
        assert json.loads(get_when_up(f"http://{url}/data/plugin/projector/runs", process)) == ["sprite_missing"]
    finally:
        process.terminate()
        process.communicate(timeout=20)
