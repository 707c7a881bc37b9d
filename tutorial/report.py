"""A run's report: metrics in ``metrics.json``, the terminal and the Text tab; maps and confusions as pictures.

- ``measure_tensors`` measures every tensor of a run (``tutorial/metrics.py``)
  and adds what its neighbours' votes say (leave-one-out accuracy, how many
  points they put in another class, and where two tensors' votes differ);
- ``draw_pictures`` draws every 2-D t-SNE map and every tensor's most frequent
  confusions (``tutorial/plotting.py``);
- ``Report`` holds both in memory (a notebook shows it), and ``write_report``
  saves them in the run and in its event file for the Text and Images tabs.
"""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tutorial.classes import Classes
from tutorial.neighbours import Neighbours, right_only
from tutorial.tsne import map_name


@dataclass
class Report:
    """A run's measures in memory: ``metrics`` (for ``metrics.json``), ``pictures`` (``draw_pictures``) and each
    2-D map's ``progress`` frames (by embedding), with the ``classes`` that colour them. In a notebook it shows
    the measures' tables and the pictures."""

    metrics: dict
    pictures: dict[str, bytes]
    progress: dict[str, list]
    classes: Classes | None

    def tables(self) -> str:
        """The metrics table and the paired votes' table, in markdown ("" without metrics)."""
        from tutorial.metrics import metrics_table

        if not self.metrics:
            return ""
        paired = paired_table(self.metrics)
        return metrics_table(self.metrics["embeddings"]) + (f"\n\n{paired}" if paired else "")

    def __repr__(self) -> str:
        return f"Report({', '.join(self.pictures) or 'no pictures'})\n{self.tables()}"

    def _repr_markdown_(self) -> str:
        pictures = "".join(f"\n\n![{name}](data:image/png;base64,{base64.b64encode(small_png(png)).decode()})"
                           for name, png in self.pictures.items())
        return self.tables() + pictures


