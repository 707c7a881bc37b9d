"""TensorFlow without its C++ log lines: each script imports this before TensorFlow loads.

On a machine without a GPU, TensorFlow 2.21 logs lines that read like
failures (``E0000 ... failed call to cuInit: UNKNOWN ERROR (303)``, and
``NodeDef mentions attribute use_unbounded_threadpool`` when Keras trains).
Level 3 keeps only fatal ones; Python errors are raised as before. A level
the user has set (``TF_CPP_MIN_LOG_LEVEL=0`` to see everything) is kept. Two
lines come while TensorFlow's libraries load, before it reads this setting
(``Could not find cuda drivers on your machine``); no setting hides those.

Lessons 1 and 3 import it in ``main()``, not at the top, so that importing
their functions (``from mnist_tsne import write_projector_logs``) leaves your
process's environment as it was; lesson 2 loads Keras at the top, so it
imports this first.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
