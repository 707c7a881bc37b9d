"""TensorBoard, with its Projector made to serve a re-run's points, not the last run's.

``run_tensorboard.sh`` starts TensorBoard through this file; it takes
TensorBoard's own flags (``python tutorial/serve_tensorboard.py --logdir logs``).

Why: TensorBoard's Projector plugin (2.21 and earlier) reloads a run when the
run's latest checkpoint changes (the lessons give every checkpoint a new
name for that), but it also keeps the last tensor it served in a cache keyed
by run and tensor name, and never empties that cache on a reload. Re-run a
script into the same folder while TensorBoard is open, reload the page, and
the Projector gets the old points with the new sprite and metadata. Here the
cache is emptied whenever the plugin reloads its runs. Should a TensorBoard
release no longer have those internals, it runs unchanged.
"""

from __future__ import annotations

import sys


def forget_tensors_on_reload() -> bool:
    """Make the Projector plugin empty its tensor cache when it reloads runs; False if it cannot."""
    from tensorboard.plugins.projector import projector_plugin

    plugin = getattr(projector_plugin, "ProjectorPlugin", None)
    read_configs = getattr(plugin, "_read_latest_config_files", None)
    if read_configs is None or not hasattr(projector_plugin, "LRUCache"):
        return False

    def read_configs_afresh(self, run_path_pairs):
        # Called only when the runs or their latest checkpoints have changed.
        self.tensor_cache = projector_plugin.LRUCache(getattr(projector_plugin, "_TENSOR_CACHE_CAPACITY", 1))
        return read_configs(self, run_path_pairs)

    plugin._read_latest_config_files = read_configs_afresh
    return True


def main() -> None:
    from tensorboard import main as tensorboard_main

    forget_tensors_on_reload()
    sys.exit(tensorboard_main.run_main())


if __name__ == "__main__":
    main()