def small_png(png: bytes, max_width: int = 1000) -> bytes:
    """A picture for a notebook: at most ``max_width`` wide, in a 256-colour palette (a third of the bytes)."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    if image.width > max_width:
        image = image.resize((max_width, round(image.height * max_width / image.width)), Image.Resampling.LANCZOS)
    small = io.BytesIO()
    image.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(small, "PNG", optimize=True)
    return small.getvalue()


def measure_tensors(tensors: dict[str, np.ndarray], classes: Classes | None, neighbours: dict[str, Neighbours],
                    votes: dict[str, np.ndarray], sources: dict[str, str], compare_with: Sequence[str],
                    seed: int) -> dict:
    """kNN accuracy and trustworthiness of every tensor (against its ``sources`` entry) from ``neighbours``, each
    tensor's search, and every tensor's ``votes`` compared with those of each of ``compare_with``
    (``neighbour_votes_vs_<name>``); printed as a table, returned for ``metrics.json``."""
    from tutorial.metrics import evaluate_embeddings, metrics_table  # scikit-learn: a second to load

    start = time.perf_counter()
    print("Measuring every tensor (kNN accuracy, trustworthiness) ...", flush=True)
    labels = classes.codes if classes else None
    metrics = {"embeddings": evaluate_embeddings(tensors, labels, sources, neighbours, seed),
               **{key: value for reference in compare_with
                  for key, value in vote_comparison(votes, labels, reference).items()}}
    print(f"  done in {time.perf_counter() - start:.1f} s\n{metrics_table(metrics['embeddings'])}", flush=True)
    return metrics


def draw_pictures(flat_maps: dict[str, np.ndarray], classes: Classes | None, images: np.ndarray | None,
                  votes: dict[str, np.ndarray], metrics: dict, points: str, perplexity: float, seed: int,
                  ink: bool) -> dict[str, bytes]:
    """``tsne_map_<embedding>.png`` for each 2-D map in ``flat_maps`` (by embedding), titled with its figures,
    and ``confusions_<embedding>.png`` for each embedding's ``votes``, as PNG by their Images-tab tag
    (``tsne_map/<embedding>``, ``confusions/<embedding>``).

    ``classes`` colour the pictures (without them the maps are drawn in one colour); ``images`` (uint8, grey
    or RGB, or None) are the thumbnails, ``ink`` ones white strokes on black, as MNIST's; ``points`` says what
    the points are ("10,000 MNIST test digits")."""
    if not flat_maps and not votes:
        return {}
    from tutorial.plotting import plot_confusions, plot_tsne_map  # matplotlib

    start = time.perf_counter()
    print("Drawing the maps and the confusions ...", flush=True)
    labels, class_names = (classes.codes, classes.names) if classes else (None, [])
    colours = classes.colours if classes else None
    pictures = {}
    for embedding, values in flat_maps.items():
        measured = metrics.get("embeddings", {}).get(map_name(embedding, 2), {})
        figures = "".join(f", {what} {measured[key]:.3f}" for key, what in (
            ("knn_accuracy", "map kNN"), ("trustworthiness", "trustworthiness")) if measured.get(key) is not None)
        pictures[f"tsne_map/{embedding}"] = plot_tsne_map(
            values, labels, images, class_names, seed=seed, colours=colours, ink=ink,
            title=f"t-SNE of {embedding}: {points}\nperplexity {perplexity:g}, seed {seed}{figures}")
    for embedding, embedding_votes in votes.items():
        misplaced = int((embedding_votes != labels).sum())
        pictures[f"confusions/{embedding}"] = plot_confusions(
            labels, embedding_votes, images, class_names, ink=ink,
            title=f"Where the 5 nearest neighbours in {embedding} vote for another class\n{misplaced:,} of {points}")
    print(f"  done in {time.perf_counter() - start:.1f} s", flush=True)
    return pictures


def write_report(run_dir: Path, report: Report) -> None:
    """Write ``report`` into ``run_dir``: ``metrics.json`` and its tables in the Text tab, every picture as a
    file and in the Images tab, and each map's optimisation as ``tsne_progress_<embedding>.gif`` and as image
    summaries over steps (the Images tab's step slider plays it)."""
    import tensorflow as tf

    if not report.metrics and not report.pictures:
        return
    writer = tf.summary.create_file_writer(str(run_dir))
    with writer.as_default():
        if report.metrics:
            from tutorial.metrics import metrics_table

            (run_dir / "metrics.json").write_text(json.dumps(report.metrics, indent=2) + "\n")
            tf.summary.text("metrics", metrics_table(report.metrics["embeddings"]), step=0)
            if paired := paired_table(report.metrics):
                tf.summary.text("paired_votes", paired, step=0)
        for tag, png in report.pictures.items():
            (run_dir / f"{tag.replace('/', '_')}.png").write_bytes(png)
            tf.summary.image(tag, tf.image.decode_png(png, channels=3)[None], step=0)
        labels = report.classes.codes if report.classes else None
        colours = report.classes.colours if report.classes else None
        for embedding, layouts in report.progress.items():
            write_progress(run_dir / f"tsne_progress_{embedding}.gif", f"tsne_progress/{embedding}", layouts,
                           labels, colours)
    writer.close()


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


def pair_comparison(votes: dict[str, np.ndarray], labels: np.ndarray, pairs: Sequence[tuple[str, str]]) -> dict:
    """For each pair (A, B): the points only A's neighbours put in their own class, those only B's do, and the
    exact McNemar p of the two counts (to 3 significant digits), as ``{"A vs B": {...}}``."""
    from tutorial.metrics import mcnemar_p

    compared = {}
    for a, b in pairs:
        only, other_only = (int(side.sum()) for side in right_only(votes[a], votes[b], labels))
        compared[f"{a} vs {b}"] = {f"right_only_{a}": only, f"right_only_{b}": other_only,
                                   "mcnemar_p": float(f"{mcnemar_p(only, other_only):.3g}")}
    return compared


def vote_comparison(votes: dict[str, np.ndarray], labels: np.ndarray | None, reference: str = "pixels") -> dict:
    """For each tensor other than ``reference``: how many points its neighbours put right where the reference's
    put them wrong, the reverse, and the exact McNemar p-value of the two counts, as
    ``{"neighbour_votes_vs_<reference>": ...}`` (empty without it)."""
    if reference not in votes:
        return {}
    from tutorial.metrics import mcnemar_p

    compared = {}
    for name, embedding_votes in votes.items():
        if name != reference:
            gained, lost = (int(side.sum()) for side in right_only(embedding_votes, votes[reference], labels))
            compared[name] = {f"right_where_{reference}_wrong": gained, f"wrong_where_{reference}_right": lost,
                              "mcnemar_p": float(f"{mcnemar_p(gained, lost):.6g}")}  # never 0: p = 1e-10
    return {f"neighbour_votes_vs_{reference}": compared}
