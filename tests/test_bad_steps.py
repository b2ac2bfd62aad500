"""Steps with a non-finite loss or gradient are skipped, counted and logged.

A ReLU Elman cell with input weight 1, recurrent weight 2 and no bias maps
inputs of 1 to h_t = 2**t - 1, which overflows float32 at t = 128. Batches
of 128 steps or more therefore have an infinite loss, shorter ones a finite
one whatever the readout, so which steps must be skipped is known up front.
The short batches stay at 30 steps or fewer, where the squared gradient norm
of the readout still fits float32.
"""

import logging

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxrnn.layers import RNN
from jaxrnn.tasks.addition.default import make_default_chunk
from jaxrnn.tasks.addition.model import init_default_params, make_rnn
from jaxrnn.training import (
    LoopOptions,
    TooManyBadSteps,
    TrainLoop,
    init_state,
    make_train_step,
    restore_checkpoint,
    train_epochs,
)

RELU = RNN(1, 1, batch_first=True, nonlinearity="relu", bias=False)
RNN_PARAMS = {"weight_ih_l0": jnp.ones((1, 1)), "weight_hh_l0": jnp.full((1, 1), 2.0)}
# Four lengths, so the step compiles four times.
LENGTHS = [10, 128, 30, 30, 200, 10, 128, 30, 128, 200, 128, 10, 200, 30]
OPTIMIZER = optax.adam(1e-2)


def loss_fn(readout, batch, key):
    """Squared error of a readout of the fixed ReLU cell's last state."""
    del key
    inputs, targets = batch
    _, h_n = RELU.apply(RNN_PARAMS, inputs)
    predictions = h_n[-1, :, 0] * readout["weight"] + readout["bias"]
    return jnp.mean((predictions - targets) ** 2), {}


STEP = jax.jit(make_train_step(loss_fn, OPTIMIZER))


def make_batch(length: int):
    return jnp.ones((4, length, 1)), jnp.arange(4.0)


def numpy_loss_is_finite(length: int, readout) -> bool:
    """Run the cell in NumPy float32, step by step, and score its readout."""
    h = np.float32(0.0)
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(length):
            h = np.maximum(np.float32(2.0) * h + np.float32(1.0), np.float32(0.0))
        weight, bias = np.float32(readout["weight"]), np.float32(readout["bias"])
        errors = h * weight + bias - np.arange(4, dtype=np.float32)
        return bool(np.isfinite(np.mean(errors**2)))


def initial_readout():
    return {"weight": jnp.float32(0.5), "bias": jnp.float32(0.0)}


def test_overflow_steps_are_skipped(caplog):
    expected = [not numpy_loss_is_finite(n, initial_readout()) for n in LENGTHS]
    assert expected == [n >= 128 for n in LENGTHS]
    state = init_state(initial_readout(), OPTIMIZER, jax.random.key(0))

    loop = TrainLoop(None, LoopOptions(max_bad_steps=4))
    with caplog.at_level(logging.WARNING, logger="jaxrnn.training.loop"), loop:
        state, progress = loop.start(state)
        state = train_epochs(
            loop,
            state,
            progress,
            STEP,
            lambda epoch: (make_batch(n) for n in LENGTHS),
            epochs=2,
            show_progress=False,
        )

    bad_per_epoch = sum(expected)
    assert int(state.bad_steps) == 2 * bad_per_epoch
    assert [r["bad_steps"] for r in progress.records] == [bad_per_epoch] * 2
    assert progress.records[-1]["bad_steps_total"] == 2 * bad_per_epoch
    assert np.isfinite(progress.records[-1]["loss"])
    for leaf in jax.tree.leaves(state.params):
        assert np.isfinite(np.asarray(leaf)).all()
    assert np.isfinite(np.asarray(state.opt_state[0].mu["weight"]))
    numbers = [
        epoch * len(LENGTHS) + index + 1
        for epoch in range(2)
        for index, bad in enumerate(expected)
        if bad
    ]
    for number in numbers:
        assert f"step {number}: loss or gradient norm is not finite" in caplog.text
    assert caplog.text.count("update skipped") == len(numbers)
    for length in LENGTHS:
        assert numpy_loss_is_finite(length, state.params) == (length < 128)


