"""Bench section: Writing projector logs vs PyTorch's SummaryWriter.add_embedding."""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from bench.common import folder_bytes, median_seconds, serves_tensor, shown_digits, write_digits


def bench_writer(args: argparse.Namespace) -> list[dict]:
    """write_projector_logs vs torch's add_embedding: same digits, vectors, labels and sprite."""
    images, labels, class_names = shown_digits(args.data_dir, args.num_images)
    pixels = images.reshape(len(images), -1).astype("float32") / 255
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        logs = Path(tmp) / "logs"  # each writer's run in a folder of its own; one TensorBoard serves both
        seconds = median_seconds(lambda: write_digits(logs / "ours", pixels, images, labels, class_names),
                                 args.repeats)
        rows.append({"benchmark": f"write_projector_logs, {len(images)} x 784", "seconds": round(seconds, 2),
                     "MB_on_disk": round(folder_bytes(logs / "ours") / 1e6, 1)})
        try:
            import torch
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            rows[0]["tensorboard_serves_it"] = serves_tensor(logs, ["ours"], [len(images), 784])["ours"]
            rows.append({"benchmark": "torch SummaryWriter.add_embedding",
                         "note": "skipped: torch is not installed (pip install torch==2.13.0)"})
            return rows
        theirs = logs / "torch"
        label_img = torch.from_numpy(images[:, None].astype("float32") / 255)
        metadata = [class_names[label] for label in labels]

        def torch_write() -> None:
            writer = SummaryWriter(str(theirs))
            writer.add_embedding(torch.from_numpy(pixels), metadata=metadata, label_img=label_img, tag="pixels")
            writer.close()

        torch_seconds = median_seconds(torch_write, args.repeats)
        shutil.rmtree(theirs)
        torch_write()
        served = serves_tensor(logs, ["ours", "torch"], [len(images), 784])
        rows[0]["tensorboard_serves_it"] = served["ours"]
        ratio = torch_seconds / seconds
        rows.append({"benchmark": f"torch {torch.__version__} add_embedding, same data",
                     "seconds": round(torch_seconds, 2), "MB_on_disk": round(folder_bytes(theirs) / 1e6, 1),
                     "tensorboard_serves_it": served["torch"],
                     "ours_faster_by": f"{ratio:.1f}x", "goal": ">= 5x faster", "goal_met": ratio >= 5})
    return rows
