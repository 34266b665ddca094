#!/usr/bin/env python3
"""Replay one of Rewind's training runs in PyTorch from its learned schedule.

Same inputs and output as replay_numpy.py (REPLAY.json from `rewind export --spec`, SCHEDULE.json
from `rewind export-schedule`). It uses torch.optim.SGD with one parameter group per block and
sets each group's lr, momentum and dampening before every step:

    Rewind:   v = gamma * v - (1 - gamma) * g;   w = w + alpha * v
    PyTorch:  b = momentum * b + (1 - dampening) * g;   w = w - lr * b

so momentum = dampening = gamma and lr = alpha give b = -v step for step, with two caveats this
script handles: PyTorch starts the buffer at g on the first step (not (1 - gamma) * g), so the
buffers are set to zeros first; and weight_decay = l2 adds l2 * w to g, the gradient of Rewind's
0.5 * l2 * w**2 penalty.

Usage: python3 examples/replay_torch.py REPLAY.json SCHEDULE.json [--tolerance 1e-6]
"""

import argparse
import json
import sys

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("replay")
    parser.add_argument("schedule")
    parser.add_argument("--tolerance", type=float, default=1e-6)
    arguments = parser.parse_args()
    with open(arguments.replay) as handle:
        replay = json.load(handle)
    with open(arguments.schedule) as handle:
        schedule = json.load(handle)

    blocks = replay["blocks"]
    noise = torch.tensor(replay["noise"])
    scales = schedule["init_scale"]
    alpha, gamma = schedule["learning_rate"], schedule["momentum_applied"]  # (T, K) each
    if schedule["l2"] is None:
        sys.exit("per-weight L2: add 0.5 * sum(l2 * w**2) to the loss instead of weight_decay")

    # Rewind's blocks alternate W (fan-in, fan-out) and b; nn.Linear holds W transposed.
    layers = []
    for layer in range(len(blocks) // 2):
        wb, bb = blocks[2 * layer], blocks[2 * layer + 1]
        linear = torch.nn.Linear(wb["rows"], wb["cols"])
        with torch.no_grad():
            w = noise[wb["offset"]:wb["offset"] + wb["rows"] * wb["cols"]].reshape(wb["rows"], wb["cols"])
            linear.weight.copy_(scales[2 * layer] * w.T)
            linear.bias.copy_(scales[2 * layer + 1] * noise[bb["offset"]:bb["offset"] + bb["cols"]])
        layers.append(linear)
    activation = ACTIVATIONS[replay["architecture"]["activation"]]

    def forward(x):
        for index, linear in enumerate(layers):
            x = linear(x)
            if index < len(layers) - 1:
                x = activation(x)
        return x

    # One group per block, in Rewind's order W1, b1, W2, b2, ...
    parameters = [p for linear in layers for p in (linear.weight, linear.bias)]
    groups = [{"params": [p], "weight_decay": schedule["l2"][k]} for k, p in enumerate(parameters)]
    optimizer = torch.optim.SGD(groups, lr=1.0, momentum=0.9, dampening=0.9)
    for p in parameters:
        optimizer.state[p]["momentum_buffer"] = torch.zeros_like(p)

    x_train = torch.tensor(replay["train"]["inputs"])
    y_train = torch.tensor(replay["train"]["labels"], dtype=torch.long)
    for t, rows in enumerate(replay["batches"]):
        for k, group in enumerate(optimizer.param_groups):
            group["lr"] = alpha[t][k]
            group["momentum"] = group["dampening"] = gamma[t][k]
        rows = torch.tensor(rows)
        optimizer.zero_grad()
        F.cross_entropy(forward(x_train[rows]), y_train[rows]).backward()
        optimizer.step()

    with torch.no_grad():
        x_valid = torch.tensor(replay["validation"]["inputs"])
        y_valid = torch.tensor(replay["validation"]["labels"], dtype=torch.long)
        loss = F.cross_entropy(forward(x_valid), y_valid).item()
    expected = schedule["validation_loss"]
    print(json.dumps({"validation_loss": loss, "rewind_validation_loss": expected, "difference": abs(loss - expected)}))
    if not abs(loss - expected) <= arguments.tolerance:
        sys.exit(f"validation loss {loss!r} differs from Rewind's {expected!r} by more than {arguments.tolerance}")


if __name__ == "__main__":
    main()
