"""Bench section: mnist_tsne.py end to end."""

from __future__ import annotations

import argparse
import sys
import tempfile

from bench.common import import_tensorflow_seconds, timed_command


def bench_e2e(args: argparse.Namespace) -> list[dict]:
    """mnist_tsne.py --no-tsne --no-metrics (the writer alone) end to end, against a bare TensorFlow import."""
    with tempfile.TemporaryDirectory() as tmp:
        script = [sys.executable, "mnist_tsne.py", "--data-dir", str(args.data_dir), "--logdir",
                  f"{tmp}/logs/mnist", "--no-tsne", "--no-metrics"]
        if args.num_images:
            script += ["--num-images", str(args.num_images)]
        baseline = import_tensorflow_seconds(args.repeats)
        seconds = timed_command(script, args.repeats)
    ratio = seconds / baseline
    return [
        {"benchmark": "python -c 'import tensorflow'", "seconds": round(baseline, 2)},
        {"benchmark": "mnist_tsne.py --no-tsne --no-metrics, end to end", "seconds": round(seconds, 2),
         "vs_import_tensorflow": round(ratio, 2), "goal": "<= 1.5x import tensorflow", "goal_met": ratio <= 1.5},
    ]
