"""Gradient accumulation over K micro-batches matches one batch K times the size."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxrnn.layers import RNN
from jaxrnn.training import init_state, make_train_step

LAYER = RNN(3, 8, batch_first=True)
BATCH, STEPS = 32, 3
# With plain SGD, each update is the learning rate times the gradient, so
# comparing updates compares the averaged gradients directly.
OPTIMIZER = optax.sgd(0.5)


def loss_fn(params, batch, key):
    """Mean squared error of the RNN's last state against per-row targets."""
    del key
    inputs, targets = batch
    _, h_n = LAYER.apply(params, inputs)
    errors = h_n[-1] - targets
    return jnp.mean(errors**2), {"max_error": jnp.max(jnp.abs(errors))}


def make_batches():
    keys = jax.random.split(jax.random.key(1), 2 * STEPS)
    return [
        (
            jax.random.normal(keys[2 * i], (BATCH, 6, 3)),
            jax.random.normal(keys[2 * i + 1], (BATCH, 8)),
        )
        for i in range(STEPS)
    ]


def relative_error(actual, expected) -> float:
    actual, expected = np.ravel(actual), np.ravel(expected)
    return float(np.linalg.norm(actual - expected) / np.linalg.norm(expected))


@functools.cache
def train(accumulate: int):
    params = LAYER.init(jax.random.key(0))
    state = init_state(params, OPTIMIZER, jax.random.key(2))
    step = jax.jit(make_train_step(loss_fn, OPTIMIZER, accumulate=accumulate))
    metrics = []
    for batch in make_batches():
        state, step_metrics = step(state, batch)
        metrics.append(jax.device_get(step_metrics))
    return params, state, metrics


def test_four_micro_batches_match_one_batch():
    initial, whole, whole_metrics = train(accumulate=1)
    _, micro, micro_metrics = train(accumulate=4)

    losses = [m["loss"] for m in micro_metrics]
    assert relative_error(losses, [m["loss"] for m in whole_metrics]) <= 1e-6
    for name in initial:
        # The updates, not the parameters, so the bound is not hidden by the
        # parameters' own size.
        whole_update = np.asarray(whole.params[name]) - np.asarray(initial[name])
        micro_update = np.asarray(micro.params[name]) - np.asarray(initial[name])
        assert np.linalg.norm(whole_update) > 0
        assert relative_error(micro_update, whole_update) <= 1e-6, name
    assert int(micro.step) == STEPS
    assert int(micro.bad_steps) == 0


def test_micro_batch_metrics_are_means():
    initial, _, micro_metrics = train(accumulate=4)
    inputs, targets = make_batches()[0]
    # Micro-batch k contains rows k, k + 4, k + 8, ...
    max_errors = [
        float(loss_fn(initial, (inputs[k::4], targets[k::4]), None)[1]["max_error"])
        for k in range(4)
    ]
    assert float(micro_metrics[0]["max_error"]) == pytest.approx(
        np.mean(max_errors), rel=1e-6
    )
    assert float(micro_metrics[0]["max_error"]) < max(max_errors)


def test_accumulate_must_divide_batch():
    state = init_state(LAYER.init(jax.random.key(0)), OPTIMIZER, jax.random.key(2))
    step = make_train_step(loss_fn, OPTIMIZER, accumulate=5)
    with pytest.raises(ValueError, match="accumulate=5 must divide the batch size"):
        step(state, make_batches()[0])


@pytest.mark.parametrize("accumulate", [0, 1.5, True])
def test_accumulate_must_be_positive_int(accumulate):
    with pytest.raises(ValueError, match="accumulate must be an int >= 1"):
        make_train_step(loss_fn, OPTIMIZER, accumulate=accumulate)
