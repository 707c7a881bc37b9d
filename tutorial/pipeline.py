"""A run held in memory while it is made, one step at a time, before anything is written.

Lesson 1 calls each step under its own section, so a notebook cell can call
them one by one; its ``write_embedding_run`` calls them all:

- ``EmbeddingRun``: the vectors, metadata, pictures and classes, checked;
- ``add_tsne_maps``: a converged map of each embedding (``tutorial/tsne.py``),
  each recorded with what it is a map of (``MapOf``), not read from its name;
- ``add_neighbour_votes``: one exact search per tensor, each point's
  neighbours' vote and each map's trust, as metadata columns;
- ``measure``: the metrics and the pictures (``tutorial/report.py``).

``RunSettings`` are the settings the pipeline only passes on, in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tutorial.classes import Classes
from tutorial.neighbours import Neighbours, disagreement_columns, neighbour_searches, right_only
from tutorial.placing import MapSpace, write_map_space
from tutorial.report import Report, draw_pictures, measure_tensors, pair_comparison
from tutorial.tsne import MapOf, TsneInput, tsne_maps


@dataclass(frozen=True)
class RunSettings:
    """How a run is made and described; every field has the scripts' default.

    ``tsne_dims``: the maps' dimensions (2 and/or 3; empty for none). ``evaluate``: the neighbours' votes,
    trust and metrics. ``description``: markdown for the Text tab. ``points``: what the points are, in the
    pictures' titles ("10,000 MNIST test digits"). ``compare_with``: the tensors every other is compared
    with (trustworthiness against the first; default: the first embedding). ``extra_metrics``: added to
    ``metrics.json`` as they are. ``run_info``: what ``run.json`` records (the script and its flags).
    ``also_write``: functions that write more into the run folder before it is put in place (lesson 2's
    models and training curves). ``align_maps``: every map starts from the first embedding's (``tsne_maps``).
    ``pairs``: (A, B) embeddings whose votes are compared point by point: a metadata column, two bookmarks on
    A's, B's and the first embedding's maps, their counts in ``metrics.json`` and a picture of each side.
    """

    tsne_dims: tuple[int, ...] = (2,)
    perplexity: float = 30.0
    seed: int = 0
    evaluate: bool = True
    description: str = ""
    points: str = ""
    compare_with: tuple[str, ...] = ()
    extra_metrics: dict | None = None
    run_info: dict | None = None
    also_write: tuple[Callable[[Path], None], ...] = ()
    align_maps: bool = True
    pairs: tuple[tuple[str, str], ...] = ()


@dataclass
class EmbeddingRun:
    """Everything a run's files will hold, filled in step by step. ``invert_images``: the pictures are white
    strokes on black (MNIST's); the sprite shows them dark on white."""

    embeddings: dict[str, np.ndarray]
    metadata: dict[str, Sequence]
    images: np.ndarray | None
    classes: Classes | None
    metric: str
    settings: RunSettings
    invert_images: bool = False
    maps: dict[str, np.ndarray] = field(default_factory=dict)
    map_of: dict[str, MapOf] = field(default_factory=dict)
    tsne_inputs: dict[str, TsneInput] = field(default_factory=dict)
    frames: dict[str, list] = field(default_factory=dict)
    neighbours: dict[str, Neighbours] = field(default_factory=dict)
    votes: dict[str, np.ndarray] = field(default_factory=dict)
    report: Report | None = None
    bookmarks: dict[str, list[dict]] = field(default_factory=dict)

    @property
    def tensors(self) -> dict[str, np.ndarray]:
        """The embeddings, then their maps: the Projector's tensors."""
        return {**self.embeddings, **self.maps}

    @property
    def n(self) -> int:
        return len(next(iter(self.embeddings.values())))

    def maps_of(self, name: str) -> list[str]:
        """The maps made of embedding ``name``, in the order of ``tsne_dims``."""
        return [tensor for tensor, of in self.map_of.items() if of.source == name]


def pair_column(a: str, b: str) -> str:
    """The metadata column comparing embeddings ``a`` and ``b``: "both right", "only a", "only b", "both wrong"."""
    return f"{a}_vs_{b}"


def add_tsne_maps(run: EmbeddingRun) -> None:
    """A converged t-SNE map of each embedding, in each of ``tsne_dims``, into ``run.maps`` by tensor name."""
    settings = run.settings
    run.maps, run.map_of, run.tsne_inputs = tsne_maps(run.embeddings, sorted(set(settings.tsne_dims)),
                                                        settings.perplexity, settings.seed, run.frames, run.metric,
                                                        settings.align_maps)


def add_neighbour_votes(run: EmbeddingRun) -> None:
    """One exact search per tensor (shared with the metrics); for each embedding, its neighbours' vote (with
    classes, into ``run.votes`` as class numbers) and each of its maps' trust, as metadata columns."""
    if not run.settings.evaluate:
        return
    searched = {name: prepared.neighbours for name, prepared in run.tsne_inputs.items()}
    run.neighbours = neighbour_searches(run.tensors, run.settings.seed, run.metric, searched, run.map_of)
    for name in run.embeddings:
        columns, votes = disagreement_columns(name, run.neighbours, run.maps_of(name), run.classes)
        run.metadata = {**run.metadata, **columns}
        if votes is not None:
            run.votes[name] = votes
    for a, b in run.settings.pairs:
        only, other_only = right_only(run.votes[a], run.votes[b], run.classes.codes)
        both = (run.votes[a] == run.classes.codes) & ~only
        run.metadata = {**run.metadata, pair_column(a, b): np.select(
            [both, only, other_only], ["both right", f"only {a}", f"only {b}"], "both wrong").tolist()}


def measure(run: EmbeddingRun) -> Report:
    """kNN accuracy and trustworthiness of every tensor, the votes compared, and the pictures: the run's report.
    In a notebook it shows itself: the table, then the pictures."""
    settings = run.settings
    compare_with = settings.compare_with or tuple(run.embeddings)[:1]
    reference = next((name for name in compare_with if name in run.tensors), None)
    sources = {name: run.map_of[name].source if name in run.map_of else reference for name in run.tensors}
    metrics = measure_tensors(run.tensors, run.classes, run.neighbours, run.votes,
                              {name: source for name, source in sources.items() if source not in (None, name)},
                              compare_with, settings.seed) if run.neighbours else {}
    if metrics and settings.pairs:
        metrics["paired_votes"] = pair_comparison(run.votes, run.classes.codes, settings.pairs)
    if metrics and settings.extra_metrics:
        metrics |= settings.extra_metrics
    flat_maps = {of.source: run.maps[name] for name, of in run.map_of.items() if of.dims == 2}
    pictures = draw_pictures(flat_maps, run.classes, run.images, run.votes, metrics, settings.points or
                             f"{run.n:,} points", settings.perplexity, settings.seed, run.invert_images)
    for a, b in settings.pairs if run.votes else ():
        from tutorial.plotting import plot_pair_examples  # matplotlib

        points = settings.points or f"{run.n:,} points"
        pictures[f"pairs/{pair_column(a, b)}"] = plot_pair_examples(
            run.classes.codes, run.votes[a], run.votes[b], run.images, (a, b), ink=run.invert_images,
            title=f"Where the 5 nearest neighbours in {a} and in {b} disagree: {points}")
    progress = {source: run.frames.get(name, []) for name, of in run.map_of.items() if of.dims == 2
                for source in [of.source]}
    run.report = Report(metrics, pictures, progress, run.classes)
    return run.report


def save_map_space(run_dir: Path, run: EmbeddingRun) -> None:
    """What placing new points on the run's maps needs (``tutorial/placing.py``), so that it reads the run alone:
    each embedding's searched vectors, its PCA axes, its maps, and the metric, perplexity and seed. Nothing
    without maps."""
    spaces = {name: MapSpace(prepared.x, {tensor: run.maps[tensor] for tensor in run.maps_of(name)},
                             run.embeddings[name].shape[1], prepared.pca)
              for name, prepared in run.tsne_inputs.items() if run.maps_of(name)}
    if spaces:
        settings = run.settings
        write_map_space(run_dir, spaces, {"metric": run.metric, "perplexity": settings.perplexity,
                                          "seed": settings.seed, "color_by": run.classes and run.classes.column})
