"""A converged t-SNE map with openTSNE: PCA first, each phase stopped when the map has settled.

``tsne_map(values, dims, perplexity, seed, name)`` returns float32 [N, dims]
and prints each stage with its time. Lesson 1 says what the map is for and
how it is stored; this module holds the algorithm engineering behind it:

- Euclidean inputs wider than 100 dimensions (pixels) go through PCA to 50
  first, as is standard: it removes pixel noise and makes the neighbour
  search faster; cosine inputs keep their dimensions (PCA would change
  their angles);
- t-SNE's two phases, early exaggeration (neighbours pulled into tight
  clusters) and settling, each stop when the KL divergence (what t-SNE
  minimises) changes by less than a small fraction over 10 iterations, as in
  opt-SNE (Belkina et al., 2019; a smaller change for maps past 20,000
  points, which keep improving longer), instead of openTSNE's fixed 250 + 500
  iterations: on MNIST a quarter of the time or less, for a map of the same
  quality (bench/run.py);
- the neighbours that t-SNE keeps close come from an exact search of the
  50 components (scikit-learn's brute force, through BLAS), which here is
  faster than openTSNE's approximate default, Annoy (``NEIGHBOUR_SEARCH``);
  ``prepare_tsne`` makes it once per embedding, for its 2-D and 3-D maps,
  and ``tsne_maps`` hands it on, so the vote can reuse it;
- each phase takes the faster of openTSNE's gradient methods for its size;
- on request, the layout is kept every 10 iterations, as frames of the
  optimisation (the report turns them into an animated GIF and an image
  summary whose step slider plays it).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tutorial.errors import InputError
from tutorial.neighbours import PRINCIPAL_SPACE, Neighbours, exact_search
from tutorial.pca import PcaBasis, leading_components, principal_axes

PCA_DIMENSIONS = 50
PCA_ABOVE = 100
# openTSNE's neighbour search (and affinities). Measured on 2 cores, all 70,000 Fashion-MNIST images
# (bench/run.py --only neighbours): exact 25.4 s, Annoy (openTSNE's default) 44.3 s, pynndescent 81.1 s
# (compiling itself with numba first), for maps of the same quality (kNN 0.8369, 0.8370, 0.8367).
NEIGHBOUR_SEARCH = "exact"
# Barnes-Hut gradients cost about N log N per iteration; FFT ones cost about
# N plus a grid over the map's extent, which dominates for small N and grows
# as the map spreads out. So FFT pays off sooner while the map is compact
# (early exaggeration) than while it settles. Measured on 2 cores, settling
# took 8.0 s with Barnes-Hut and 10.4 s with FFT at 10,000 points, 14.6 and
# 11.6 s at 15,000, 23.2 and 14.4 s at 20,000. 3-D maps need Barnes-Hut.
FFT_COMPACT_FROM = 5_000
FFT_FROM = 12_000
# (phase, exaggeration, at most this many iterations, stop below this
# relative change of the KL divergence per 10 iterations)
PHASES = (("early exaggeration", 12.0, 250, 1e-3), ("settling", None, 750, 5e-3))
# Large maps keep improving for longer, so past 20,000 points settling stops at a smaller change. All
# 70,000 Fashion-MNIST images: the map's kNN accuracy was 0.8369 at a 5e-3 change (230 iterations),
# 0.8384 at 3.5e-3 (300), 0.8410 after 500, and 0.8421 after openTSNE's fixed 750.
LARGE_MAP, LARGE_MAP_SETTLING = 20_000, 3.5e-3
KL_EVERY = 10


def gradient_method(n: int, dims: int, exaggeration: float | None) -> str:
    """openTSNE's faster gradient method for ``n`` points in a phase: "bh" (Barnes-Hut) or "fft"."""
    if dims == 3:
        return "bh"
    return "fft" if n >= (FFT_COMPACT_FROM if exaggeration else FFT_FROM) else "bh"


class StopWhenConverged:
    """An openTSNE callback: stop once the KL divergence, having moved, changes by less than ``tolerance``.

    "Having moved": the map starts as a tiny PCA seed, and for the first few
    iterations its KL divergence hardly changes before it starts to fall.
    """

    def __init__(self, tolerance: float):
        self.tolerance = tolerance
        self.iterations = 0
        self.kl_divergence = math.nan
        self.moving = False

    def __call__(self, iteration: int, kl_divergence: float, embedding: np.ndarray) -> bool:
        # Relative to its magnitude: during early exaggeration openTSNE reports the exaggerated objective, which
        # can be negative (on few points), and a signed division would stop the phase at once.
        change = abs(self.kl_divergence - kl_divergence) / abs(kl_divergence)  # NaN on the first call
        self.iterations, self.kl_divergence = iteration, kl_divergence
        self.moving = self.moving or change >= self.tolerance
        return self.moving and change < self.tolerance


