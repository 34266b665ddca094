"""Rewind's Adam schedule in the terms of a library's Adam (torch.optim.Adam, optax.adamw).

Imported by replay_torch.py and replay_optax.py (docs/using-learned-schedules.md, "Adam schedules").
"""

import numpy as np


def library_adam(schedule):
    """Rewind's Adam step as the (lr, eps, weight_decay) of a library's Adam, per step and block.

    Rewind corrects the moments by c = 1 - prod(beta over the steps so far), exact when beta changes
    from step to step; torch.optim.Adam and optax divide by b = 1 - beta_t**t with the current beta.
    With r = sqrt(c2 / b2), lr = alpha * (b1 / c1) * r and eps = epsilon * r the library's
    lr * (m / b1) / (sqrt(v / b2) + eps) is Rewind's alpha * (m / c1) / (sqrt(v / c2) + epsilon),
    and the decoupled decay, which the library multiplies by lr, is alpha * decay / lr.
    Takes an exported table with "optimizer": "adam"; returns three (T, K) float64 arrays.
    """
    alpha = np.asarray(schedule["learning_rate"])          # (T, K)
    beta1 = np.asarray(schedule["beta1_applied"])          # (T, K)
    beta2 = np.asarray(schedule["beta2_applied"])          # (T, K)
    decay = np.asarray(schedule["weight_decay"])           # (K)
    t = np.arange(1, len(alpha) + 1)[:, None]
    c1, c2 = 1 - np.cumprod(beta1, axis=0), 1 - np.cumprod(beta2, axis=0)
    r = np.sqrt(c2 / (1 - beta2 ** t))
    lr = alpha * (1 - beta1 ** t) / c1 * r
    return lr, schedule["epsilon"] * r, alpha * decay / lr
