"""Bench section: Scaling with N."""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import in_subprocess, shown_digits, write_digits


def scaling_worker(data_dir: str, n: int) -> dict:
    import numpy as np

    from mnist_tsne import make_sprite

    images, labels, class_names = shown_digits(Path(data_dir), n)
    pixels = images.reshape(n, -1).astype(np.float32) / 255
    start = time.perf_counter()
    sprite = make_sprite(255 - images)
    sprite_seconds = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        write_digits(Path(tmp) / "run", pixels, images, labels, class_names)
        seconds = time.perf_counter() - start
        sprite_mb = (Path(tmp) / "run" / "sprite.png").stat().st_size / 1e6
        (Path(tmp) / "run" / "events.out.tfevents.0.bench").touch(exist_ok=True)  # listed as a run
        # tools/check_projector_logs.py over the same run, as a user runs it (goal: under 5 s at 70,000).
        checker = [sys.executable, str(Path(__file__).resolve().parent.parent / "tools" / "check_projector_logs.py"),
                   tmp]
        start = time.perf_counter()
        checked = subprocess.run(checker, capture_output=True, text=True)
        check_seconds = time.perf_counter() - start
    return {"write_seconds": round(seconds, 2), "sprite_seconds": round(sprite_seconds, 2),
            "sprite_px": f"{sprite.shape[1]}x{sprite.shape[0]}", "sprite_MB": round(sprite_mb, 1),
            "check_seconds": round(check_seconds, 2), "check_exit": checked.returncode}


def bench_scaling(args: argparse.Namespace) -> list[dict]:
    """Log writing and sprite making for growing N (real digits, tiled past 10,000)."""
    rows = []
    for n in args.sizes:
        runs = [in_subprocess("scaling.scaling_worker", data_dir=str(args.data_dir), n=n) for _ in range(args.repeats)]
        row = {key: statistics.median(r[key] for r in runs) if isinstance(runs[0][key], float | int)
               else runs[0][key] for key in runs[0]}
        rows.append({"benchmark": f"write_projector_logs, N = {n}", **row,
                     "us_per_point": round(row["write_seconds"] / n * 1e6),
                     "check_goal": "check_projector_logs under 5 s", "check_goal_met": row["check_seconds"] < 5})
    return rows
