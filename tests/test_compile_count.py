"""Batches of one length bucket share one compiled training step."""

import contextlib

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxrnn import LSTM
from jaxrnn.data.buckets import BucketedSplit
from jaxrnn.data.tokenized import TokenizedSplit
from jaxrnn.training.step import init_state, make_train_step

# JAX records this event once for every program XLA compiles (jax 0.10.2,
# jax._src.dispatch.BACKEND_COMPILE_EVENT); cache hits record nothing.
BACKEND_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"
VOCAB, EMBED, HIDDEN = 11, 4, 6


@contextlib.contextmanager
def count_compilations():
    """Count XLA compilations inside the block; yields a dict with `count`."""
    counter = {"count": 0}

    def listener(event: str, duration: float, **kwargs) -> None:
        del duration, kwargs
        if event == BACKEND_COMPILE_EVENT:
            counter["count"] += 1

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        yield counter
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)


def make_split(lengths: list[int]) -> TokenizedSplit:
    """Build a split of reviews of the given lengths with ids 1.. and labels 0/1."""
    lengths = np.asarray(lengths, np.int32)
    tokens = (np.arange(lengths.sum()) % (VOCAB - 1) + 1).astype(np.int32)
    labels = (np.arange(len(lengths)) % 2).astype(np.int32)
    return TokenizedSplit(tokens, lengths, labels)


def make_step(impl: str):
    """Build a jitted classifier training step and its initial state."""
    layer = LSTM(EMBED, HIDDEN, batch_first=True)
    key = jax.random.PRNGKey(0)
    params = {
        "embed": jax.random.normal(key, (VOCAB, EMBED)),
        "lstm": layer.init(key),
        "readout": jnp.zeros((HIDDEN,)),
    }

    def loss_fn(p, batch, step_key):
        del step_key
        x = p["embed"][batch.ids]
        _, (h_n, _) = layer.apply(p["lstm"], x, lengths=batch.lengths, impl=impl)
        logits = h_n[-1] @ p["readout"]
        losses = optax.sigmoid_binary_cross_entropy(logits, batch.labels)
        return jnp.sum(losses * batch.weights) / jnp.sum(batch.weights), {}

    optimizer = optax.adam(1e-2)
    step = jax.jit(make_train_step(loss_fn, optimizer))
    return step, init_state(params, optimizer, key)


@pytest.mark.parametrize("impl", ["fused", "scan"])
def test_one_bucket_compiles_once(impl):
    split = make_split([5, 5, 7, 7, 9, 9])
    batches = list(BucketedSplit(split, batch_size=2, lengths=(16,)).batches())
    assert [b.ids.shape for b in batches] == [(2, 16)] * 3
    assert [b.lengths.tolist() for b in batches] == [[5, 5], [7, 7], [9, 9]]
    step, state = make_step(impl)

    with count_compilations() as first_pass:
        for batch in batches:
            state, metrics = step(state, batch)
        jax.block_until_ready(state)
    with count_compilations() as second_pass:
        for batch in batches:
            state, metrics = step(state, batch)
        jax.block_until_ready(state)

    assert first_pass["count"] == 1
    assert second_pass["count"] == 0
    assert step._cache_size() == 1
    assert np.isfinite(float(metrics["loss"]))


def test_new_bucket_compiles_again():
    split = make_split([5, 7, 20, 30])
    batches = list(BucketedSplit(split, batch_size=2, lengths=(16, 32)).batches())
    assert [b.ids.shape for b in batches] == [(2, 16), (2, 32)]
    step, state = make_step("fused")

    with count_compilations() as counter:
        for batch in batches:
            state, _ = step(state, batch)
        jax.block_until_ready(state)

    assert counter["count"] == 2
    assert step._cache_size() == 2
