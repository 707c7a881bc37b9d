"""Benchmarks behind the README's speed and quality figures.

    python bench/run.py --data-dir ../shared/data/mnist-t10k                 # everything (~40 min)
    python bench/run.py --data-dir ../shared/data/mnist-t10k --only e2e      # one section

Sections: ``writer`` (write_projector_logs vs torch's add_embedding), ``e2e`` (mnist_tsne.py --no-tsne
--no-metrics vs import tensorflow), ``scaling`` (N = 1k, 10k, 70k), ``codes`` (lesson 2's pixels, PCA, dense
and convolutional codes on held-out digits, over ``--seeds`` seeds, on MNIST and on --train-data-dir),
``lesson2`` (``python autoencoder_tsne.py`` with a 60,000-digit train split, timed), ``tsne`` (ours vs
openTSNE's fixed run and scikit-learn), ``disagree`` (lesson 1's "where the neighbours disagree" at 10,000),
``default`` (``python mnist_tsne.py`` as the README runs it), ``full`` (all 70,000 Fashion-MNIST images end
to end beside openTSNE's default fit), ``neighbours`` (t-SNE's neighbour search: exact, Annoy, pynndescent),
``frames`` (what the optimisation's frames cost), ``vectors`` (``vectors_tsne.py --metric cosine`` on 50,000
vectors of 384 numbers beside openTSNE's cosine fit and Embedding Atlas), ``aligned`` (lesson 2's maps started
from the pixels' map, against independent starts) and ``placing`` (Fashion-MNIST's test images placed on a map
of its training images, against mapping all 70,000).

Each section is a module of its own, ``bench/<module>.py`` as ``SECTIONS`` below names it, with its goals
beside its code; ``bench/common.py`` holds what they share. This runner prints a table and writes it as JSON
(``bench/results/latest.json`` unless ``--out`` says otherwise). Timings are
medians of ``--repeats`` runs. Goals are reported as met or missed in the
table; nothing here asserts.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import REPO  # noqa: E402  (after the path: run as a script, bench/ is not a package yet)

# Each section: the module in bench/ that holds it, and its function, which takes the parsed flags.
SECTIONS = {
    "writer": "writer.bench_writer",
    "e2e": "e2e.bench_e2e",
    "scaling": "scaling.bench_scaling",
    "codes": "codes.bench_codes",
    "lesson2": "codes.bench_lesson2",
    "tsne": "tsne.bench_tsne",
    "disagree": "disagree.bench_disagree",
    "default": "full.bench_default",
    "full": "full.bench_full",
    "neighbours": "neighbours.bench_neighbours",
    "frames": "frames.bench_frames",
    "vectors": "vectors.bench_vectors",
    "aligned": "aligned.bench_aligned",
    "placing": "placing.bench_placing",
}


def section(name: str):
    """The function that runs section ``name``, its module loaded only now."""
    module, function = SECTIONS[name].split(".")
    return getattr(importlib.import_module(f"bench.{module}"), function)


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
    parser.add_argument("--only", nargs="+", choices=list(SECTIONS), default=list(SECTIONS),
                        help="which benchmarks to run (default: all)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per timing; the median is reported")
    parser.add_argument("--num-images", type=int, default=None, help="digits to use (default: all 10,000)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 70_000],
                        help="N for the scaling benchmark (real digits tiled past the split)")
    parser.add_argument("--train-data-dir", type=Path, default=Path("/usr/share/datasets/fashion-mnist"),
                        help="MNIST-format folder with a 60,000-digit train split for lesson 2's benchmarks "
                             "(default: Debian's dataset-fashion-mnist)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="most autoencoder epochs (default: the script's, 7,500 weight updates' worth)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds for the codes' figures (default: %(default)s)")
    parser.add_argument("--tsne-sizes", type=int, nargs="+", default=[2_000, 5_000, 10_000],
                        help="points for the t-SNE runs on --data-dir (default: %(default)s)")
    parser.add_argument("--tsne-big", type=int, default=70_000,
                        help="points for the large runs (full, neighbours), from --train-data-dir's test then "
                             "train split (0: no large run)")
    parser.add_argument("--vectors-n", type=int, default=50_000,
                        help="vectors of 384 numbers for the own-vectors section (default: %(default)s)")
    parser.add_argument("--embedding-atlas", default="embedding-atlas",
                        help="Embedding Atlas's command, compared in the own-vectors section (skipped if missing)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "latest.json")
    args = parser.parse_args(argv)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    machine = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(), "cpu": cpu}
    rows = []
    for name in args.only:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        rows_of_section = [{"section": name, **row} for row in section(name)(args)]
        print(format_table(rows_of_section) + "\n", flush=True)
        rows += rows_of_section
        # After every section, so that a long run that fails later keeps what it measured.
        args.out.write_text(json.dumps({"machine": machine, "rows": rows}, indent=2) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)

if __name__ == "__main__":
    main()
