"""Bench section: t-SNE's neighbour search: the alternatives openTSNE accepts."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bench.common import in_subprocess, map_quality, tsne_points


def neighbours_worker(data_dir: str, n: int, method: str) -> dict:
    """``tsne_map`` of ``n`` images with openTSNE's ``neighbors=method``: its search's time, the whole map's
    time and the map's quality."""
    import contextlib
    import io
    import re

    from tutorial.tsne import TsneEngine, tsne_map

    pixels, labels = tsne_points(data_dir, n)
    printed = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(printed):
        coords = tsne_map(pixels, 2, 30.0, 0, "pixels", engine=TsneEngine(neighbors=method))
    seconds = time.perf_counter() - start
    search = float(re.search(r"neighbours and affinities: ([\d.]+) s", printed.getvalue()).group(1))
    return {"search_seconds": search, "tsne_seconds": round(seconds, 1), **map_quality(pixels, coords, labels)}


def bench_neighbours(args: argparse.Namespace) -> list[dict]:
    """Exact search of the 50 PCA components (what tsne_map uses) against Annoy (openTSNE's default) and
    pynndescent, at --tsne-big points. Precomputed neighbours would be the exact ones, handed over."""
    import importlib.util

    from tutorial.tsne import NEIGHBOUR_SEARCH

    n, data_dir = args.tsne_big, str(args.train_data_dir)
    if not n or not Path(data_dir).is_dir():
        return [{"benchmark": "t-SNE neighbour search", "note": f"skipped: --tsne-big {n}, no {data_dir}"}]
    rows = []
    for method in ("exact", "annoy", "pynndescent"):  # Annoy comes with openTSNE; pynndescent may be missing
        if method == "pynndescent" and getattr(importlib.util.find_spec(method), "origin", None) is None:
            rows.append({"benchmark": f"neighbors={method!r}", "note": f"skipped: pip install {method}"})
            continue
        row = in_subprocess("neighbours.neighbours_worker", data_dir=data_dir, n=n, method=method)
        rows.append({"benchmark": f"neighbors={method!r}, {n} points" + (" (ours)" if method == NEIGHBOUR_SEARCH
                                                                          else ""), **row})
    return rows
