"""Bench section: Your own vectors at practitioner scale: 50,000 x 384 in cosine distance."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import dataset_in, in_subprocess, without_worker_memory


def practitioner_vectors(data_dir: str, n: int, dims: int, folder: Path) -> tuple[Path, Path]:
    """The first ``n`` train images of ``data_dir`` (Fashion-MNIST's, for the README) reduced to ``dims`` numbers
    by PCA, as sentence vectors are 384: ``vectors.npy`` and a ``metadata.tsv`` of their class names."""
    import numpy as np
    from sklearn.decomposition import PCA

    from mnist_tsne import pixel_vectors
    from tutorial.mnist_data import load_dataset

    data = load_dataset(dataset_in(data_dir), data_dir)
    images, labels = (data.train_images, data.train_labels) if len(data.train_images) else (
        data.test_images, data.test_labels)
    pixels = pixel_vectors(images[:n])
    vectors = PCA(min(dims, *pixels.shape), random_state=0).fit_transform(pixels).astype(np.float32)
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "vectors.npy", vectors)
    names = [data.class_names[label] for label in labels[:n]]
    (folder / "metadata.tsv").write_text("class_name\n" + "\n".join(names) + "\n")
    return folder / "vectors.npy", folder / "metadata.tsv"


def opentsne_cosine_worker(vectors: str) -> dict:
    """openTSNE's default ``TSNE(metric="cosine").fit`` of the vectors (only the fit is timed)."""
    import numpy as np
    from openTSNE import TSNE

    x = np.load(vectors)
    start = time.perf_counter()
    TSNE(metric="cosine", random_state=0, n_jobs=-1).fit(x)
    return {"seconds": round(time.perf_counter() - start, 1)}


def atlas_worker(command: str, vectors: str, metadata: str, port: int) -> dict:
    """Embedding Atlas on the same vectors as a parquet file (``embedding-atlas FILE --vector COLUMN``, its cosine
    UMAP, seed 0), timed from the command's start until its page answers; the server is then stopped."""
    import urllib.request

    # The parquet file is written (untimed) by Embedding Atlas's own Python, which has pyarrow.
    interpreter = Path(command).read_text(errors="replace").splitlines()[0].removeprefix("#!").strip()
    parquet = Path(vectors).with_suffix(".parquet")
    subprocess.run([interpreter, "-c", (
        "import sys, numpy as np, pyarrow as pa, pyarrow.parquet as pq\n"
        "x = np.load(sys.argv[1]); names = open(sys.argv[2]).read().splitlines()[1:]\n"
        "vector = pa.FixedSizeListArray.from_arrays(pa.array(x.ravel()), x.shape[1])\n"
        "pq.write_table(pa.table({'class_name': names, 'vector': vector}), sys.argv[3])\n"),
        vectors, metadata, str(parquet)], check=True)
    log = parquet.with_suffix(".log").open("w")  # a file, not a pipe, which could fill and stall it
    start = time.perf_counter()
    process = subprocess.Popen([command, str(parquet), "--vector", "vector", "--host", "127.0.0.1", "--port",
                                str(port), "--no-auto-port", "--umap-random-state", "0"],
                               stdout=log, stderr=subprocess.STDOUT)
    try:
        while True:
            if process.poll() is not None:
                output = parquet.with_suffix(".log").read_text()[-300:]
                return {"note": f"embedding-atlas exited {process.returncode}: {output}"}
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read()
                return {"seconds_until_page_answers": round(time.perf_counter() - start, 1)}
            except OSError:
                time.sleep(0.5)
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def bench_vectors(args: argparse.Namespace) -> list[dict]:
    """``vectors_tsne.py --metric cosine`` on ``--vectors-n`` vectors of 384 numbers, end to end, beside openTSNE's
    default cosine fit of the same vectors and Embedding Atlas serving them (goal: at most 0.8x openTSNE, 3 GB)."""
    import socket

    n = args.vectors_n
    data_dir = str(args.train_data_dir if Path(args.train_data_dir).is_dir() else args.data_dir)
    source = "Fashion-MNIST" if dataset_in(data_dir) == "fashion_mnist" else "MNIST"
    with tempfile.TemporaryDirectory() as tmp:
        vectors, metadata = practitioner_vectors(data_dir, n, 384, Path(tmp) / "data")
        theirs = in_subprocess("vectors.opentsne_cosine_worker", vectors=str(vectors))
        run_dir = Path(tmp) / "logs" / "vectors"
        ours = in_subprocess("common.script_worker", command=[
            sys.executable, "vectors_tsne.py", str(vectors), "--metadata", str(metadata), "--color-by", "class_name",
            "--metric", "cosine", "--logdir", str(run_dir)])
        metrics = json.loads((run_dir / "metrics.json").read_text())["embeddings"]
        atlas = shutil.which(args.embedding_atlas) or (args.embedding_atlas if Path(args.embedding_atlas).is_file()
                                                       else None)
        if atlas:
            with socket.socket() as free:
                free.bind(("127.0.0.1", 0))
                port = free.getsockname()[1]
            atlas_row = in_subprocess("vectors.atlas_worker", command=atlas, vectors=str(vectors),
                                      metadata=str(metadata), port=port)
        else:
            atlas_row = {"note": "skipped: pip install embedding-atlas (or --embedding-atlas PATH)"}
    ratio = ours["seconds"] / theirs["seconds"]
    what = f"{n} {source} train images as 384 PCA numbers, cosine"
    return [
        {"benchmark": f"openTSNE TSNE(metric='cosine').fit, {what}", **theirs},
        {"benchmark": f"vectors_tsne.py --metric cosine --color-by class_name, {what}, end to end",
         **without_worker_memory(ours), "knn_accuracy": metrics["vectors"]["knn_accuracy"],
         "knn_accuracy_of_map": metrics["vectors_tsne_2d"]["knn_accuracy"],
         "trustworthiness": metrics["vectors_tsne_2d"]["trustworthiness"], "vs_opentsne_cosine": round(ratio, 2),
         "goal": "<= 0.8x openTSNE's cosine fit, <= 3072 MB",
         "goal_met": ratio <= 0.8 and ours["child_peak_rss_mb"] <= 3072},
        {"benchmark": f"embedding-atlas FILE.parquet --vector vector (cosine UMAP), {what}", **atlas_row},
    ]
