"""Bench section: The optimisation as frames: what keeping and drawing them costs."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import in_subprocess, median_run, shown_digits, without_worker_memory


def frames_worker(data_dir: str, n: int, keep: bool) -> dict:
    """One t-SNE of ``n`` test digits, keeping its frames or not; with them, the time to draw them as the
    report does (pictures, GIF, image summaries)."""
    import tensorflow as tf

    from mnist_tsne import pixel_vectors
    from tutorial.report import write_progress
    from tutorial.tsne import tsne_map

    images, labels, _ = shown_digits(Path(data_dir), n)
    frames = [] if keep else None
    start = time.perf_counter()
    tsne_map(pixel_vectors(images), 2, 30.0, 0, "pixels", frames=frames)
    result = {"tsne_seconds": round(time.perf_counter() - start, 2)}
    if keep:
        with tempfile.TemporaryDirectory() as tmp:
            writer = tf.summary.create_file_writer(tmp)
            start = time.perf_counter()
            with writer.as_default():
                written = write_progress(Path(tmp) / "progress.gif", "progress", frames, labels)
            writer.close()
            result |= {"frames": written, "draw_seconds": round(time.perf_counter() - start, 2),
                       "gif_KB": (Path(tmp) / "progress.gif").stat().st_size // 1024}
    return result


def bench_frames(args: argparse.Namespace) -> list[dict]:
    """t-SNE of the test digits with and without frames, and drawing them (goal: at most 10% of the t-SNE)."""
    n = args.num_images or 10_000
    without = statistics.median(in_subprocess("frames.frames_worker", data_dir=str(args.data_dir), n=n, keep=False)[
        "tsne_seconds"] for _ in range(args.repeats))
    kept = [in_subprocess("frames.frames_worker", data_dir=str(args.data_dir), n=n, keep=True)
            for _ in range(args.repeats)]
    run = median_run(kept, "tsne_seconds")
    cost = max(0.0, run["tsne_seconds"] - without) + run["draw_seconds"]
    return [{"benchmark": f"t-SNE of {n} digits without frames", "tsne_seconds": round(without, 2)},
            {"benchmark": "the same, keeping a frame every 10 iterations, drawn as GIF and image summaries",
             **without_worker_memory(run), "share_of_tsne": round(cost / without, 3),
             "goal": "<= 10% of the t-SNE", "goal_met": cost / without <= 0.10}]
