"""MNIST's raw pixels in TensorBoard's Embedding Projector.

What this example teaches: how to get any set of vectors, here 10,000 MNIST
digits as 784 pixel values each, into TensorBoard's Embedding Projector, with
every point drawn as its own digit and coloured by its label, ready for the
Projector's PCA, t-SNE and UMAP.

Run it, then open TensorBoard:

    python mnist_tsne.py
    ./run_tensorboard.sh        # then open http://127.0.0.1:6006/#projector

The Projector needs four things in a run directory, and
``projector_logs.write_projector_logs`` writes them all: a checkpoint with the
vectors, a sprite image with one thumbnail per point, a metadata file with
one row of labels per point, and ``projector_config.pbtxt`` tying them
together.
"""

from __future__ import annotations

import numpy as np

from mnist_data import load_dataset
from script_common import (
    ArgumentParser,
    add_common_args,
    run_script,
    select_shown,
    staged_run,
    write_embedding_run,
)


def parse_args(argv: list[str] | None = None):
    parser = ArgumentParser(description="Write MNIST pixels for TensorBoard's Embedding Projector.")
    add_common_args(parser, default_logdir="logs/mnist")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)

    # ## Load the digits
    # uint8 images [N, 28, 28] and labels [N]. The digits shown are the first
    # N of the test split: MNIST's test set is already in mixed order.
    data = load_dataset(args.dataset, args.data_dir)
    images, labels, index = select_shown(data, args.num_images)
    print(f"Loaded {len(images)} digits from {data.source}")

    # ## The embedding: raw pixels
    # Each digit becomes a point in 784 dimensions, one per pixel, scaled to
    # [0, 1]. Nothing is learned: digits are close when their ink overlaps.
    pixels = images.reshape(len(images), -1).astype(np.float32) / 255.0
    embeddings = {"pixels": pixels}

    # ## Write the run, with a finished t-SNE map
    # The Projector can run t-SNE itself, but in the browser, on at most
    # 10,000 points, and it forgets the result. With --tsne (the default) a
    # converged map is computed here and stored as one more tensor,
    # `pixels_tsne_2d`, plus a picture and kNN / trustworthiness figures.
    # The run is built in a staging folder and moved into place only when
    # complete, so a crash or Ctrl-C never leaves a half-written run.
    run_info = {"script": "mnist_tsne.py", "data": data.source, "num_images": len(images), "args": vars(args)}
    with staged_run(args.logdir, run_info) as run_dir:
        write_embedding_run(
            run_dir, args, embeddings, images, labels, index, data.class_names,
            description=f"MNIST raw pixels: {len(images)} digits from {data.source}.",
            evaluate=args.tsne,
        )

    print(f"Wrote {args.logdir}: tensor 'pixels' {list(pixels.shape)}{' and its t-SNE map' if args.tsne else ''}, "
          "sprite, labels.")
    print("Now run ./run_tensorboard.sh and open http://127.0.0.1:6006/#projector")


if __name__ == "__main__":
    run_script(main)