class KeepFrames:
    """An openTSNE callback: append (iteration, exaggerated, layout [N, dims]) to ``frames``; never stops."""

    def __init__(self, frames: list, first_iteration: int, exaggerated: bool):
        self.frames, self.first_iteration, self.exaggerated = frames, first_iteration, exaggerated

    def __call__(self, iteration: int, kl_divergence: float, embedding: np.ndarray) -> bool:
        self.frames.append((self.first_iteration + iteration, self.exaggerated, np.array(embedding, np.float32)))
        return False


def check_tsne(n: int, dims: int, perplexity: float) -> None:
    """InputError unless a t-SNE of ``n`` points to ``dims`` (2 or 3) dimensions can have this perplexity."""
    if dims not in (2, 3):
        raise InputError(f"t-SNE dimensions must be 2 or 3, got {dims}")
    if n < 3 * perplexity + 1:
        raise InputError(f"t-SNE with perplexity {perplexity} needs more than {3 * perplexity:.0f} points, "
                         f"got {n}; lower --perplexity")


@dataclass
class TsneInput:
    """What a t-SNE of some vectors starts from: ``x``, the vectors it maps (their 50 principal components
    when wide and Euclidean, on the axes ``pca``), and ``neighbours``, its exact search of ``x`` (the
    3 x perplexity nearest). New points are placed on the map in this same space (``tutorial/placing.py``)."""

    x: np.ndarray
    neighbours: Neighbours
    pca: PcaBasis | None = None


def prepare_tsne(values: np.ndarray, perplexity: float = 30.0, seed: int = 0, metric: str = "euclidean",
                 name: str = "embedding") -> TsneInput:
    """PCA to 50 for Euclidean vectors wider than 100 (cosine ones are kept: PCA would change their angles), and
    each point's 3 x ``perplexity`` nearest neighbours there, exact. One per embedding serves its 2-D and 3-D
    maps, and the vote reuses the search (``tutorial/neighbours.py``)."""
    start, x, space, pca = time.perf_counter(), np.asarray(values, dtype=np.float32), "", None
    if metric == "euclidean" and x.shape[1] > PCA_ABOVE:
        (x, pca), space = principal_axes(x, PCA_DIMENSIONS, seed), PRINCIPAL_SPACE
    k = min(len(x) - 1, int(3 * perplexity))
    indices, distances = exact_search(x, k, metric)
    print(f"Nearest {k} neighbours of each point of {name} for its t-SNE ({space or 'all dimensions'}, {metric}, "
          f"exact): {time.perf_counter() - start:.1f} s", flush=True)
    return TsneInput(x, Neighbours(indices, distances, space, metric), pca)


@dataclass(frozen=True)
class TsneEngine:
    """openTSNE's own choices, which benchmarks and pictures vary: ``method`` forces its gradient method
    ("bh" or "fft"; None: each phase takes the faster, ``gradient_method``), ``neighbors`` its neighbour
    search ("exact", "annoy", "pynndescent"), ``initialization`` the start ("pca": the leading components,
    so runs differ little; "random"; or an array [N, dims] at openTSNE's scale, ``aligned_start``)."""

    method: str | None = None
    neighbors: str = NEIGHBOUR_SEARCH
    initialization: str | np.ndarray = "pca"


