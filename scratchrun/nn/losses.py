"""Softmax cross-entropy, the loss of every classifier here."""

from __future__ import annotations

import numpy as np


def softmax_cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean of −log softmax(logits)[y] over the batch, and its gradient (softmax − onehot(y)) / B.

    Computed through the log-sum-exp with the row maximum subtracted, so large logits never overflow.
    """
    batch = logits.shape[0]
    rows = np.arange(batch)
    shifted = logits - logits.max(axis=1, keepdims=True)  # (B, C)
    exp = np.exp(shifted)
    sum_exp = exp.sum(axis=1, keepdims=True)  # (B, 1)
    loss = (float(np.log(sum_exp).sum()) - float(shifted[rows, y].sum())) / batch
    exp /= sum_exp  # softmax, in place: exp is ours
    exp[rows, y] -= 1
    exp /= batch
    return loss, exp


def cross_entropy_sum(logits: np.ndarray, y: np.ndarray) -> tuple[float, int]:
    """Summed loss and number of correct predictions over a chunk: evaluation needs no gradient."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_sum_exp = np.log(np.exp(shifted).sum(axis=1))
    loss_sum = float(np.sum(log_sum_exp - shifted[np.arange(len(y)), y], dtype=np.float64))
    correct = int(np.count_nonzero(shifted.argmax(axis=1) == y))
    return loss_sum, correct
