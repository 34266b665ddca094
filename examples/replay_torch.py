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
0.5 * l2 * w**2 penalty (a per-weight L2 is added to the loss instead).

An Adam job's schedule (`"optimizer": "adam"`) is replayed with torch.optim.Adam
(decoupled_weight_decay=True, i.e. AdamW), one group per block, whose lr, betas, eps and
weight_decay are set before every step from the table: the betas as the exact dynamics apply them,
and lr, eps and weight_decay rescaled so that the library's bias correction 1 - beta_t**t becomes
Rewind's 1 - prod(beta) (see library_adam in adam_recipe.py). The L2 penalty stays inside the loss.

The network is rebuilt from the export's architecture.layers with nn.Conv2d, nn.MaxPool2d,
nn.AvgPool2d, nn.Flatten, nn.Linear and activation modules (see build() for how Rewind's block names
and layouts map to the module's parameters).

Usage: python3 examples/replay_torch.py REPLAY.json SCHEDULE.json [--tolerance 1e-6]
"""

import argparse
import json
import sys
from collections import OrderedDict

import torch
import torch.nn.functional as F

from adam_recipe import library_adam  # examples/adam_recipe.py, beside this script

torch.set_default_dtype(torch.float64)
ACTIVATIONS = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid}


def build(architecture):
    """The export's architecture.layers as an nn.Sequential of named modules, and for every Rewind
    block its parameter with the map from Rewind's flat layout to PyTorch's.

    A layer with parameters is the module named after its blocks: conv2d_1.weights and
    conv2d_1.biases are the parameters conv2d_1.weight and conv2d_1.bias (dense shorthand: W1, b1
    are linear1.weight, linear1.bias). Layouts: Rewind's conv2d weights are (kernel, kernel, in,
    filters) and nn.Conv2d's (filters, in, kernel, kernel); nn.Linear holds W transposed; and a
    dense layer after a flatten reads an image flattened as (height, width, channels) in Rewind
    but (channels, height, width) here, so its input columns are permuted to match.
    """
    modules, parameter_of = OrderedDict(), {}
    for index, layer in enumerate(architecture["layers"]):
        kind = layer["type"]
        if kind in ("dense", "conv2d"):
            weights, biases = layer["weights"], layer["biases"]
            name = weights.split(".")[0] if "." in weights else "linear" + weights[1:]
        if kind == "conv2d":
            top, bottom, left, right = layer["pad"]
            if (top, left) != (bottom, right):
                modules[f"pad_{index}"] = torch.nn.ZeroPad2d((left, right, top, bottom))
                padding = 0
            else:
                padding = (top, left)
            k, channels, filters = layer["kernel"], layer["input_shape"][2], layer["filters"]
            module = torch.nn.Conv2d(channels, filters, k, stride=layer["stride"], padding=padding)
            parameter_of[weights] = (
                module.weight, lambda v, k=k, c=channels, f=filters: v.reshape(k, k, c, f).permute(3, 2, 0, 1))
        elif kind == "dense":
            fan_in, units = layer["input_shape"][0], layer["units"]
            module = torch.nn.Linear(fan_in, units)
            image = architecture["layers"][index - 1]["input_shape"] if index > 0 else None
            if index > 0 and architecture["layers"][index - 1]["type"] == "flatten" and len(image) == 3:
                h, w, c = image  # Rewind's row (y, x, ch) is PyTorch's column ch * h * w + y * w + x
                parameter_of[weights] = (
                    module.weight,
                    lambda v, h=h, w=w, c=c, u=units: v.reshape(h, w, c, u).permute(3, 2, 0, 1).reshape(u, h * w * c))
            else:
                parameter_of[weights] = (module.weight, lambda v, f=fan_in, u=units: v.reshape(f, u).T)
        elif kind == "maxpool":
            module, name = torch.nn.MaxPool2d(layer["size"]), f"maxpool_{index}"
        elif kind == "avgpool":
            module, name = torch.nn.AvgPool2d(layer["size"]), f"avgpool_{index}"
        elif kind == "flatten":
            module, name = torch.nn.Flatten(), f"flatten_{index}"
        else:
            module, name = ACTIVATIONS[kind](), f"{kind}_{index}"
        if kind in ("dense", "conv2d"):
            parameter_of[biases] = (module.bias, lambda v: v)
        modules[name] = module
    return torch.nn.Sequential(modules), parameter_of


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
    adam = schedule.get("optimizer") == "adam"
    if adam and schedule.get("weight_decay") is None:
        sys.exit("per-weight decay: multiply each weight by 1 - alpha * decay before the step instead")

    blocks = replay["blocks"]
    noise = torch.tensor(replay["noise"])
    scales = schedule["init_scale"]
    alpha = schedule["learning_rate"]  # (T, K)

    model, parameter_of = build(replay["architecture"])
    # w_1 = s_k * eps for every block, moved into PyTorch's layouts.
    with torch.no_grad():
        for k, block in enumerate(blocks):
            parameter, to_torch = parameter_of[block["name"]]
            values = scales[k] * noise[block["offset"]:block["offset"] + block["rows"] * block["cols"]]
            parameter.copy_(to_torch(values))
    # One parameter per block, in Rewind's order (conv2d_1.weights, conv2d_1.biases, ...), and its
    # L2 strengths in the same layout (one per block, or one per weight).
    parameters = [parameter_of[block["name"]][0] for block in blocks]
    if schedule["l2"] is not None:
        l2 = [torch.full_like(p, schedule["l2"][k]) for k, p in enumerate(parameters)]
    else:
        per_weight = torch.tensor(schedule["l2_per_parameter"])
        l2 = [parameter_of[b["name"]][1](per_weight[b["offset"]:b["offset"] + b["rows"] * b["cols"]]) for b in blocks]

    if adam:
        # torch.optim.Adam with decoupled (AdamW) decay, one group per block; Rewind's L2 is a
        # penalty inside the loss, as Adam's original L2 is.
        optimizer = torch.optim.Adam(
            [{"params": [p]} for p in parameters], lr=1.0, eps=1e-8, decoupled_weight_decay=True)
        rates, epsilons, decays = (table.tolist() for table in library_adam(schedule))
        beta1, beta2 = schedule["beta1_applied"], schedule["beta2_applied"]

        def configure(t, k, group):
            group.update(lr=rates[t][k], betas=(beta1[t][k], beta2[t][k]), eps=epsilons[t][k],
                         weight_decay=decays[t][k])

        def penalty():
            return 0.5 * sum((lam * p * p).sum() for lam, p in zip(l2, parameters))
    else:
        # SGD with dampening = momentum (see the docstring); weight_decay = l2 is the penalty's
        # gradient for a per-block L2, a per-weight L2 goes into the loss.
        gamma = schedule["momentum_applied"]  # (T, K)
        per_block = schedule["l2"] is not None
        groups = [{"params": [p], "weight_decay": schedule["l2"][k] if per_block else 0.0}
                  for k, p in enumerate(parameters)]
        optimizer = torch.optim.SGD(groups, lr=1.0, momentum=0.9, dampening=0.9)
        for p in parameters:
            optimizer.state[p]["momentum_buffer"] = torch.zeros_like(p)

        def configure(t, k, group):
            group["lr"] = alpha[t][k]
            group["momentum"] = group["dampening"] = gamma[t][k]

        def penalty():
            return 0.0 if per_block else 0.5 * sum((lam * p * p).sum() for lam, p in zip(l2, parameters))

    input_shape = replay["architecture"]["input_shape"]

    def forward(x):
        if len(input_shape) == 3:
            x = x.reshape([len(x)] + input_shape).permute(0, 3, 1, 2)  # Rewind's NHWC rows -> NCHW
        return model(x)

    x_train = torch.tensor(replay["train"]["inputs"])
    y_train = torch.tensor(replay["train"]["labels"], dtype=torch.long)
    for t, rows in enumerate(replay["batches"]):
        for k, group in enumerate(optimizer.param_groups):
            configure(t, k, group)
        rows = torch.tensor(rows)
        optimizer.zero_grad()
        (F.cross_entropy(forward(x_train[rows]), y_train[rows]) + penalty()).backward()
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
