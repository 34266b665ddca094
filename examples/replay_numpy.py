#!/usr/bin/env python3
"""Replay one of Rewind's training runs in NumPy from its learned schedule.

Inputs:
  REPLAY.json    `rewind export --spec SPEC.json --item N`: the split's rows, the network layer by
                 layer (dense, conv2d, pooling, activations, flatten) with its blocks, the
                 minibatch rows of every step and the noise eps of the initial weights.
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


class Network:
    """The model as Rewind lays it out, from the export's architecture.layers (the output dense
    layer last): images NHWC with channels fastest, conv2d weights (kernel, kernel, in channels,
    filters), dense weights (fan-in, fan-out), flatten in (height, width, channels) order."""

    def __init__(self, replay):
        self.blocks = replay["blocks"]
        self.layers = replay["architecture"]["layers"]
        self.input_shape = replay["architecture"]["input_shape"]
        self.offsets = {b["name"]: (b["offset"], b["rows"] * b["cols"]) for b in self.blocks}
        self.size = self.blocks[-1]["offset"] + self.blocks[-1]["rows"] * self.blocks[-1]["cols"]
        # Block index of every parameter, to broadcast per-block values.  # (N)
        self.block_of = np.concatenate(
            [np.full(b["rows"] * b["cols"], k) for k, b in enumerate(self.blocks)])

    def parameters(self, w, layer):
        """(weights, biases) of a layer with parameters, views into the flat vector w."""
        (w_offset, w_count), (b_offset, b_count) = self.offsets[layer["weights"]], self.offsets[layer["biases"]]
        weights = w[w_offset:w_offset + w_count]
        if layer["type"] == "conv2d":
            k, channels = layer["kernel"], layer["input_shape"][2]
            weights = weights.reshape(k, k, channels, layer["filters"])
        else:
            weights = weights.reshape(-1, layer["units"])
        return weights, w[b_offset:b_offset + b_count]

    @staticmethod
    def patches(x, layer):
        """im2col: (B, out h, out w, kernel, kernel, channels) patches of the zero-padded images."""
        top, bottom, left, right = layer["pad"]
        padded = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
        k, s = layer["kernel"], layer["stride"]
        out_h, out_w = layer["output_shape"][:2]
        windows = np.lib.stride_tricks.sliding_window_view(padded, (k, k), axis=(1, 2))  # (B, h, w, C, k, k)
        windows = windows[:, :(out_h - 1) * s + 1:s, :(out_w - 1) * s + 1:s]
        return windows.transpose(0, 1, 2, 4, 5, 3), padded.shape

    @staticmethod
    def windows(x, layer):
        """Pooling windows (B, out h, out w, channels, size * size) in row-major window order."""
        size = layer["size"]
        out_h, out_w, channels = layer["output_shape"]
        x = x[:, :out_h * size, :out_w * size]
        x = x.reshape(len(x), out_h, size, out_w, size, channels)
        return x.transpose(0, 1, 3, 5, 2, 4).reshape(len(x), out_h, out_w, channels, size * size)

    def forward(self, w, x):
        """Every layer's input, and the logits last."""
        x = x.reshape([len(x)] + self.input_shape)
        values = [x]
        for layer in self.layers:
            kind = layer["type"]
            if kind == "dense":
                weights, biases = self.parameters(w, layer)
                x = x @ weights + biases
            elif kind == "conv2d":
                weights, biases = self.parameters(w, layer)
                columns, _ = self.patches(x, layer)
                x = np.tensordot(columns, weights, axes=3) + biases
            elif kind == "maxpool":
                x = self.windows(x, layer).max(axis=4)
            elif kind == "avgpool":
                x = self.windows(x, layer).mean(axis=4)
            elif kind == "flatten":
                x = x.reshape(len(x), -1)
            else:
                x = ACTIVATIONS[kind][0](x)
            values.append(x)
        return values

    @staticmethod
    def log_softmax(logits):
        shifted = logits - logits.max(axis=1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))

    def loss(self, w, x, y):
        log_p = self.log_softmax(self.forward(w, x)[-1])
        return -log_p[np.arange(len(y)), y].mean()

    def gradient(self, w, x, y, l2):
        values = self.forward(w, x)
        p = np.exp(self.log_softmax(values[-1]))
        delta = p
        delta[np.arange(len(y)), y] -= 1
        delta /= len(y)  # d mean-CE / d logits  # (B, classes)
        g = np.empty_like(w)
        for index in range(len(self.layers) - 1, -1, -1):
            layer, below, above = self.layers[index], values[index], values[index + 1]
            kind = layer["type"]
            if kind in ("dense", "conv2d"):
                weights, _ = self.parameters(w, layer)
                g_weights, g_biases = self.parameters(g, layer)
                if kind == "dense":
                    g_weights[...] = below.T @ delta
                    g_biases[...] = delta.sum(axis=0)
                    delta = delta @ weights.T
                else:
                    columns, padded_shape = self.patches(below, layer)
                    g_weights[...] = np.tensordot(columns, delta, axes=([0, 1, 2], [0, 1, 2]))
                    g_biases[...] = delta.sum(axis=(0, 1, 2))
                    # col2im: every patch value's gradient back to its pixel of the padded image.
                    d_columns = np.tensordot(delta, weights, axes=([3], [3]))  # (B, oh, ow, k, k, C)
                    d_padded = np.zeros(padded_shape)
                    k, s = layer["kernel"], layer["stride"]
                    out_h, out_w = layer["output_shape"][:2]
                    for ky in range(k):
                        for kx in range(k):
                            d_padded[:, ky:ky + (out_h - 1) * s + 1:s, kx:kx + (out_w - 1) * s + 1:s] += \
                                d_columns[:, :, :, ky, kx]
                    top, _, left, _ = layer["pad"]
                    delta = d_padded[:, top:top + below.shape[1], left:left + below.shape[2]]
            elif kind in ("maxpool", "avgpool"):
                windows = self.windows(below, layer)
                if kind == "maxpool":
                    # The first maximum in row-major window order takes the gradient, as in Rewind.
                    chosen = windows.argmax(axis=4)
                    routed = np.zeros(windows.shape)
                    np.put_along_axis(routed, chosen[..., None], delta[..., None], axis=4)
                else:
                    routed = np.broadcast_to(delta[..., None] / windows.shape[4], windows.shape)
                size = layer["size"]
                out_h, out_w, channels = layer["output_shape"]
                routed = routed.reshape(len(below), out_h, out_w, channels, size, size)
                d_below = np.zeros(below.shape)
                d_below[:, :out_h * size, :out_w * size] = \
                    routed.transpose(0, 1, 4, 2, 5, 3).reshape(len(below), out_h * size, out_w * size, channels)
                delta = d_below
            elif kind == "flatten":
                delta = delta.reshape(below.shape)
            else:
                delta = delta * ACTIVATIONS[kind][1](above)
        return g + l2 * w


def replay(replay_doc, schedule):
    model = Network(replay_doc)
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
    if schedule.get("weight_decay") is not None:
        decay = np.asarray(schedule["weight_decay"])[block_of]  # per block -> per parameter  # (N)
    else:
        decay = np.asarray(schedule["weight_decay_per_parameter"])  # weight decay per weight  # (N)
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
