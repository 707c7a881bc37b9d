"""How long an autoencoder may train: a cap on weight updates, not on epochs.

Early stopping (lesson 2, section 4) ends training once an epoch improves
the validation error by less than its ``min_delta``; the cap only guards
against a run that never settles. A cap in epochs would be unfair to small
fit sets: 20 epochs are 7,500 weight updates with 48,000 training images but
640 with 4,000, where both models were still improving when 20 epochs ran
out. So the cap is 7,500 updates (20 epochs of 48,000), and never fewer
than 20 epochs.
"""

from __future__ import annotations

import math

MOST_UPDATES = 7_500
FEWEST_EPOCHS = 20


def most_epochs(train_count: int, batch_size: int) -> int:
    """Epochs that make ``MOST_UPDATES`` weight updates of ``batch_size`` (at least ``FEWEST_EPOCHS``)."""
    updates_per_epoch = math.ceil(train_count / batch_size)
    return max(FEWEST_EPOCHS, math.ceil(MOST_UPDATES / updates_per_epoch))
