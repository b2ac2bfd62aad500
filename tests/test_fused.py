"""The fused unroll against the reference scan: values and gradients."""

import functools
import importlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrnn import GRU, LSTM, RNN
from jaxrnn.cells import lstm
from jaxrnn.layers import fused

# The package exports a function named `unroll`, which hides the module.
unrolling = importlib.import_module("jaxrnn.layers.unroll")
layer_params, time_mask = unrolling.layer_params, unrolling.time_mask

TOLERANCE = 1e-5
T, B, I, H = 6, 3, 4, 5

LAYERS = {
    "rnn_tanh": RNN(I, H, num_layers=2, bidirectional=True),
    "rnn_relu": RNN(I, H, num_layers=2, bidirectional=True, nonlinearity="relu"),
    "rnn_sigmoid": RNN(I, H, num_layers=2, bidirectional=True, nonlinearity="sigmoid"),
    "lstm": LSTM(I, H, num_layers=2, bidirectional=True),
    "lstm_proj": LSTM(I, H, num_layers=2, bidirectional=True, proj_size=3),
    "gru": GRU(I, H, num_layers=2, bidirectional=True),
    "gru_no_bias": GRU(I, H, num_layers=2, bidirectional=True, bias=False),
}


def relative_error(expected, actual) -> float:
    """Return max |expected - actual| / max |expected| over one array."""
    scale = float(jnp.max(jnp.abs(expected)))
    return float(jnp.max(jnp.abs(expected - actual))) / max(scale, 1e-12)


def initial_states(layer, key):
    """Draw a nonzero h0, and c0 for an LSTM, as keyword arguments."""
    h_key, c_key = jax.random.split(key)
    states = {
        "h0": jax.random.normal(h_key, layer.state_shape((B,), layer.output_size))
    }
    if isinstance(layer, LSTM):
        states["c0"] = jax.random.normal(c_key, layer.state_shape((B,), H))
    return states


def loss_and_outputs(layer, impl, params, x, states, lengths, **options):
    """Mix every output into one scalar so each one gets a gradient."""
    output, final = layer.apply(
        params, x, lengths=lengths, impl=impl, **options, **states
    )
    loss = jnp.sum(jnp.sin(output) * output)
    for leaf in jax.tree.leaves(final):
        loss = loss + jnp.sum(jnp.cos(leaf))
    return loss, (output, final)


def values_and_grads(layer, impl, params, x, states, lengths, **options):
    """Return ((loss, outputs), grads) for params, x and the initial states."""

    def loss(p, inputs, s, lengths):
        return loss_and_outputs(layer, impl, p, inputs, s, lengths, **options)

    grad_fn = jax.value_and_grad(loss, argnums=(0, 1, 2), has_aux=True)
    return jax.jit(grad_fn)(params, x, states, lengths)


def assert_close(reference, candidate):
    """Assert every leaf agrees to TOLERANCE relative error, naming the leaf."""
    paths = jax.tree_util.tree_leaves_with_path(reference)
    for (path, expected), actual in zip(paths, jax.tree.leaves(candidate)):
        error = relative_error(expected, actual)
        assert error <= TOLERANCE, f"{jax.tree_util.keystr(path)}: {error:.2e}"


@pytest.mark.parametrize("with_lengths", [False, True], ids=["full", "lengths"])
@pytest.mark.parametrize("name", list(LAYERS))
def test_fused_matches_scan(name, with_lengths):
    layer = LAYERS[name]
    params_key, x_key, state_key = jax.random.split(jax.random.PRNGKey(7), 3)
    params = layer.init(params_key)
    x = jax.random.normal(x_key, (T, B, I))
    states = initial_states(layer, state_key)
    lengths = jnp.array([T, 2, 0]) if with_lengths else None

    reference = values_and_grads(layer, "scan", params, x, states, lengths)
    candidate = values_and_grads(layer, "fused", params, x, states, lengths)

    assert_close(reference, candidate)
    if with_lengths:
        output = candidate[0][1][0]
        assert float(jnp.max(jnp.abs(output[2:, 1]))) == 0.0
        assert float(jnp.max(jnp.abs(output[:, 2]))) == 0.0


# B = 3 rows a step: 3, 12 and 15 rows make backward chunks of 1, 4 and 5
# steps, so T = 6 leaves no head, a head of 2 steps and a head of 1.
@pytest.mark.parametrize("rows", [3, 12, 15])
@pytest.mark.parametrize("name", ["rnn_relu", "lstm", "lstm_proj", "gru"])
def test_backward_chunks_match_scan(name, rows, monkeypatch):
    monkeypatch.setattr(fused, "CHUNK_ROWS", rows)
    layer = LAYERS[name]
    params_key, x_key, state_key = jax.random.split(jax.random.PRNGKey(5), 3)
    params = layer.init(params_key)
    x = jax.random.normal(x_key, (T, B, I))
    states = initial_states(layer, state_key)
    lengths = jnp.array([T, 5, 2])

    reference = values_and_grads(layer, "scan", params, x, states, lengths)
    candidate = values_and_grads(layer, "fused", params, x, states, lengths)

    assert fused.chunk_steps(T, B) == rows // B
    assert_close(reference, candidate)


