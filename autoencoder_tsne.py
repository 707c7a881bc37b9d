"""Lesson 2: what a dense autoencoder's 64-number code shows, beside the raw pixels.

What this example teaches: train a small autoencoder on MNIST without labels,
then look at what its code has learned in TensorBoard's Embedding Projector.
The code (`autoencoder_code`, 64-d) and the raw pixels (`pixels`, 784-d) of
the same digits sit in one run, sharing one sprite and one metadata file, so
you can switch between the two tensors and compare their maps. TensorBoard's
Time Series tab shows the loss curves and its Images tab what the code keeps.

    python autoencoder_tsne.py
    ./run_tensorboard.sh        # then open http://127.0.0.1:6006/#projector

The file reads in the order the script runs:

1. The model: a dense encoder to a 64-number code, and a decoder back.
2. Training, on the train split, with loss curves for TensorBoard.
3. What the code keeps: originals above their reconstructions.
4. The code in the Projector: encode the digits, and write the run with
   lesson 1's ``write_embedding_run`` (``mnist_tsne.py`` explains every file
   it writes: checkpoint, sprite, metadata, config).
5. The command line.

The run ends with a small table: reconstruction error, how often a digit's 5
nearest neighbours share its label, in pixel space and in code space, and how
many digits the code puts right where the pixels put them wrong, and the
reverse (its bookmark "Where the neighbours disagree" and ``confusions_*.png``
show which). Labels are used for that measurement only, never in training.
"""

from __future__ import annotations

import tutorial.quiet_tensorflow  # noqa: F401  (before TensorFlow loads: no C++ log lines)

# isort: split
import argparse
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from mnist_tsne import pixel_vectors, write_embedding_run
from tutorial.errors import UserError, run_main
from tutorial.flags import ArgumentParser, add_common_args, positive_int
from tutorial.mnist_data import load_dataset, metadata_columns, shown_digits
from tutorial.run_folder import staged_run

MODEL_NAME = "autoencoder.keras"
VALIDATION_FRACTION = 0.2

# ## 1. The model
#
# Dense encoder 784 -> 256 -> 64 (the code), and a decoder that mirrors it
# back to 784 pixels. The code layer is linear so that no unit can die and
# every number in it is free to take any value; the output is a sigmoid,
# because pixels are scaled to [0, 1].


def build_autoencoder(code_size: int = 64, hidden: int = 256) -> keras.Model:
    """Dense autoencoder 784 -> hidden -> code -> hidden -> 784, sigmoid output."""
    pixels = keras.Input(shape=(784,), name="pixels")
    x = layers.Dense(hidden, activation="relu", name="encoder_hidden")(pixels)
    code = layers.Dense(code_size, name="code")(x)
    x = layers.Dense(hidden, activation="relu", name="decoder_hidden")(code)
    reconstruction = layers.Dense(784, activation="sigmoid", name="reconstruction")(x)
    autoencoder = keras.Model(pixels, reconstruction, name="autoencoder")
    # Binary cross-entropy, not MSE: each pixel is treated as the probability
    # of ink, which gives strong gradients where the sigmoid saturates and
    # sharper digits. MSE is tracked as the reported reconstruction error.
    autoencoder.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy", metrics=["mse"])
    return autoencoder


def encoder_of(autoencoder: keras.Model) -> keras.Model:
    """The first half of the autoencoder: pixels in, code out."""
    return keras.Model(autoencoder.input, autoencoder.get_layer("code").output, name="encoder")


# ## 2. Training
#
# On the train split, with a held-out fifth for validation. When the data
# has no train split (a folder with only the t10k pair, or the bundled
# sample), it trains on the digits that will be shown: an autoencoder never
# sees labels, so the kNN figures stay honest.


