"""Why is my Projector blank? Check every Embedding Projector run under a folder, reading only its files.

    python tools/check_projector_logs.py logs

Works on any Projector folder: written by this project's ``write_projector_logs``,
PyTorch's ``SummaryWriter.add_embedding``, or the TensorFlow projector
tutorial's ``tf.train.Checkpoint``. Every run under LOGDIR that has a
``projector_config.pbtxt`` is checked the way TensorBoard 2.21 reads it: the
event file that lists it, the config, each tensor in its checkpoint or TSV
file, the metadata rows, the sprite, the bookmarks and the paths to them. Each
problem is one line naming the file, what the Projector will do, and the fix;
then one summary line. Nothing is imported from TensorFlow: a checkpoint's
tensor names and shapes are read from its ``.index`` file directly.

Exit status: 0 when no run has an error (warnings allowed), 1 when one has,
2 when LOGDIR is not a folder or holds no Projector config.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path

CONFIG_NAME = "projector_config.pbtxt"
MAX_SPRITE_SIDE = 8192  # WebGL's texture limit, which the Projector enforces
MAX_POINTS = 100_000  # the Projector asks for at most this many rows (num_rows=1e5)
TABLE_MAGIC = struct.pack("<Q", 0xDB4775248B80FB57)  # the last 8 bytes of a checkpoint's .index file
# What TensorBoard 2.21's Projector reads from every bookmark when one is clicked.
BOOKMARK_FIELDS = ("projections", "selectedProjection", "pcaComponentDimensions", "tSNEis3d", "umapIs3d",
                   "tSNEIteration", "tSNEPerplexity", "tSNELearningRate", "umapNeighbors", "umapMinDist",
                   "selectedColorOptionName", "forceCategoricalColoring", "selectedLabelOption",
                   "customSelectedSearchByMetadataOption", "selectedPoints", "filteredPoints")


@dataclass
class Finding:
    level: str  # "error": the tab is blank or wrong; "warning": a trap; "note": what the Projector will show
    path: Path
    text: str


@dataclass
class Run:
    folder: Path
    findings: list[Finding] = field(default_factory=list)

    def say(self, level: str, path: Path, text: str) -> None:
        self.findings.append(Finding(level, path, text))

    def count(self, level: str) -> int:
        return sum(finding.level == level for finding in self.findings)


# A checkpoint's .index file: a LevelDB-style table, tensor name -> BundleEntryProto ----------------


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def _fields(message: bytes):
    """(field number, value) of a protobuf message: ints for varints, bytes otherwise."""
    pos = 0
    while pos < len(message):
        tag, pos = _varint(message, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = _varint(message, pos)
        elif wire == 2:
            size, pos = _varint(message, pos)
            value, pos = message[pos:pos + size], pos + size
        else:
            size = {1: 8, 5: 4}[wire]
            value, pos = message[pos:pos + size], pos + size
        yield number, value


def _block(data: bytes, offset: int, size: int):
    """The (key, value) entries of one table block."""
    block = data[offset:offset + size]
    restarts = struct.unpack_from("<I", block, len(block) - 4)[0]
    end, pos, key = len(block) - 4 - 4 * restarts, 0, b""
    while pos < end:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        size_of_value, pos = _varint(block, pos)
        key = key[:shared] + block[pos:pos + unshared]
        pos += unshared
        yield key, block[pos:pos + size_of_value]
        pos += size_of_value


def checkpoint_shapes(index_file: Path) -> dict[str, list[int]]:
    """Tensor name -> shape, from a TensorFlow checkpoint's ``.index`` file; ValueError if it is not one."""
    data = index_file.read_bytes()
    if len(data) < 48 or data[-8:] != TABLE_MAGIC:
        raise ValueError("not a TensorFlow checkpoint index")
    footer = data[-48:]
    pos = _varint(footer, _varint(footer, 0)[1])[1]  # past the metaindex block's offset and size
    index_offset, pos = _varint(footer, pos)
    index_size, _ = _varint(footer, pos)
    shapes = {}
    for _, handle in _block(data, index_offset, index_size):
        offset, pos = _varint(handle, 0)
        size, _ = _varint(handle, pos)
        if data[offset + size] != 0:
            raise ValueError("a compressed checkpoint index, which this checker cannot read")
        for key, entry in _block(data, offset, size):
            if key:  # the empty key holds the bundle's header
                shape_proto = next((value for number, value in _fields(entry) if number == 2), b"")
                shapes[key.decode()] = [next((v for n, v in _fields(dim) if n == 1), 0)
                                        for number, dim in _fields(shape_proto) if number == 2]
    return shapes


# The checks, in the order TensorBoard meets the files ---------------------------------------------------


