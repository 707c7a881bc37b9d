"""The command-line flags the lessons share, and argparse that fails in one line."""

from __future__ import annotations

import argparse
from collections.abc import Sequence


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a bad flag gets one line on stderr instead of the usage."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return value


def add_data_args(parser: argparse.ArgumentParser, default_logdir: str, datasets: Sequence[str],
                  splits: Sequence[str]) -> None:
    """Flags both MNIST lessons have: where the run goes, and where the digits come from (``datasets`` and
    ``splits`` are the loader's choices). Then ``add_map_args`` for the t-SNE."""
    parser.add_argument("--logdir", default=default_logdir,
                        help="run directory to write; TensorBoard serves its parent (default: %(default)s)")
    parser.add_argument("--data-dir", default=None,
                        help="folder with MNIST-format IDX files (plain or .gz) or a Keras mnist.npz; "
                             "default: Keras' download, or the bundled 5,000-digit sample when offline")
    parser.add_argument("--dataset", choices=datasets, default="mnist",
                        help="which class names and Keras download to use (default: %(default)s)")
    parser.add_argument("--split", choices=splits, default="test",
                        help="which digits to show: the test split (10,000 for MNIST), the train split, or all "
                             "(test then train: 70,000); the metadata says each point's split (default: %(default)s)")
    parser.add_argument("--num-images", type=positive_int, default=None,
                        help="show only the first N digits of --split (default: all of them)")


def add_map_args(parser: argparse.ArgumentParser) -> None:
    """Flags every script has: the seed, the t-SNE maps and the measures."""
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    parser.add_argument("--tsne", action=argparse.BooleanOptionalAction, default=True,
                        help="also store a converged t-SNE map of every embedding, with its bookmark, a picture "
                             "and its optimisation as a GIF (default: on; --no-tsne is much faster)")
    parser.add_argument("--metrics", action=argparse.BooleanOptionalAction, default=True,
                        help="measure every tensor (kNN accuracy, trustworthiness: metrics.json) and write each "
                             "point's neighbours' vote, its bookmark and the maps' trust (default: on)")
    parser.add_argument("--perplexity", type=positive_float, default=30.0,
                        help="t-SNE perplexity: roughly how many neighbours each point keeps close "
                             "(default: %(default)s)")
    parser.add_argument("--tsne-dims", type=int, nargs="+", choices=(2, 3), default=[2],
                        help="t-SNE map dimensions, 2 and/or 3 (default: 2); the picture needs 2")
