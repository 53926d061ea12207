"""Multinomial logistic regression in numpy: the small heads Cercle trains on embeddings."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def fit_softmax(
    x: npt.NDArray[np.float32],
    y: npt.NDArray[np.int64],
    classes: int,
    l2: float = 1e-3,
    steps: int = 600,
    rate: float = 2.0,
    seed: int = 0,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Weights [classes, dim] and bias [classes] minimising cross-entropy + l2·|W|² (full-batch GD).

    Embeddings are L2-normalised, so a fixed step size is stable; a few hundred
    steps converge on a few hundred examples in well under a second.
    """
    rng = np.random.default_rng(seed)
    n, dim = x.shape
    w = rng.normal(0.0, 0.01, size=(classes, dim)).astype(np.float64)
    b = np.zeros(classes, dtype=np.float64)
    onehot = np.eye(classes)[y]
    xd = x.astype(np.float64)
    for _ in range(steps):
        z = xd @ w.T + b
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        grad = (p - onehot) / n
        w -= rate * (grad.T @ xd + l2 * w)
        b -= rate * grad.sum(axis=0)
    return w.astype(np.float32), b.astype(np.float32)


def fit_log_odds(
    x: npt.NDArray[np.float32], y: npt.NDArray[np.int64], l2: float = 1e-3, steps: int = 50
) -> npt.NDArray[np.float32]:
    """Weights [dim] of a binary logistic regression with no intercept (Newton's method).

    For a handful of features (the sentiment voters' log-odds): no intercept, so a text
    on which every feature is 0 (no evidence) stays at even odds, whatever the share of
    positive examples in the training set.
    """
    xd = x.astype(np.float64)
    w = np.zeros(xd.shape[1])
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(xd @ w)))
        gradient = xd.T @ (p - y) / len(y) + l2 * w
        hessian = (xd.T * (p * (1.0 - p))) @ xd / len(y) + l2 * np.eye(len(w))
        w -= np.linalg.solve(hessian, gradient)
    return w.astype(np.float32)