def inside(run: Run, config_file: Path, asset: str, what: str) -> Path | None:
    """The file an asset path in the config names, or None (said) when TensorBoard would refuse it."""
    config_dir = config_file.parent.resolve()
    path = (config_dir / os.path.expanduser(asset)).resolve()
    if os.path.commonpath([config_dir, path]) != str(config_dir):
        run.say("error", config_file, f"{what} path {asset!r} leads outside the run folder: TensorBoard refuses "
                "to serve it; put the file in the run folder and give a path relative to it")
        return None
    if not path.is_file():
        run.say("error", config_file, f"{what} {asset!r} does not exist ({path}): write it, or fix the path "
                "(relative to the run folder)")
        return None
    return Path(os.path.normpath(config_file.parent / os.path.expanduser(asset)))  # as the user would name it


def latest_checkpoint(run: Run, config, config_file: Path) -> tuple[str, dict[str, list[int]]] | None:
    """The checkpoint TensorBoard will read for this run, and its tensors' shapes.

    None when the run has no checkpoint; ``("", {})`` when it has one that cannot be read (said here).
    """
    state = config_file.parent / "checkpoint"
    if config.model_checkpoint_path:
        prefix = config.model_checkpoint_path
        if not Path(prefix).is_absolute():
            run.say("warning", config_file, f"model_checkpoint_path {prefix!r} is relative: TensorBoard reads it "
                    "from the folder it was started in, not the run's; leave it empty and keep a 'checkpoint' "
                    "state file in the run folder")
    elif state.is_file():
        text = state.read_text(errors="replace")
        match = re.search(r'^model_checkpoint_path:\s*"(.*)"', text, re.M)
        if not match:
            run.say("error", state, "names no model_checkpoint_path: the Projector finds no tensors; "
                    "write the checkpoint again (or the line model_checkpoint_path: \"<prefix>\")")
            return "", {}
        prefix = match[1]
        # Projector files written into a training folder replace its state file: the training's own
        # checkpoints are still there, but tf.train.latest_checkpoint no longer finds them.
        named = {Path(path).name for path in re.findall(r'checkpoint_paths?:\s*"(.*)"', text)}
        if others := sorted(index.name.removesuffix(".index") for index in state.parent.glob("*.index")
                            if index.name.removesuffix(".index") not in named):
            run.say("warning", state, f"names {prefix!r}, not the folder's other checkpoint {others[-1]!r}: "
                    "a training run here no longer finds its own with tf.train.latest_checkpoint; write the "
                    "projector files to a folder of their own")
    else:
        return None
    path = Path(prefix) if Path(prefix).is_absolute() else config_file.parent / prefix
    index = path.with_name(path.name + ".index")
    if not index.is_file():
        run.say("error", state if state.is_file() else config_file, f"checkpoint {prefix!r} has no {index.name}: "
                "TensorBoard skips the run; write the checkpoint again, or point the state file at one that exists")
        return "", {}
    try:
        return prefix, checkpoint_shapes(index)
    except (ValueError, IndexError, KeyError, struct.error) as err:
        run.say("error", index, f"cannot be read ({err}): TensorBoard skips the run; write the checkpoint again")
        return "", {}


def tsv_shape(run: Run, path: Path) -> list[int] | None:
    """[rows, columns] of a tensor TSV file, or None (said) when TensorBoard could not read it."""
    widths = set()
    rows = 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line:
                continue
            values = line.split("\t")
            try:
                [float(value) for value in values]
            except ValueError:
                run.say("error", path, f"line {number} holds a value that is not a number: TensorBoard fails "
                        "to load the tensor; write numbers only, tab-separated, one point per line")
                return None
            widths.add(len(values))
            rows += 1
    if len(widths) != 1:
        run.say("error", path, f"rows of {sorted(widths)} values: the tensor cannot be loaded; every point "
                "needs the same number of tab-separated values" if widths else "is empty: no points to show")
        return None
    return [rows, widths.pop()]


def check_tensor(run: Run, where: Path, name: str, shape: list[int]) -> None:
    if len(shape) != 2:
        run.say("error", where, f"tensor {name!r} has shape {shape}: the Projector shows only 2-D tensors "
                "[points, dimensions]; reshape it to [N, D]")
    elif shape[1] < 3:
        run.say("error", where, f"tensor {name!r} has {shape[1]} dimension(s): the Projector starts in 3-D PCA "
                "and draws nothing; add zero columns up to 3")
    elif shape[0] > MAX_POINTS:
        run.say("warning", where, f"tensor {name!r} has {shape[0]:,} points: the Projector loads only the first "
                f"{MAX_POINTS:,}; write at most {MAX_POINTS:,} (a random sample)")


