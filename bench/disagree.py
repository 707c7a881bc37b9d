"""Bench section: What the map gets wrong: the neighbours' vote, the map's trust, the bookmark and the picture."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bench.common import in_subprocess, shown_digits


def disagree_worker(data_dir: str, n: int) -> dict:
    """The cost of section 5 of lesson 1 for one tensor of ``n`` digits' pixels and its converged map."""
    import numpy as np

    from mnist_tsne import pixel_vectors, projector_bookmark
    from tutorial.classes import Classes
    from tutorial.neighbours import disagreement_columns, neighbour_searches
    from tutorial.plotting import plot_confusions
    from tutorial.tsne import tsne_map

    images, labels, class_names = shown_digits(Path(data_dir), n)
    pixels = pixel_vectors(images)
    coordinates = tsne_map(pixels, 2, 30.0, 0, "pixels")  # not timed: the run makes it anyway
    plot_confusions(labels[:50], labels[:50], images[:50], class_names)  # matplotlib's first figure, not timed
    start = time.perf_counter()
    neighbours = neighbour_searches({"pixels": pixels, "pixels_tsne_2d": coordinates}, maps=["pixels_tsne_2d"])
    classes = Classes("class_name", class_names, labels, [])
    columns, votes = disagreement_columns("pixels", neighbours, ["pixels_tsne_2d"], classes)
    projector_bookmark("Where the neighbours disagree", "tsne", coordinates, color_by="neighbours_pixels",
                       selected=np.flatnonzero(votes != labels))
    png = plot_confusions(labels, votes, images, class_names, ink=True)
    seconds = time.perf_counter() - start
    return {"seconds": round(seconds, 2), "disagreeing_points": int((votes != labels).sum()),
            "picture_KB": len(png) // 1024}


def bench_disagree(args: argparse.Namespace) -> list[dict]:
    """What lesson 1's section 5 adds to a run of the test digits (goal: at most 3 s at 10,000)."""
    n = args.num_images or 10_000
    row = in_subprocess("disagree.disagree_worker", data_dir=str(args.data_dir), n=n)
    return [{"benchmark": f"neighbours' vote, map trust, bookmark and confusions picture, N = {n}", **row,
             "goal": "<= 3 s at 10,000", "goal_met": row["seconds"] <= 3}]
