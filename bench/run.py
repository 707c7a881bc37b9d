"""Benchmarks behind the README's speed and quality figures.

    python bench/run.py --data-dir ../shared/data/mnist-t10k       # everything
    python bench/run.py --data-dir ../shared/data/mnist-t10k --only e2e

Prints a table and writes it as JSON (``bench/results/latest.json`` unless
``--out`` says otherwise). Each timing is the median of ``--repeats`` runs.
Goals are reported as met or missed in the table; nothing here asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def timed_command(cmd: list[str], repeats: int) -> float:
    """Median wall-clock seconds of running ``cmd`` ``repeats`` times."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=REPO, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_e2e(args: argparse.Namespace) -> list[dict]:
    """mnist_tsne.py end to end, against a bare TensorFlow import."""
    with tempfile.TemporaryDirectory() as tmp:
        script = [sys.executable, "mnist_tsne.py", "--data-dir", str(args.data_dir), "--logdir", f"{tmp}/logs/mnist"]
        if args.num_images:
            script += ["--num-images", str(args.num_images)]
        baseline = timed_command([sys.executable, "-c", "import tensorflow"], args.repeats)
        seconds = timed_command(script, args.repeats)
    ratio = seconds / baseline
    return [
        {"benchmark": "import tensorflow", "seconds": round(baseline, 2)},
        {"benchmark": "mnist_tsne.py, end to end", "seconds": round(seconds, 2),
         "vs_import_tensorflow": round(ratio, 2), "goal": "<= 1.5x import tensorflow",
         "goal_met": ratio <= 1.5},
    ]


BENCHMARKS: dict[str, Callable[[argparse.Namespace], list[dict]]] = {
    "e2e": bench_e2e,
}


def format_table(rows: list[dict]) -> str:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    cells = [[str(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = [" | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("-+-".join("-" * w for w in widths))
    lines += [" | ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, required=True, help="folder with the MNIST t10k IDX files")
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS), default=list(BENCHMARKS),
                        help="which benchmarks to run (default: all)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per timing; the median is reported")
    parser.add_argument("--num-images", type=int, default=None, help="digits to use (default: all 10,000)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "latest.json")
    args = parser.parse_args(argv)

    rows = []
    for name in args.only:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        rows += [{"section": name, **row} for row in BENCHMARKS[name](args)]
    print(format_table(rows))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    machine = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count()}
    args.out.write_text(json.dumps({"machine": machine, "rows": rows}, indent=2) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
