#!/usr/bin/env python3
"""Replay one of Rewind's training runs in JAX with optax from its learned schedule.

Same inputs and output as replay_numpy.py (REPLAY.json from `rewind export --spec`, SCHEDULE.json
from `rewind export-schedule`). optax's sgd(momentum=...) keeps an undamped trace
(b = mu * b + g), so this script writes the paper's update as a small GradientTransformation with
a step counter in its state, one (T, K) table per hyperparameter and the L2 penalty's gradient:

    g = g + l2[k] * w;   v = gamma[t][k] * v - (1 - gamma[t][k]) * g;   update = alpha[t][k] * v

Usage: python3 examples/replay_optax.py REPLAY.json SCHEDULE.json [--tolerance 1e-6]
"""

import argparse
import json
import sys

import jax
import jax.numpy as jnp
import optax

jax.config.update("jax_enable_x64", True)
ACTIVATIONS = {"tanh": jnp.tanh, "relu": jax.nn.relu, "sigmoid": jax.nn.sigmoid}


def rewind_momentum(alpha, gamma, l2):
    """The paper's SGD with momentum; alpha, gamma (T, K), l2 (K,); params a list of K blocks."""

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
    if schedule["l2"] is None:
        sys.exit("per-weight L2: pass l2_per_parameter split into blocks instead of one value per block")

    blocks = replay["blocks"]
    noise = jnp.asarray(replay["noise"])
    activation = ACTIVATIONS[replay["architecture"]["activation"]]
    # Blocks W1, b1, W2, b2, ...: W as (fan-in, fan-out), scaled noise as the initial weights.
    params = []
    for k, b in enumerate(blocks):
        values = schedule["init_scale"][k] * noise[b["offset"]:b["offset"] + b["rows"] * b["cols"]]
        params.append(values.reshape(b["rows"], b["cols"]) if k % 2 == 0 else values)

    def loss(params, x, y):
        for layer in range(len(params) // 2):
            x = x @ params[2 * layer] + params[2 * layer + 1]
            if layer < len(params) // 2 - 1:
                x = activation(x)
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(x), y[:, None], axis=1))

    optimizer = rewind_momentum(
        jnp.asarray(schedule["learning_rate"]), jnp.asarray(schedule["momentum_applied"]), jnp.asarray(schedule["l2"]))
    state = optimizer.init(params)
    x_train = jnp.asarray(replay["train"]["inputs"])
    y_train = jnp.asarray(replay["train"]["labels"], dtype=jnp.int32)

    @jax.jit
    def step(params, state, rows):
        grads = jax.grad(loss)(params, x_train[rows], y_train[rows])
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