def check_metadata(run: Run, path: Path, name: str, n: int) -> None:
    """The Projector's rules: a first line with a tab is a header; blank lines are skipped."""
    lines = [line for line in path.read_text(encoding="utf-8", errors="replace").split("\n") if line.strip()]
    header = bool(lines) and "\t" in lines[0]
    rows = lines[1:] if header else lines
    columns = len(lines[0].split("\t")) if lines else 0
    if len(rows) != n:
        if not header and len(rows) == n + 1:
            fix = "one column takes no header row: drop the first line"
        elif header and len(rows) == n - 1:
            fix = "a row is missing, or the first line is a point, not the header several columns need"
        else:
            fix = "write one row per point, in the tensor's order"
        level = "error" if abs(len(rows) - n) == 1 or len(rows) < n else "warning"
        run.say(level, path, f"{len(rows)} rows for the {n} points of {name!r}: the Projector says \"Number of "
                f"tensors ({n}) do not match the number of lines in metadata\"; {fix}")
    bad = next((i for i, row in enumerate(rows) if len(row.split("\t")) != columns), None)
    if header and bad is not None:
        run.say("error", path, f"row {bad + 1} has {len(rows[bad].split(chr(9)))} fields, the header {columns}: "
                "a tab inside a value splits it; replace tabs in values")


def check_sprite(run: Run, config_file: Path, embedding, n: int) -> None:
    from PIL import Image

    path = inside(run, config_file, embedding.sprite.image_path, "sprite")
    if path is None:
        return
    try:
        with Image.open(path) as image:
            width, height = image.size
    except OSError as err:
        run.say("error", path, f"is not an image ({err}): the Projector never finishes loading; write a PNG")
        return
    dims = list(embedding.sprite.single_image_dim)
    if len(dims) != 2 or min(dims) < 1:
        run.say("error", config_file, f"sprite of {embedding.tensor_name!r} has single_image_dim {dims}: give "
                "one thumbnail's [width, height] in pixels")
        return
    if max(width, height) > MAX_SPRITE_SIDE:
        run.say("error", path, f"is {width} x {height} px: the Projector refuses sprites over {MAX_SPRITE_SIDE} px "
                "a side; shrink the thumbnails")
        return
    cols, rows = width // dims[0], height // dims[1]
    if width % dims[0] or height % dims[1]:
        run.say("warning", path, f"{width} x {height} px is not a whole number of {dims[0]} x {dims[1]} "
                "thumbnails: check single_image_dim (width first)")
    if cols * rows < n:
        run.say("error", path, f"holds {cols} x {rows} thumbnails of {dims[0]} x {dims[1]} px, fewer than the "
                f"{n} points: points past the grid show no picture; tile one thumbnail per point")
    elif cols != rows and n > min(cols, rows):
        run.say("error", path, f"is a grid of {cols} columns and {rows} rows: TensorBoard 2.21 finds a "
                "thumbnail's row by dividing by the number of rows, so most points show another point's "
                f"picture; pad the grid to {max(cols, rows)} x {max(cols, rows)} with blank cells")


def check_bookmarks(run: Run, path: Path, name: str, n: int) -> None:
    try:
        views = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        run.say("error", path, f"is not JSON ({err}): the bookmarks panel stays empty; save it again")
        return
    if not isinstance(views, list):
        run.say("error", path, "is not a JSON list of views: the bookmarks panel stays empty")
        return
    for view in views:
        label = view.get("label", "?") if isinstance(view, dict) else "?"
        missing = [key for key in BOOKMARK_FIELDS if not isinstance(view, dict) or key not in view]
        if missing:
            run.say("error", path, f"bookmark {label!r} lacks {', '.join(missing[:4])}"
                    f"{' ...' if len(missing) > 4 else ''}: clicking it leaves a blank scatter; save views in "
                    "the Projector's own format")
        elif not isinstance(view["projections"], list) or len(view["projections"]) != n:
            count = len(view["projections"]) if isinstance(view["projections"], list) else "no"
            run.say("error", path, f"bookmark {label!r} places {count} points, {name!r} has {n}: the view "
                    "cannot be restored; save it again for this tensor")