def training_split(train_images: np.ndarray, shown_pixels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixels to train on and to validate on (a fifth), from the train split or else the shown digits."""
    if len(train_images):
        pixels = pixel_vectors(train_images)
    else:
        print("No train split in this data: training on the shown digits (the autoencoder never sees labels).")
        pixels = shown_pixels
    order = np.random.default_rng(seed).permutation(len(pixels))
    n_val = max(1, int(len(pixels) * VALIDATION_FRACTION))
    if len(pixels) - n_val < 1:
        raise UserError(f"{len(pixels)} digits are too few to train on; use more with --num-images")
    return pixels[order[n_val:]], pixels[order[:n_val]]


def train(autoencoder: keras.Model, train_pixels: np.ndarray, val_pixels: np.ndarray, *, epochs: int,
          batch_size: int, log_dir: Path) -> dict[str, float]:
    """Fit the autoencoder to reproduce its input; return its train and validation MSE."""
    print(f"Training on {len(train_pixels)} digits, validating on {len(val_pixels)} ...")
    autoencoder.fit(
        train_pixels, train_pixels,
        validation_data=(val_pixels, val_pixels),
        epochs=epochs,
        batch_size=batch_size,
        shuffle=True,
        # Loss curves for TensorBoard's Scalars / Time Series tab, as the runs
        # <logdir>/training/train and .../validation. Not directly in
        # <logdir>/train: the Projector looks for a checkpoint one folder up
        # and would list those two as copies of this run.
        callbacks=[keras.callbacks.TensorBoard(log_dir=str(log_dir), write_graph=False)],
    )
    return {"train_mse": mean_squared_error(autoencoder, train_pixels),
            "validation_mse": mean_squared_error(autoencoder, val_pixels)}


def mean_squared_error(autoencoder: keras.Model, pixels: np.ndarray) -> float:
    return round(float(autoencoder.evaluate(pixels, pixels, verbose=0)[1]), 5)


# ## 3. What the code keeps
#
# Sixteen shown digits above their reconstructions, in the Images tab: what
# survives the squeeze through 64 numbers, and what is lost (thin strokes,
# odd serifs).


def reconstruction_grid(autoencoder: keras.Model, pixels: np.ndarray, count: int = 16) -> np.ndarray:
    """Originals (top row) above their reconstructions (bottom row): [56, count * 28, 1]."""
    originals = pixels[:count]
    reconstructed = autoencoder.predict(originals, verbose=0)
    rows = [np.concatenate(list(batch.reshape(-1, 28, 28)), axis=1) for batch in (originals, reconstructed)]
    return np.concatenate(rows, axis=0)[..., None]


# ## 4. The code in the Projector
#
# The encoder turns every shown digit into its 64 numbers. The code and the
# pixels go into one run as two tensors, with one sprite and one metadata
# file, through lesson 1's `write_embedding_run`: each gets its offline t-SNE
# map and its neighbours' vote (lesson 1, section 5), and both are measured,
# so the end compares them, as a whole and digit by digit.


def encode(autoencoder: keras.Model, pixels: np.ndarray) -> np.ndarray:
    """Every digit's code: float32 [N, code_size]."""
    return encoder_of(autoencoder).predict(pixels, batch_size=1024, verbose=0)


# ## 5. The command line


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = ArgumentParser(description="Train a dense autoencoder on MNIST and show its code in the Projector.")
    add_common_args(parser, default_logdir="logs/autoencoder")
    parser.add_argument("--code-size", type=positive_int, default=64, help="numbers in the code (default: %(default)s)")
    parser.add_argument("--hidden", type=positive_int, default=256,
                        help="units in the hidden layers (default: %(default)s)")
    parser.add_argument("--epochs", type=positive_int, default=20, help="training epochs (default: %(default)s)")
    parser.add_argument("--batch-size", type=positive_int, default=128, help="batch size (default: %(default)s)")
    parser.add_argument("--load-model", type=Path, default=None,
                        help="a saved autoencoder (.keras) to embed with; skips training")
    return parser.parse_args(argv)


def load_autoencoder(path: Path) -> keras.Model:
    """Load a saved autoencoder, with one clear error when it cannot be used."""
    if not path.is_file():
        raise UserError(f"--load-model {path} does not exist; train one first (it is saved as {MODEL_NAME})")
    try:
        model = keras.saving.load_model(path)
    except Exception as err:  # Keras raises many kinds for a file that is not a model
        reason = str(err).splitlines()[0][:200] if str(err) else type(err).__name__
        raise UserError(f"--load-model {path} is not a Keras model ({reason})") from None
    if tuple(model.input_shape) != (None, 784) or "code" not in [layer.name for layer in model.layers]:
        raise UserError(f"--load-model {path} takes input {model.input_shape} and must be an autoencoder from "
                        "this script (input (None, 784), a layer named 'code')")
    return model


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    keras.utils.set_random_seed(args.seed)
    # Same seed, same machine, same numbers: deterministic kernels cost little here.
    tf.config.experimental.enable_op_determinism()

    data = load_dataset(args.dataset, args.data_dir)
    images, labels, index, splits = shown_digits(data, args.split, args.num_images)
    pixels = pixel_vectors(images)
    print(f"Loaded {len(images)} digits to show ({args.split} split) from {data.source}")
    autoencoder = load_autoencoder(args.load_model) if args.load_model else None

    run_info = {"script": "autoencoder_tsne.py", "data": data.source, "split": args.split, "num_images": len(images),
                "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}}
    with staged_run(args.logdir, run_info) as run_dir:
        # 1-2. Build and train the autoencoder, or load a saved one.
        if autoencoder is None:
            autoencoder = build_autoencoder(args.code_size, args.hidden)
            train_pixels, val_pixels = training_split(data.train_images, pixels, args.seed)
            reconstruction = train(autoencoder, train_pixels, val_pixels, epochs=args.epochs,
                                   batch_size=args.batch_size, log_dir=run_dir / "training")
        else:
            print(f"Loaded {args.load_model}; not training.")
            reconstruction = {}
        reconstruction["shown_mse"] = mean_squared_error(autoencoder, pixels)
        autoencoder.save(run_dir / MODEL_NAME)

        # 3. What the code keeps.
        writer = tf.summary.create_file_writer(str(run_dir))
        with writer.as_default():
            tf.summary.image("reconstructions", reconstruction_grid(autoencoder, pixels)[None], step=0)
        writer.close()

        # 4. The code and the pixels of the same digits, in one Projector run.
        code = encode(autoencoder, pixels)
        metrics = write_embedding_run(
            run_dir, {"pixels": pixels, "autoencoder_code": code}, images, labels,
            metadata_columns(labels, data.class_names, index, splits), data.class_names,
            description=f"Dense autoencoder code ({code.shape[1]}-d) and raw pixels of {len(images)} digits "
                        f"from {data.source}.",
            tsne_dims=args.tsne_dims if args.tsne else (), perplexity=args.perplexity, seed=args.seed,
            evaluate=True, extra_metrics={"reconstruction": reconstruction},
        )

    print("\nReconstruction error (mean squared, pixels in [0, 1]): "
          + ", ".join(f"{k.removesuffix('_mse')} {v:.4f}" for k, v in reconstruction.items()))
    knn = {name: m["knn_accuracy"] for name, m in metrics["embeddings"].items() if "_tsne_" not in name}
    print("kNN accuracy: " + ", ".join(f"{name} {value:.3f}" for name, value in knn.items()))
    # Where the two disagree, digit by digit: the 5 nearest neighbours' vote in the code against in the pixels.
    if votes := metrics.get("neighbour_votes_vs_pixels", {}).get("autoencoder_code"):  # past 20,000: none
        print(f"Nearest neighbours: the code puts {votes['right_where_pixels_wrong']} digits in their own class "
              f"that the pixels put in another, and {votes['wrong_where_pixels_right']} the other way round.")
    print(f"Wrote {args.logdir}: tensors {', '.join(metrics['embeddings'])}; model {MODEL_NAME}; metrics.json.")
    print("Now run ./run_tensorboard.sh and open http://127.0.0.1:6006/#projector")


if __name__ == "__main__":
    run_main(main)