def test_skipped_step_keeps_state():
    state = init_state(initial_readout(), OPTIMIZER, jax.random.key(0))
    for length in LENGTHS:
        new_state, metrics = STEP(state, make_batch(length))
        assert bool(metrics["skipped"]) == (length >= 128)
        assert int(new_state.step) == int(state.step) + 1
        if length >= 128:
            assert not np.isfinite(float(metrics["loss"]))
            for new, old in zip(
                jax.tree.leaves((new_state.params, new_state.opt_state)),
                jax.tree.leaves((state.params, state.opt_state)),
                strict=True,
            ):
                assert np.array_equal(np.asarray(new), np.asarray(old))
            assert (
                int(new_state.bad_steps_in_a_row) == int(state.bad_steps_in_a_row) + 1
            )
        else:
            assert float(new_state.params["weight"]) != float(state.params["weight"])
            assert int(new_state.bad_steps_in_a_row) == 0
        state = new_state
    assert int(state.bad_steps) == sum(n >= 128 for n in LENGTHS)


def test_nan_gradient_is_skipped():
    def nan_grad_loss(params, batch, key):
        del batch, key
        x = params["x"]
        return jnp.where(x > 0, jnp.sqrt(x), 0.0), {}

    step = jax.jit(make_train_step(nan_grad_loss, optax.sgd(0.1)))
    state = init_state({"x": jnp.float32(-1.0)}, optax.sgd(0.1), jax.random.key(0))
    state, metrics = step(state, None)
    assert float(metrics["loss"]) == 0.0
    assert np.isnan(float(metrics["grad_norm"]))
    assert bool(metrics["skipped"])
    assert float(state.params["x"]) == -1.0


def test_too_many_bad_steps_keep_checkpoint(tmp_path):
    lengths = [10, 30, 200, 128, 200, 128, 10]
    state = init_state(initial_readout(), OPTIMIZER, jax.random.key(0))
    options = LoopOptions(checkpoint_every=1, max_bad_steps=3)
    with TrainLoop(tmp_path, options, config={"task": "toy"}) as loop:
        state, progress = loop.start(state)
        with pytest.raises(TooManyBadSteps) as stop:
            train_epochs(
                loop,
                state,
                progress,
                STEP,
                lambda epoch: (make_batch(n) for n in lengths),
                epochs=1,
                show_progress=False,
            )

    message = str(stop.value)
    assert "stopping at step 5" in message
    assert "the last 3 steps had a non-finite loss" in message
    assert f"{tmp_path / 'checkpoints' / '4'}" in message
    template = init_state(initial_readout(), OPTIMIZER, jax.random.key(0))
    last = restore_checkpoint(tmp_path, template, which="latest")
    assert last.step == 4
    assert int(last.state.bad_steps_in_a_row) == 2
    # Steps 3 and 4 were skipped, so step 4 has the parameters of step 2.
    state = init_state(initial_readout(), OPTIMIZER, jax.random.key(0))
    for length in lengths[:2]:
        state, _ = STEP(state, make_batch(length))
    for actual, expected in zip(
        jax.tree.leaves(last.state.params), jax.tree.leaves(state.params), strict=True
    ):
        assert np.array_equal(np.asarray(actual), np.asarray(expected))


def test_addition_chunk_stops_at_max_bad_steps():
    rnn = make_rnn(4)
    optimizer = optax.adam(1e-2)
    params = init_default_params(jax.random.key(0), rnn)
    poisoned = jax.tree.map(lambda p: jnp.full_like(p, jnp.nan), params)
    state = init_state(poisoned, optimizer, jax.random.key(1))
    chunk = jax.jit(make_default_chunk(rnn, optimizer, 8, 50))
    inputs = jnp.zeros((16, 8, 2))
    targets = jnp.zeros((16, 8))
    state, sums, _, skipped = chunk(
        state, jax.random.key(2), jnp.int32(50), jnp.int32(7), inputs, targets
    )
    assert int(state.step) == 7
    assert int(state.bad_steps) == 7
    assert np.asarray(skipped).tolist() == [True] * 7 + [False] * 43
    assert float(sums["bad_steps"]) == 7.0
    assert float(sums["good_steps"]) == 0.0
