#!/usr/bin/env python3
"""Replay one of Rewind's training runs in JAX with optax from its learned schedule.

Same inputs and output as replay_numpy.py (REPLAY.json from `rewind export --spec`, SCHEDULE.json
from `rewind export-schedule`). optax's sgd(momentum=...) keeps an undamped trace
(b = mu * b + g), so this script writes the paper's update as a small GradientTransformation with
a step counter in its state, one (T, K) table per hyperparameter and the L2 penalty's gradient:

    g = g + l2[k] * w;   v = gamma[t][k] * v - (1 - gamma[t][k]) * g;   update = alpha[t][k] * v

An Adam job's schedule (`"optimizer": "adam"`) is replayed with optax's own AdamW,
optax.inject_hyperparams(optax.adamw), one per block, whose learning_rate, b1, b2, eps and
weight_decay are set in its state before every step: the betas as the exact dynamics apply them,
and the step size, eps and decay rescaled so that optax's bias correction 1 - b**t becomes
Rewind's 1 - prod(beta) (see library_adam in adam_recipe.py). The L2 penalty is added to the loss.

The network is rebuilt from the export's architecture.layers with jax.lax: conv2d as
conv_general_dilated in NHWC/HWIO (Rewind's own layouts, so no transposes) with the export's
explicit padding, pooling as reduce_window, flatten in (height, width, channels) order.

Usage: python3 examples/replay_optax.py REPLAY.json SCHEDULE.json [--tolerance 1e-6]
"""

import argparse
import json
import sys

import jax
import jax.numpy as jnp
import optax

from adam_recipe import library_adam  # examples/adam_recipe.py, beside this script

jax.config.update("jax_enable_x64", True)
ACTIVATIONS = {"tanh": jnp.tanh, "relu": jax.nn.relu, "sigmoid": jax.nn.sigmoid}


def rewind_momentum(alpha, gamma, l2):
    """The paper's SGD with momentum; alpha, gamma (T, K); params and l2 lists of K blocks (l2 shaped
    like its block: one value per block, or one per weight)."""

    def init(params):
        return {"v": [jnp.zeros_like(p) for p in params], "t": jnp.zeros([], jnp.int32)}

    def update(grads, state, params):
        t = state["t"]
        velocities, updates = [], []
        for k, (g, v, w) in enumerate(zip(grads, state["v"], params)):
            v = gamma[t, k] * v - (1 - gamma[t, k]) * (g + l2[k] * w)
            velocities.append(v)
            updates.append(alpha[t, k] * v)
        return updates, {"v": velocities, "t": t + 1}

    return optax.GradientTransformation(init, update)


