"""A run's report: metrics in ``metrics.json``, the terminal and the Text tab; maps and confusions as pictures.

``write_report`` measures every tensor of a run (``tutorial/metrics.py``),
adds what its neighbours' votes say (leave-one-out accuracy, how many points
they put in another class, and for a learned code, where it and the pixels
differ), and draws every 2-D t-SNE map and every tensor's most frequent
confusions (``tutorial/plotting.py``), each picture saved in the run and
written to its event file for TensorBoard's Images tab.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tutorial.classes import Classes
from tutorial.neighbours import Neighbours


def write_report(run_dir: Path, tensors: dict[str, np.ndarray], classes: Classes | None, images: np.ndarray | None,
                 *, neighbours: dict[str, Neighbours], perplexity: float, seed: int,
                 votes: dict[str, np.ndarray] | None = None, frames: dict[str, list] | None = None,
                 extra_metrics: dict | None = None, compare_with: Sequence[str] = ("pixels",),
                 ink: bool = False, points: str = "") -> dict:
    """Write metrics (from ``neighbours``, each tensor's search; none when empty), a picture of every
    ``<name>_tsne_2d`` map and of every voting tensor's most frequent confusions; return the metrics.

    ``classes`` (``tutorial/classes.py``) colour the pictures and score the votes; without them the
    metrics have no kNN accuracy and the maps are drawn in one colour. ``images`` (uint8, grey or RGB, or
    None) are the thumbnails; ``ink`` ones are white strokes on black, as MNIST's. ``points`` says what the
    points are in the pictures' titles ("10,000 MNIST test digits"), each with its seed and measured figures.

    Trustworthiness is measured against what a tensor was computed from: a
    ``<name>_tsne_<d>d`` map against ``<name>``, any other embedding against
    the first of ``compare_with`` present. ``votes`` [N] per tensor are the classes its
    5 nearest neighbours vote for, and every tensor's are compared with those of
    each of ``compare_with`` (``neighbour_votes_vs_<name>``); ``frames`` per map are its layouts during the
    optimisation (``tutorial/tsne.py``), written for every 2-D map as an
    animated ``tsne_progress_<embedding>.gif`` and as one image summary over
    steps (the Images tab's step slider plays it); ``extra_metrics`` are added
    to ``metrics.json`` as they are.
    """
    import tensorflow as tf

    reference = next((name for name in compare_with if name in tensors), None)
    sources = {name: re.sub(r"_tsne_\dd$", "", name) if "_tsne_" in name else reference for name in tensors}
    sources = {name: source for name, source in sources.items() if source != name and source in tensors}
    labels, class_names = (classes.codes, classes.names) if classes else (None, [])
    colours = classes.colours if classes else None
    metrics = {}
    maps = {name.removesuffix("_tsne_2d"): values for name, values in tensors.items() if name.endswith("_tsne_2d")}
    if not neighbours and not maps:
        return metrics
    writer = tf.summary.create_file_writer(str(run_dir))
    with writer.as_default():
        if neighbours:
            from tutorial.metrics import evaluate_embeddings, metrics_table  # scikit-learn: a second to load

            start = time.perf_counter()
            print("Measuring every tensor (kNN accuracy, trustworthiness) ...", flush=True)
            metrics = {"embeddings": evaluate_embeddings(tensors, labels, sources, neighbours, seed),
                       **{key: value for reference in compare_with
                          for key, value in vote_comparison(votes or {}, labels, reference).items()},
                       **(extra_metrics or {})}
            table = metrics_table(metrics["embeddings"])
            print(f"  done in {time.perf_counter() - start:.1f} s\n{table}", flush=True)
            (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
            tf.summary.text("metrics", table, step=0)
            if paired := paired_table(metrics):
                tf.summary.text("paired_votes", paired, step=0)
        if maps or votes:
            from tutorial.plotting import plot_confusions, plot_tsne_map  # matplotlib

            start = time.perf_counter()
            print("Drawing the maps, their progress and the confusions ...", flush=True)

        points = points or f"{len(next(iter(tensors.values()))):,} points"
        for embedding, values in maps.items():
            measured = metrics.get("embeddings", {}).get(f"{embedding}_tsne_2d", {})
            figures = "".join(f", {what} {measured[key]:.3f}" for key, what in (
                ("knn_accuracy", "map kNN"), ("trustworthiness", "trustworthiness")) if measured.get(key) is not None)
            png = plot_tsne_map(values, labels, images, class_names, seed=seed, colours=colours, ink=ink,
                                title=f"t-SNE of {embedding}: {points}\n"
                                      f"perplexity {perplexity:g}, seed {seed}{figures}")
            (run_dir / f"tsne_map_{embedding}.png").write_bytes(png)
            tf.summary.image(f"tsne_map/{embedding}", tf.image.decode_png(png, channels=3)[None], step=0)
            write_progress(run_dir / f"tsne_progress_{embedding}.gif", f"tsne_progress/{embedding}",
                           (frames or {}).get(f"{embedding}_tsne_2d", []), labels, colours)
        for embedding, embedding_votes in (votes or {}).items():
            misplaced = int((embedding_votes != labels).sum())
            png = plot_confusions(labels, embedding_votes, images, class_names, ink=ink,
                                  title=f"Where the 5 nearest neighbours in {embedding} vote for another class\n"
                                        f"{misplaced:,} of {points}")
            (run_dir / f"confusions_{embedding}.png").write_bytes(png)
            tf.summary.image(f"confusions/{embedding}", tf.image.decode_png(png, channels=3)[None], step=0)
        if maps or votes:
            print(f"  done in {time.perf_counter() - start:.1f} s", flush=True)
    writer.close()
    return metrics


def write_progress(gif: Path, tag: str, layouts: list, labels: np.ndarray | None,
                   colours: Sequence[str] | None = None) -> int:
    """A t-SNE's frames (``tutorial/tsne.py``) as the animated ``gif`` and as image summaries ``tag`` over steps,
    in the default summary writer, points in their class ``colours``; returns how many frames were written
    (none without layouts)."""
    import tensorflow as tf

    from tutorial.plotting import progress_frames

    pictures = progress_frames(layouts, labels, colours=colours)
    for (iteration, _, _), picture in zip(layouts, pictures, strict=True):
        tf.summary.image(tag, np.asarray(picture)[None], step=iteration)
    if pictures:  # each frame a tenth of a second, the converged map two seconds
        pictures[0].save(gif, save_all=True, append_images=pictures[1:], duration=[100] * (len(pictures) - 1) + [2000],
                         loop=0)
    return len(pictures)


def paired_table(metrics: dict) -> str:
    """Every ``neighbour_votes_vs_<reference>`` comparison as a markdown table for the Text tab ("" if none)."""
    lines = []
    for key, compared in metrics.items():
        reference = key.removeprefix("neighbour_votes_vs_")
        if key.startswith("neighbour_votes_vs_") and compared:
            lines += [f"| `{name}` vs `{reference}` | {c[f'right_where_{reference}_wrong']} | "
                      f"{c[f'wrong_where_{reference}_right']} | {c['mcnemar_p']:.3g} |" for name, c in compared.items()]
    header = ["| tensors | right only in the first | right only in the second | exact McNemar p |", "|---|---|---|---|"]
    return "\n".join(header + lines) if lines else ""


def vote_comparison(votes: dict[str, np.ndarray], labels: np.ndarray, reference: str = "pixels") -> dict:
    """For each tensor other than ``reference``: how many points its neighbours put right where the reference's
    put them wrong, the reverse, and the exact McNemar p-value of the two counts, as
    ``{"neighbour_votes_vs_<reference>": ...}`` (empty without it)."""
    if reference not in votes:
        return {}
    from tutorial.metrics import mcnemar_p

    reference_right = votes[reference] == labels
    compared = {}
    for name, embedding_votes in votes.items():
        if name != reference:
            right = embedding_votes == labels
            gained, lost = int(right[~reference_right].sum()), int((~right)[reference_right].sum())
            compared[name] = {f"right_where_{reference}_wrong": gained, f"wrong_where_{reference}_right": lost,
                              "mcnemar_p": round(mcnemar_p(gained, lost), 6)}
    return {f"neighbour_votes_vs_{reference}": compared}
