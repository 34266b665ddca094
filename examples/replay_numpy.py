#!/usr/bin/env python3
"""Replay one of Rewind's training runs in NumPy from its learned schedule.

Inputs:
  REPLAY.json    `rewind export --spec SPEC.json --item N`: the split's rows, the model's blocks,
                 the minibatch rows of every step and the noise eps of the initial weights.
  SCHEDULE.json  `rewind export-schedule JOB --item N` (or GET /v1/jobs/JOB/schedule?item=N):
                 learning rates and momenta per iteration and block, L2 and init scales.

The inner update is the paper's, not PyTorch's SGD (an Adam job's schedule, `"optimizer": "adam"`,
replays Rewind's Adam instead: see `adam` below and docs/using-learned-schedules.md):

    g = grad [mean cross-entropy(w; batch t) + 0.5 * sum(l2 * w**2)]
    v = gamma[t][k] * v - (1 - gamma[t][k]) * g          (v starts at 0)
    w = w + alpha[t][k] * v                               (w starts at init_scale[k] * eps)

Prints the validation loss at the final weights next to Rewind's, and exits 1 when they differ by
more than --tolerance (Rewind trains in exact fixed point; float64 here agrees far below 1e-6).

Usage: python3 examples/replay_numpy.py REPLAY.json SCHEDULE.json [--tolerance 1e-6]
"""

import argparse
import json
import sys

import numpy as np

ACTIVATIONS = {
    # (f(a), f'(a) written with the output h = f(a))
    "tanh": (np.tanh, lambda h: 1 - h * h),
    "relu": (lambda a: np.maximum(a, 0), lambda h: (h > 0).astype(np.float64)),
    "sigmoid": (lambda a: 1 / (1 + np.exp(-a)), lambda h: h * (1 - h)),
}


class MLP:
    """The model as Rewind lays it out: per layer W (fan-in, fan-out) row-major, then b."""

    def __init__(self, replay):
        self.blocks = replay["blocks"]
        self.layers = len(self.blocks) // 2
        self.activation, self.derivative = ACTIVATIONS[replay["architecture"]["activation"]]
        self.size = self.blocks[-1]["offset"] + self.blocks[-1]["rows"] * self.blocks[-1]["cols"]
        # Block index of every parameter, to broadcast per-block values.  # (N)
        self.block_of = np.concatenate(
            [np.full(b["rows"] * b["cols"], k) for k, b in enumerate(self.blocks)])

    def views(self, w):
        for layer in range(self.layers):
            wb, bb = self.blocks[2 * layer], self.blocks[2 * layer + 1]
            weights = w[wb["offset"]:wb["offset"] + wb["rows"] * wb["cols"]].reshape(wb["rows"], wb["cols"])
            yield weights, w[bb["offset"]:bb["offset"] + bb["cols"]]

    def forward(self, w, x):
        outputs = [x]
        for layer, (weights, bias) in enumerate(self.views(w)):
            a = outputs[-1] @ weights + bias
            outputs.append(self.activation(a) if layer < self.layers - 1 else a)
        return outputs

    @staticmethod
    def log_softmax(logits):
        shifted = logits - logits.max(axis=1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))

    def loss(self, w, x, y):
        log_p = self.log_softmax(self.forward(w, x)[-1])
        return -log_p[np.arange(len(y)), y].mean()

    def gradient(self, w, x, y, l2):
        outputs = self.forward(w, x)
        p = np.exp(self.log_softmax(outputs[-1]))
        delta = p
        delta[np.arange(len(y)), y] -= 1
        delta /= len(y)  # d mean-CE / d logits  # (B, classes)
        g = np.empty_like(w)
        views = list(self.views(np.arange(self.size)))
        for layer in range(self.layers - 1, -1, -1):
            w_index, b_index = views[layer]
            g[w_index] = outputs[layer].T @ delta
            g[b_index] = delta.sum(axis=0)
            if layer > 0:
                weights = w[w_index]
                delta = (delta @ weights.T) * self.derivative(outputs[layer])
        return g + l2 * w


def replay(replay_doc, schedule):
    model = MLP(replay_doc)
    block_of = model.block_of
    x_train = np.asarray(replay_doc["train"]["inputs"], dtype=np.float64)
    y_train = np.asarray(replay_doc["train"]["labels"], dtype=np.int64)
    x_valid = np.asarray(replay_doc["validation"]["inputs"], dtype=np.float64)
    y_valid = np.asarray(replay_doc["validation"]["labels"], dtype=np.int64)
    batches = np.asarray(replay_doc["batches"], dtype=np.int64)  # (T, B)

    alpha = np.asarray(schedule["learning_rate"])        # (T, K)
    if schedule.get("l2") is not None:
        l2 = np.asarray(schedule["l2"])[block_of]        # per block -> per parameter  # (N)
    else:
        l2 = np.asarray(schedule["l2_per_parameter"])
    scales = np.asarray(schedule["init_scale"])          # (K)

    w = scales[block_of] * np.asarray(replay_doc["noise"])
    if schedule.get("optimizer") == "adam":
        return model.loss(adam(model, schedule, w, l2, batches, x_train, y_train), x_valid, y_valid)
    gamma = np.asarray(schedule["momentum_applied"])     # (T, K)
    v = np.zeros_like(w)
    for t, rows in enumerate(batches):
        g = model.gradient(w, x_train[rows], y_train[rows], l2)
        v = gamma[t][block_of] * v - (1 - gamma[t][block_of]) * g
        w = w + alpha[t][block_of] * v
    return model.loss(w, x_valid, y_valid)


def adam(model, schedule, w, l2, batches, x_train, y_train):
    """Adam as Rewind runs it (an `"optimizer": "adam"` schedule): bias-corrected moments,
    decoupled weight decay applied to w before the step; returns the final weights."""
    block_of = model.block_of
    alpha = np.asarray(schedule["learning_rate"])        # (T, K)
    beta1 = np.asarray(schedule["beta1_applied"])        # (T, K)
    beta2 = np.asarray(schedule["beta2_applied"])        # (T, K)
    decay = np.asarray(schedule["weight_decay"])[block_of]  # (N)
    epsilon = schedule["epsilon"]
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    product1 = np.ones(alpha.shape[1])
    product2 = np.ones(alpha.shape[1])
    for t, rows in enumerate(batches):
        g = model.gradient(w, x_train[rows], y_train[rows], l2)
        product1 = product1 * beta1[t]
        product2 = product2 * beta2[t]
        b1, b2, a = beta1[t][block_of], beta2[t][block_of], alpha[t][block_of]
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - product1)[block_of]
        v_hat = v / (1 - product2)[block_of]
        w = (1 - a * decay) * w - a * m_hat / (np.sqrt(v_hat) + epsilon)
    return w


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("replay")
    parser.add_argument("schedule")
    parser.add_argument("--tolerance", type=float, default=1e-6)
    arguments = parser.parse_args()
    with open(arguments.replay) as handle:
        replay_doc = json.load(handle)
    with open(arguments.schedule) as handle:
        schedule = json.load(handle)
    if len(schedule["learning_rate"]) != len(replay_doc["batches"]):
        sys.exit("the schedule and the replay have different numbers of iterations")
    loss = replay(replay_doc, schedule)
    expected = schedule["validation_loss"]
    print(json.dumps({"validation_loss": loss, "rewind_validation_loss": expected, "difference": abs(loss - expected)}))
    if not abs(loss - expected) <= arguments.tolerance:
        sys.exit(f"validation loss {loss!r} differs from Rewind's {expected!r} by more than {arguments.tolerance}")


if __name__ == "__main__":
    main()
