"""Write embeddings so that TensorBoard's Embedding Projector shows them.

``write_projector_logs`` is the one function to copy into your own project.
It needs numpy, pillow, tensorflow and tensorboard, and writes into one run
directory:

- ``embeddings.ckpt.*`` + ``checkpoint``: a TensorFlow checkpoint holding each
  embedding as a float32 tensor under its readable name (``pixels``); an
  embedding of 1 or 2 dimensions gets zero columns up to 3, because the
  Projector draws nothing for fewer than 3 (see ``MIN_PROJECTOR_DIMS``);
- ``sprite.png``: every image as a thumbnail, in a row-major grid;
- ``metadata.tsv``: one row per point (label, class name, index in its split);
- ``projector_config.pbtxt``: ties them together, with relative paths, so the
  run directory can be moved or copied;
- an event file with a short text summary: TensorBoard only lists a
  sub-directory of ``--logdir`` as a run when it holds an event file.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image
from tensorboard.plugins import projector

CHECKPOINT_NAME = "embeddings.ckpt"
SPRITE_NAME = "sprite.png"
METADATA_NAME = "metadata.tsv"
# WebGL textures, and so the Projector's sprite, are limited to 8192 px a side.
MAX_SPRITE_SIZE = 8192
# The Projector (TensorBoard 2.21) always starts in 3-D PCA, whose third
# component is NaN for a 2-D tensor: the scatter stays empty, even in 2-D PCA
# (no identity projection either: tensorboard#3353, #1204). A zero third
# column draws the 2-D map as it is, flat.
MIN_PROJECTOR_DIMS = 3


def make_sprite(images: np.ndarray, max_size: int = MAX_SPRITE_SIZE, invert: bool = True) -> np.ndarray:
    """Tile uint8 images [N, H, W] into one sprite image, row-major.

    Thumbnail ``i`` sits at grid row ``i // cols`` and column ``i % cols``,
    where ``cols = ceil(sqrt(N))``, which is how the Projector finds it. When
    ``cols * W`` would pass ``max_size``, every thumbnail is shrunk to fit.
    ``invert`` turns MNIST's white-on-black digits into black-on-white ones,
    which read better on the Projector's white background.
    Returns the sprite as a uint8 array [rows * h, cols * w]; the thumbnail
    size (h, w) is ``sprite_thumbnail_size(images.shape, max_size)``.
    """
    images = np.asarray(images, dtype=np.uint8)
    if images.ndim != 3 or len(images) == 0:
        raise ValueError(f"make_sprite needs images shaped [N, H, W] with N >= 1, got {images.shape}")
    n, height, width = images.shape
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    thumb_h, thumb_w = sprite_thumbnail_size(images.shape, max_size)
    if (thumb_h, thumb_w) != (height, width):
        images = np.stack([
            np.asarray(Image.fromarray(image).resize((thumb_w, thumb_h), Image.Resampling.BOX))
            for image in images
        ])
    if invert:
        images = 255 - images
    # Pad to a full grid, then reorder [rows, cols, h, w] -> [rows, h, cols, w].
    grid = np.full((rows * cols, thumb_h, thumb_w), 255 if invert else 0, dtype=np.uint8)
    grid[:n] = images
    return grid.reshape(rows, cols, thumb_h, thumb_w).transpose(0, 2, 1, 3).reshape(rows * thumb_h, cols * thumb_w)


def sprite_thumbnail_size(shape: tuple[int, ...], max_size: int = MAX_SPRITE_SIZE) -> tuple[int, int]:
    """Thumbnail (height, width) that ``make_sprite`` uses for images of ``shape``."""
    n, height, width = shape
    cols = math.ceil(math.sqrt(n))
    scale = min(1.0, max_size / (cols * max(height, width)))
    return max(1, int(height * scale)), max(1, int(width * scale))


def check_embeddings(embeddings: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    """The embeddings as float32 [n, D] arrays; ValueError naming any that is not, or is not finite.

    ``write_projector_logs`` calls it first; call it yourself to fail before
    slow work on embeddings that could not be written anyway.
    """
    checked = {}
    for name, values in embeddings.items():
        values = np.asarray(values, dtype=np.float32)
        if values.ndim != 2 or len(values) != n:
            raise ValueError(f"embedding {name!r} has shape {values.shape}, expected [{n}, D]")
        if not np.isfinite(values).all():
            raise ValueError(f"embedding {name!r} contains NaN or infinite values; nothing was written")
        checked[name] = values
    return checked


def write_projector_logs(
    logdir: str | Path,
    embeddings: dict[str, np.ndarray],
    labels: np.ndarray,
    images: np.ndarray,
    class_names: list[str],
    index: np.ndarray | None = None,
    description: str = "",
) -> None:
    """Write ``embeddings`` and their sprite and metadata for the Projector.

    Args:
      logdir: the run directory (created if needed), e.g. ``logs/mnist``.
        Point TensorBoard at its parent (``tensorboard --logdir logs``).
      embeddings: tensor name -> array [N, D]; every array has the same N and
        finite values. The names appear in the Projector's tensor dropdown.
        Arrays with D < 3 (a 2-D map) are stored with zero columns up to 3.
      labels: int class of each point [N], an index into ``class_names``.
      images: uint8 [N, H, W], the points' pictures for the sprite.
      class_names: readable name of each class.
      index: each point's index in its source split (default 0..N-1).
      description: markdown shown in TensorBoard's Text tab for this run.

    Raises ValueError, naming the problem, for inconsistent inputs.
    """
    logdir = Path(logdir)
    labels = np.asarray(labels)
    n = len(labels)
    index = np.arange(n) if index is None else np.asarray(index)
    if not embeddings:
        raise ValueError("no embeddings to write")
    if len(images) != n or len(index) != n:
        raise ValueError(f"{len(images)} images and {len(index)} indices for {n} labels")
    if n and (labels.min() < 0 or labels.max() >= len(class_names)):
        raise ValueError(f"labels must lie in 0..{len(class_names) - 1}")
    tensors = {}
    for name, values in check_embeddings(embeddings, n).items():
        if values.shape[1] < MIN_PROJECTOR_DIMS:
            values = np.pad(values, ((0, 0), (0, MIN_PROJECTOR_DIMS - values.shape[1])))
        tensors[name] = values
    logdir.mkdir(parents=True, exist_ok=True)

    # A TF2 checkpoint via tf.train.Checkpoint would store each tensor as
    # "<name>/.ATTRIBUTES/VARIABLE_VALUE", and the Projector shows that key.
    # SaveV2 writes the same checkpoint format with the plain names as keys.
    tf.raw_ops.SaveV2(
        prefix=str(logdir / CHECKPOINT_NAME),
        tensor_names=list(tensors),
        shape_and_slices=[""] * len(tensors),
        tensors=list(tensors.values()),
    )
    # The Projector finds the checkpoint through this state file; a relative
    # path in it is read relative to the run directory.
    (logdir / "checkpoint").write_text(
        f'model_checkpoint_path: "{CHECKPOINT_NAME}"\nall_model_checkpoint_paths: "{CHECKPOINT_NAME}"\n'
    )

    sprite = make_sprite(images)
    thumb_h, thumb_w = sprite_thumbnail_size(np.shape(images))
    Image.fromarray(sprite).save(logdir / SPRITE_NAME, compress_level=1)

    with open(logdir / METADATA_NAME, "w", encoding="utf-8") as f:
        f.write("label\tclass_name\tindex\n")
        for label, i in zip(labels.tolist(), index.tolist(), strict=True):
            f.write(f"{label}\t{class_names[label]}\t{i}\n")

    # Paths relative to the run directory; model_checkpoint_path stays empty,
    # because TensorBoard reads a path set there relative to its own cwd.
    config = projector.ProjectorConfig()
    for name in tensors:
        embedding = config.embeddings.add()
        embedding.tensor_name = name
        embedding.metadata_path = METADATA_NAME
        embedding.sprite.image_path = SPRITE_NAME
        embedding.sprite.single_image_dim.extend([thumb_w, thumb_h])
    projector.visualize_embeddings(str(logdir), config)

    rows = "\n".join(f"| `{name}` | {t.shape[0]} | {t.shape[1]} |" for name, t in tensors.items())
    summary = f"{description}\n\n| tensor | points | dimensions |\n|---|---|---|\n{rows}\n"
    writer = tf.summary.create_file_writer(str(logdir))
    with writer.as_default():
        tf.summary.text("projector_run", summary, step=0)
    writer.close()
