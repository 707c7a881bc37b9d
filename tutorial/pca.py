"""Principal components: the Projector's PCA tab's, and the 50 that the t-SNE and the neighbour search share.

Lesson 1 ships a PCA bookmark for every tensor. The Projector's PCA tab first
centres the vectors and, for 50 or more dimensions, scales each to unit
length ("Spherize data", on by default there), so ``pca_coordinates`` does
too, and the bookmark shows what the tab shows.

``leading_components`` reduces wide vectors (pixels) to their leading
components before a t-SNE or a large neighbour search. The t-SNE's search of
them is handed to the vote (``tutorial/neighbours.py``), so past its budget
the vote is taken in exactly the space the t-SNE searched, with one PCA.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SPHERIZE_FROM = 50


def pca_coordinates(values: np.ndarray, dims: int = 3) -> np.ndarray:
    """The first ``dims`` principal components [N, dims] of ``values`` [N, D], as the Projector's PCA tab computes them.

    Fewer components when D is smaller (a 2-D map gives 2). Their signs are
    arbitrary, as in any PCA. Exact: above 200 dimensions the tab itself
    first projects the vectors at random to 200 ("PCA is approximate").
    """
    x = np.asarray(values, dtype=np.float32)
    x = x - x.mean(axis=0)
    if x.shape[1] >= SPHERIZE_FROM:
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        x = np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)
    # Eigenvectors of the D x D matrix x'x, largest first: cheap even for
    # 70,000 points. The product stays float32, so no float64 copy of x is made.
    _, eigenvectors = np.linalg.eigh((x.T @ x).astype(np.float64))
    return x @ eigenvectors[:, ::-1][:, :min(dims, x.shape[1])].astype(np.float32)


@dataclass(frozen=True)
class PcaBasis:
    """Principal axes found once, to put more vectors on them: ``mean`` [D] and ``components`` [K, D]."""

    mean: np.ndarray
    components: np.ndarray

    def project(self, values: np.ndarray) -> np.ndarray:
        """``values`` [M, D] on these axes: float32 [M, K]."""
        return ((np.asarray(values, dtype=np.float32) - self.mean) @ self.components.T).astype(np.float32)


def principal_axes(values: np.ndarray, components: int = 50, seed: int = 0) -> tuple[np.ndarray, PcaBasis]:
    """``values`` [N, D] on their first ``components`` principal axes (scikit-learn's PCA, ``seed`` for its
    randomised solver), float32 [N, components], and those axes, to put more vectors on them."""
    from sklearn.decomposition import PCA

    pca = PCA(components, random_state=seed)
    reduced = pca.fit_transform(values).astype(np.float32)
    return reduced, PcaBasis(pca.mean_.astype(np.float32), pca.components_.astype(np.float32))


def leading_components(values: np.ndarray, components: int = 50, seed: int = 0) -> np.ndarray:
    """``values`` [N, D] on their first ``components`` principal axes (``principal_axes``): float32 [N, components]."""
    return principal_axes(values, components, seed)[0]