def rewind_adam(schedule, params):
    """optax's AdamW per block, set step by step to Rewind's Adam: returns (init, update) over
    the list of K blocks, with the step counter t in the state picking the table's row."""
    rates, epsilons, decays = (jnp.asarray(table) for table in library_adam(schedule))
    beta1, beta2 = jnp.asarray(schedule["beta1_applied"]), jnp.asarray(schedule["beta2_applied"])
    adamw = [optax.inject_hyperparams(optax.adamw)(learning_rate=1.0, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0)
             for _ in params]

    def init(params):
        return {"blocks": [opt.init(p) for opt, p in zip(adamw, params)], "t": jnp.zeros([], jnp.int32)}

    def update(grads, state, params):
        t = state["t"]
        updates, states = [], []
        for k, (opt, g, block, w) in enumerate(zip(adamw, grads, state["blocks"], params)):
            hyperparams = dict(block.hyperparams, learning_rate=rates[t, k], b1=beta1[t, k], b2=beta2[t, k],
                               eps=epsilons[t, k], weight_decay=decays[t, k])
            u, block = opt.update(g, block._replace(hyperparams=hyperparams), w)
            updates.append(u)
            states.append(block)
        return updates, {"blocks": states, "t": t + 1}

    return optax.GradientTransformation(init, update)


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
    index = {b["name"]: k for k, b in enumerate(blocks)}
    noise = jnp.asarray(replay["noise"])
    layers = replay["architecture"]["layers"]  # the output dense layer last
    input_shape = replay["architecture"]["input_shape"]
    # One array per block, in Rewind's order, from the scaled noise: conv2d weights as
    # (kernel, kernel, in channels, filters) = HWIO, dense weights as (fan-in, fan-out).
    params = []
    for k, b in enumerate(blocks):
        params.append(schedule["init_scale"][k] * noise[b["offset"]:b["offset"] + b["rows"] * b["cols"]])
    # L2 per block (or per weight), as arrays shaped like the blocks.
    if schedule["l2"] is not None:
        l2 = [jnp.full_like(p, schedule["l2"][k]) for k, p in enumerate(params)]
    else:
        per_weight = jnp.asarray(schedule["l2_per_parameter"])
        l2 = [per_weight[b["offset"]:b["offset"] + b["rows"] * b["cols"]] for b in blocks]
    for layer in layers:
        if layer["type"] == "conv2d":
            w = index[layer["weights"]]
            shape = (layer["kernel"], layer["kernel"], layer["input_shape"][2], layer["filters"])
            params[w], l2[w] = params[w].reshape(shape), l2[w].reshape(shape)
        elif layer["type"] == "dense":
            w = index[layer["weights"]]
            params[w], l2[w] = params[w].reshape(-1, layer["units"]), l2[w].reshape(-1, layer["units"])

    def forward(params, x):
        x = x.reshape([x.shape[0]] + input_shape)  # NHWC, as Rewind's rows are
        for layer in layers:
            kind = layer["type"]
            if kind == "dense":
                x = x @ params[index[layer["weights"]]] + params[index[layer["biases"]]]
            elif kind == "conv2d":
                top, bottom, left, right = layer["pad"]
                x = jax.lax.conv_general_dilated(
                    x, params[index[layer["weights"]]], (layer["stride"],) * 2, [(top, bottom), (left, right)],
                    dimension_numbers=("NHWC", "HWIO", "NHWC"), precision=jax.lax.Precision.HIGHEST)
                x = x + params[index[layer["biases"]]]
            elif kind in ("maxpool", "avgpool"):
                window = (1, layer["size"], layer["size"], 1)
                if kind == "maxpool":
                    x = jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, window, window, "VALID")
                else:
                    x = jax.lax.reduce_window(x, 0.0, jax.lax.add, window, window, "VALID") / layer["size"] ** 2
            elif kind == "flatten":
                x = x.reshape(x.shape[0], -1)  # (height, width, channels) order, as Rewind flattens
            else:
                x = ACTIVATIONS[kind](x)
        return x

    def loss(params, x, y):
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(forward(params, x)), y[:, None], axis=1))

    if adam:
        # AdamW's decay is decoupled; Rewind's L2 is a penalty inside the loss.
        optimizer = rewind_adam(schedule, params)

        def training_loss(params, x, y):
            return loss(params, x, y) + 0.5 * sum(jnp.sum(lam * w * w) for lam, w in zip(l2, params))
    else:
        optimizer = rewind_momentum(
            jnp.asarray(schedule["learning_rate"]), jnp.asarray(schedule["momentum_applied"]), l2)
        training_loss = loss
    state = optimizer.init(params)
    x_train = jnp.asarray(replay["train"]["inputs"])
    y_train = jnp.asarray(replay["train"]["labels"], dtype=jnp.int32)

    @jax.jit
    def step(params, state, rows):
        grads = jax.grad(training_loss)(params, x_train[rows], y_train[rows])
        updates, state = optimizer.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    for rows in replay["batches"]:
        params, state = step(params, state, jnp.asarray(rows))

    x_valid = jnp.asarray(replay["validation"]["inputs"])
    y_valid = jnp.asarray(replay["validation"]["labels"], dtype=jnp.int32)
    value = float(loss(params, x_valid, y_valid))
    expected = schedule["validation_loss"]
    print(json.dumps({"validation_loss": value, "rewind_validation_loss": expected, "difference": abs(value - expected)}))
    if not abs(value - expected) <= arguments.tolerance:
        sys.exit(f"validation loss {value!r} differs from Rewind's {expected!r} by more than {arguments.tolerance}")


if __name__ == "__main__":
    main()