@pytest.mark.parametrize("rows", [fused.CHUNK_ROWS, 12], ids=["one_chunk", "chunks"])
@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "lstm_proj", "gru"])
def test_hoisted_projection_matches_scan(kind, rows, monkeypatch):
    monkeypatch.setattr(fused, "CHUNK_ROWS", rows)
    layer = LAYERS[kind]
    params = layer_params(layer.init(jax.random.PRNGKey(9)), 0, 0)
    x = jax.random.normal(jax.random.PRNGKey(10), (T, B, I))
    h0 = jax.random.normal(jax.random.PRNGKey(11), (B, layer.output_size))
    carry = (h0, jnp.ones((B, H))) if isinstance(layer, LSTM) else h0
    mask = time_mask(jnp.array([T, 3, 1]), T)

    def loss(p, inputs, c, run):
        final, y = run(layer.cell, p, inputs, c, mask)
        return jnp.sum(y * jnp.sin(y)) + sum(
            jnp.sum(leaf) for leaf in jax.tree.leaves(final)
        )

    def grads(run):
        grad_fn = jax.value_and_grad(loss, argnums=(0, 1, 2))
        return jax.jit(grad_fn, static_argnums=3)(params, x, carry, run)

    hoisted = functools.partial(fused.scan_direction, hoisted=True)
    assert_close(grads(unrolling.scan_direction), grads(hoisted))


@pytest.mark.parametrize("chunk", [2, 4, 7])
def test_remat_chunks_match_scan(chunk):
    layer = LAYERS["lstm"]
    params = layer.init(jax.random.PRNGKey(1))
    x = jax.random.normal(jax.random.PRNGKey(2), (T, B, I))
    states = initial_states(layer, jax.random.PRNGKey(3))
    lengths = jnp.array([T, 4, 1])

    reference = values_and_grads(layer, "scan", params, x, states, lengths)
    candidate = values_and_grads(
        layer, "fused", params, x, states, lengths, remat_chunk=chunk
    )

    assert_close(reference, candidate)


def test_fused_states_match_scan():
    layer = LAYERS["lstm"]
    params = layer.init(jax.random.PRNGKey(4))
    x = jax.random.normal(jax.random.PRNGKey(5), (T, B, I))
    lengths = jnp.array([T, 3, 1])

    def state_loss(p, impl):
        _, _, (h, c) = layer.apply(p, x, lengths=lengths, impl=impl, return_states=True)
        return jnp.sum(h * h) + jnp.sum(jnp.sin(c)), (h, c)

    grad_fn = jax.jit(jax.value_and_grad(state_loss, has_aux=True), static_argnums=1)
    reference = grad_fn(params, "scan")
    candidate = grad_fn(params, "fused")

    assert_close(reference, candidate)


def test_fused_under_jit_and_unroll():
    layer = LAYERS["gru"]
    params = layer.init(jax.random.PRNGKey(6))
    x = jax.random.normal(jax.random.PRNGKey(8), (T, B, I))
    reference, _ = layer.apply(params, x, impl="scan")

    for unroll in (1, 2, 4):
        output, _ = jax.jit(
            lambda p, inputs, u=unroll: layer.apply(p, inputs, impl="fused", unroll=u)
        )(params, x)
        np.testing.assert_allclose(output, reference, rtol=TOLERANCE, atol=1e-6)


def test_invalid_impl_rejected():
    layer = LAYERS["gru"]
    params = layer.init(jax.random.PRNGKey(0))
    x = jnp.zeros((T, B, I))

    with pytest.raises(ValueError, match="impl must be"):
        layer.apply(params, x, impl="cudnn")
    with pytest.raises(ValueError, match="remat_chunk needs impl='fused'"):
        layer.apply(params, x, remat_chunk=2)
    with pytest.raises(ValueError, match="remat_chunk must be a positive int"):
        layer.apply(params, x, impl="fused", remat_chunk=0)


def test_unknown_cell_rejected():
    cell = lstm()._replace(name="peephole_lstm")
    params = lstm().init(jax.random.PRNGKey(0), I, H)
    carry = (jnp.zeros((B, H)), jnp.zeros((B, H)))

    with pytest.raises(ValueError, match="peephole_lstm"):
        fused.scan_direction(cell, params, jnp.zeros((T, B, I)), carry, None)


@pytest.mark.parametrize("name", ["lstm", "gru"])
def test_fused_gradient_empty_batch(name):
    layer = LAYERS[name]
    params = layer.init(jax.random.PRNGKey(0))
    loss = lambda p: layer.apply(p, jnp.ones((T, 0, I)), impl="fused")[0].sum()  # noqa: E731

    grads = jax.grad(loss)(params)

    for value in jax.tree.leaves(grads):
        assert value.shape != ()
        np.testing.assert_array_equal(value, 0.0)


# Half-precision weights run in float32 (the carries are at least float32),
# so the backward chunks sum their weight gradients in float32 too, and
# return them in the weights' dtype.
@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16])
@pytest.mark.parametrize("name", ["rnn_tanh", "lstm", "gru"])
def test_backward_chunks_half_precision_weights(name, dtype, monkeypatch):
    monkeypatch.setattr(fused, "CHUNK_ROWS", 12)
    layer = LAYERS[name]
    params = jax.tree.map(
        lambda w: w.astype(dtype), layer.init(jax.random.PRNGKey(2))
    )
    x = jax.random.normal(jax.random.PRNGKey(3), (T, B, I))

    def loss(p, impl):
        return jnp.sum(jnp.sin(layer.apply(p, x, impl=impl)[0]))

    grad_fn = jax.jit(jax.grad(loss), static_argnums=1)
    reference = grad_fn(params, "scan")
    candidate = grad_fn(params, "fused")

    pairs = zip(jax.tree.leaves(reference), jax.tree.leaves(candidate))
    for expected, actual in pairs:
        error = relative_error(
            expected.astype(jnp.float32), actual.astype(jnp.float32)
        )
        assert error <= 2e-2
        assert actual.dtype == dtype
