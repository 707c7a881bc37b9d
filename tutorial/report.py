"""A run's report: metrics in ``metrics.json``, the terminal and the Text tab; each map as a picture.

``write_report`` measures every tensor of a run (``tutorial/metrics.py``) and
draws every 2-D t-SNE map (``tutorial/plotting.py``), each picture saved in
the run and written to its event file for TensorBoard's Images tab.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np


def write_report(run_dir: Path, tensors: dict[str, np.ndarray], labels: np.ndarray,
                 images: np.ndarray, class_names: list[str], *, evaluate: bool, perplexity: float, seed: int,
                 extra_metrics: dict | None = None) -> dict:
    """Write metrics (with ``evaluate``) and a picture of every ``<name>_tsne_2d`` map; return the metrics.

    Trustworthiness is measured against what a tensor was computed from: a
    ``<name>_tsne_<d>d`` map against ``<name>``, any other embedding against
    ``pixels``. ``extra_metrics`` are added to ``metrics.json`` as they are.
    """
    import tensorflow as tf

    sources = {name: re.sub(r"_tsne_\dd$", "", name) if "_tsne_" in name else "pixels" for name in tensors}
    sources = {name: source for name, source in sources.items() if source != name and source in tensors}
    metrics = {}
    maps = {name.removesuffix("_tsne_2d"): values for name, values in tensors.items() if name.endswith("_tsne_2d")}
    if not evaluate and not maps:
        return metrics
    writer = tf.summary.create_file_writer(str(run_dir))
    with writer.as_default():
        if evaluate:
            from tutorial.metrics import evaluate_embeddings, metrics_table  # scikit-learn: a second to load

            print("Measuring every tensor (kNN accuracy, trustworthiness) ...", flush=True)
            metrics = {"embeddings": evaluate_embeddings(tensors, labels, sources, seed), **(extra_metrics or {})}
            table = metrics_table(metrics["embeddings"])
            print(table)
            (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
            tf.summary.text("metrics", table, step=0)
        if maps:
            from tutorial.plotting import plot_tsne_map  # matplotlib: loaded only when there is a map

        for embedding, values in maps.items():
            png = plot_tsne_map(values, labels, images, class_names, seed=seed,
                                title=f"t-SNE of {embedding} (perplexity {perplexity:g})")
            (run_dir / f"tsne_map_{embedding}.png").write_bytes(png)
            tf.summary.image(f"tsne_map/{embedding}", tf.image.decode_png(png, channels=3)[None], step=0)
    writer.close()
    return metrics