def tsne_map(values: np.ndarray, dims: int = 2, perplexity: float = 30.0, seed: int = 0, name: str = "embedding",
             *, metric: str = "euclidean", prepared: TsneInput | None = None, frames: list | None = None,
             engine: TsneEngine = TsneEngine()) -> np.ndarray:
    """t-SNE of ``values`` [N, D] to [N, dims] float32, printing each stage and its time.

    Inputs with more than 100 dimensions (pixels) go through PCA to 50 first.
    Each phase stops when the map has converged; ``metric`` is "euclidean" or "cosine".
    ``prepared`` (``prepare_tsne`` of these values, perplexity, seed and metric)
    saves its exact search; ``engine`` holds openTSNE's own choices. The same seed gives the same map. A
    ``frames`` list receives (iteration, exaggerated, layout) from the start and every 10 iterations after.
    """
    check_tsne(len(values), dims, perplexity)
    n = len(values)
    from openTSNE import TSNE  # loaded only when a map is made: it takes seconds
    from openTSNE.affinity import MultiscaleMixture
    from openTSNE.nearest_neighbors import PrecomputedNeighbors

    start = time.perf_counter()
    method, neighbors = engine.method, engine.neighbors
    if neighbors == "exact" and prepared is None:
        prepared = prepare_tsne(values, perplexity, seed, metric)
    x = prepared.x if prepared else np.asarray(values, dtype=np.float32)
    if prepared is None and metric == "euclidean" and x.shape[1] > PCA_ABOVE:
        x = leading_components(x, PCA_DIMENSIONS, seed)
    reduced = f", PCA to {PCA_DIMENSIONS}" if x.shape[1] < values.shape[1] else ""
    print(f"t-SNE of {name} ({n} x {values.shape[1]}{reduced}{', cosine' if metric == 'cosine' else ''}) to "
          f"{dims}-D, perplexity {perplexity:g} ...", flush=True)
    tsne = TSNE(n_components=dims, perplexity=perplexity, random_state=seed, n_jobs=-1, neighbors=neighbors,
                metric=metric, initialization=engine.initialization)
    affinities = None
    if prepared is not None:  # the exact search made once, handed to openTSNE's affinities as TSNE makes them
        found = prepared.neighbours
        affinities = MultiscaleMixture(perplexities=perplexity, n_jobs=-1, random_state=seed,
                                       knn_index=PrecomputedNeighbors(found.indices, found.distances))
    # Each point's nearest neighbours, their affinities, and a start (PCA's, unless asked otherwise).
    embedding = tsne.prepare_initial(x, affinities=affinities)
    print(f"  neighbours and affinities: {time.perf_counter() - start:.1f} s", flush=True)
    done = 0
    if frames is not None:
        frames.append((0, True, np.array(embedding, np.float32)))
    for phase, exaggeration, max_iterations, tolerance in PHASES:
        if exaggeration is None and n > LARGE_MAP:
            tolerance = LARGE_MAP_SETTLING
        phase_start, stop = time.perf_counter(), StopWhenConverged(tolerance)
        phase_method = method or gradient_method(n, dims, exaggeration)
        keep = [] if frames is None else [KeepFrames(frames, done, exaggeration is not None)]
        embedding.optimize(n_iter=max_iterations, exaggeration=exaggeration, momentum=0.8, inplace=True,
                           negative_gradient_method=phase_method, callbacks=[*keep, stop],
                           callbacks_every_iters=KL_EVERY)
        done += stop.iterations
        print(f"  {phase}: {stop.iterations} iterations, {'Barnes-Hut' if phase_method == 'bh' else 'FFT'}, "
              f"{'exaggerated objective' if exaggeration else 'KL divergence'} {stop.kl_divergence:.3f}, "
              f"{time.perf_counter() - phase_start:.1f} s", flush=True)
    print(f"  done in {time.perf_counter() - start:.1f} s", flush=True)
    return np.asarray(embedding, dtype=np.float32)


@dataclass(frozen=True)
class MapOf:
    """What a map was made from: the tensor ``source`` it is a t-SNE map of, in ``dims`` dimensions. The run
    keeps this as data; a map's name (``map_name``) is only what the Projector shows."""

    source: str
    dims: int


def map_name(source: str, dims: int) -> str:
    """The tensor name of ``source``'s ``dims``-D map in the Projector: ``pixels_tsne_2d``."""
    return f"{source}_tsne_{dims}d"


def aligned_start(reference_map: np.ndarray) -> np.ndarray:
    """Another tensor's start: ``reference_map`` rescaled to openTSNE's starting scale (a standard deviation of
    1e-4 along its first axis). Each class's island then starts where it sits on the reference map."""
    from openTSNE.initialization import rescale

    return rescale(np.asarray(reference_map, dtype=np.float64), target_std=1e-4)


def tsne_maps(embeddings: dict[str, np.ndarray], dims: Sequence[int], perplexity: float, seed: int,
              frames: dict[str, list], metric: str = "euclidean", aligned: bool = True
              ) -> tuple[dict[str, np.ndarray], dict[str, MapOf], dict[str, TsneInput]]:
    """A converged t-SNE map [N, d] of every embedding for each ``d`` in ``dims``, named by ``map_name`` (its
    layout every 10 iterations in ``frames[<map>]``); what each map is of; and what each embedding's maps
    were made from (``prepare_tsne``: one for its 2-D and 3-D maps): its search, which the vote reuses, and
    the searched space, in which new points are placed.

    ``aligned``: the first embedding's maps start from PCA, every other's from the first one's converged map of
    the same dimensions (``aligned_start``), with the usual early exaggeration. Switching tensors then keeps
    each class about where it was, and what moves is what the tensor changes. Otherwise each starts from PCA.
    """
    for d, values in ((d, values) for d in dims for values in embeddings.values()):
        check_tsne(len(values), d, perplexity)
    prepared = {name: prepare_tsne(values, perplexity, seed, metric, name) for name, values in embeddings.items()
                if dims}
    map_of = {map_name(name, d): MapOf(name, d) for name in embeddings for d in dims}
    first, maps = next(iter(embeddings)), {}
    for tensor, of in map_of.items():
        start = aligned_start(maps[map_name(first, of.dims)]) if aligned and of.source != first else "pca"
        maps[tensor] = tsne_map(embeddings[of.source], of.dims, perplexity, seed, of.source, metric=metric,
                                prepared=prepared[of.source], frames=frames.setdefault(tensor, []),
                                engine=TsneEngine(initialization=start))
    return maps, map_of, prepared