def check_run(config_file: Path, root: Path, tensorflow_installed: bool) -> Run:
    from google.protobuf import text_format
    from tensorboard.plugins.projector.projector_config_pb2 import ProjectorConfig

    folder = config_file.parent
    run = Run(folder)
    if folder.resolve() != root.resolve() and not list(folder.glob("events.out.tfevents.*")):
        run.say("error", folder, "holds no events.out.tfevents.* file: TensorBoard does not list it as a run, "
                "so the Projector never shows it; write any summary there (tf.summary.text, or SummaryWriter)")
    config = ProjectorConfig()
    try:
        text_format.Parse(config_file.read_text(encoding="utf-8"), config)
    except (text_format.ParseError, UnicodeDecodeError) as err:
        run.say("error", config_file, f"does not parse ({err}): the Projector shows no tensors; write it with "
                "projector.visualize_embeddings")
        return run
    checkpoint = latest_checkpoint(run, config, config_file)
    if checkpoint and checkpoint[0] and not tensorflow_installed:
        run.say("error", config_file, "TensorFlow is not installed here, and TensorBoard reads checkpoints only "
                "with it: no tensor shows; pip install tensorflow (or use tensor_path TSV files)")
    shapes = checkpoint[1] if checkpoint else {}
    # "embedding.ckpt-1" (a new tf.train.Checkpoint's first save) or a fixed "model.ckpt": the same every write.
    if checkpoint and checkpoint[0] and re.fullmatch(r"\D*(-1)?", Path(checkpoint[0]).name):
        run.say("warning", folder / "checkpoint", f"checkpoint {checkpoint[0]!r} gets the same name on every "
                "write: re-write the run while TensorBoard runs and it keeps serving the points it read first; "
                "give each write a new name (a time stamp) or restart TensorBoard")
    if not config.embeddings and not shapes:
        run.say("error", config_file, "names no embeddings and there is no checkpoint: nothing to show")
    for embedding in config.embeddings:
        name = embedding.tensor_name.removesuffix(":0")
        where = config_file
        if embedding.tensor_path:
            where = inside(run, config_file, embedding.tensor_path, "tensor_path")
            shape = tsv_shape(run, where) if where else None
        elif checkpoint is None:
            run.say("error", config_file, f"tensor {name!r} has no tensor_path and the run folder has no "
                    "'checkpoint' state file: the Projector finds no tensor; save a checkpoint in the run folder")
            shape = None
        elif not checkpoint[0]:  # there is one, and what is wrong with it is said
            shape = None
        elif name in shapes:
            shape = shapes[name]
        else:
            stored = sorted(key for key, dims in shapes.items() if len(dims) == 2)
            hint = next((key for key in stored if key.startswith(f"{name}/.ATTRIBUTES")), None)
            fix = (f"set tensor_name to {hint!r}, the key tf.train.Checkpoint gave it" if hint else
                   f"name one of the 2-D tensors there: {', '.join(stored) or 'none'}")
            run.say("error", config_file, f"tensor {name!r} is not in checkpoint {checkpoint[0]!r}: choosing it in "
                    f"the Projector fails, and the checkpoint's own tensors show without metadata; {fix}")
            shape = None
        if shape is None:
            continue
        check_tensor(run, where, name, shape)
        if "/.ATTRIBUTES/VARIABLE_VALUE" in name:
            run.say("note", config_file, f"tensor {name!r}: tf.train.Checkpoint's key for the variable "
                    f"{name.split('/')[0]!r}; the Projector's tensor menu shows it so")
        n = shape[0]
        if embedding.metadata_path and (path := inside(run, config_file, embedding.metadata_path, "metadata")):
            check_metadata(run, path, name, n)
        if embedding.sprite.image_path:
            check_sprite(run, config_file, embedding, n)
        if embedding.bookmarks_path and (path := inside(run, config_file, embedding.bookmarks_path, "bookmarks")):
            check_bookmarks(run, path, name, n)
    return run


def projector_configs(logdir: Path) -> list[Path]:
    """Every projector_config.pbtxt TensorBoard would read under ``logdir`` (hidden folders left out)."""
    return sorted(path for path in logdir.rglob(CONFIG_NAME)
                  if not any(part.startswith(".") for part in path.relative_to(logdir).parts[:-1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Say why TensorBoard's Projector shows a run blank or wrong: "
                                                 "check every Projector run under LOGDIR, reading only files.")
    parser.add_argument("logdir", type=Path, help="the folder you pass to tensorboard --logdir")
    parser.add_argument("--quiet", action="store_true", help="print only problems, no summary when all is fine")
    args = parser.parse_args(argv)
    if not args.logdir.is_dir():
        print(f"error: {args.logdir} is not a folder; pass the folder you give tensorboard --logdir", file=sys.stderr)
        return 2
    configs = projector_configs(args.logdir)
    if not configs:
        print(f"error: {args.logdir} holds no {CONFIG_NAME}: the Projector has nothing to show; write one with "
              "projector.visualize_embeddings (or run python mnist_tsne.py)", file=sys.stderr)
        return 2
    tensorflow_installed = importlib.util.find_spec("tensorflow") is not None
    runs = [check_run(config, args.logdir, tensorflow_installed) for config in configs]
    for run in runs:
        for finding in run.findings:
            print(f"{finding.level}: {finding.path}: {finding.text}")
    errors = sum(run.count("error") > 0 for run in runs)
    warnings = sum(run.count("warning") for run in runs)
    if not args.quiet or errors or warnings:
        fine = len(runs) - errors
        print(f"Projector check of {args.logdir}: {len(runs)} run{'s' * (len(runs) != 1)}, "
              f"{fine} fine, {errors} with errors, {warnings} warning{'s' * (warnings != 1)}.")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
