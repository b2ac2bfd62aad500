"""Layers: every PyTorch option, padding edge cases, states, presets and errors."""

import importlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn

unroll_module = importlib.import_module("jaxrnn.layers.unroll")
T, B, I, H = 5, 3, 3, 4


@pytest.fixture(autouse=True)
def full_matmul_precision():
    """Compare at full float32 matmul precision: the CPU default, not the GPU one."""
    with jax.default_matmul_precision("highest"):
        yield


def normal(seed: int, *shape) -> jax.Array:
    """Draw N(0, 1) in numpy: eager jax.random compiles once per shape."""
    return jnp.asarray(np.random.default_rng(seed).standard_normal(shape), jnp.float32)


def random_params(layer, seed: int = 0) -> dict:
    """Draw parameters from PyTorch's U(-1/sqrt(H), 1/sqrt(H)) in numpy.

    Tests of `apply` use these so that they do not compile `jax.random` once
    per parameter shape. The tests of `init` call `init` itself.
    """
    rng = np.random.default_rng(seed)
    bound = 1 / np.sqrt(layer.hidden_size)
    return {
        name: jnp.asarray(rng.uniform(-bound, bound, shape), jnp.float32)
        for name, shape in layer.param_shapes().items()
    }


def constant_params(layer, weight: float) -> dict:
    """Every weight set to `weight` and every bias to 0."""
    return {
        name: jnp.full(shape, weight if name.startswith("weight") else 0.0)
        for name, shape in layer.param_shapes().items()
    }


def numpy_elman(params: dict, x: np.ndarray, h0: np.ndarray, activation) -> tuple:
    """Run a one-layer, one-direction Elman RNN over x (T, B, I) in numpy."""
    h, outputs = np.asarray(h0, np.float64), []
    for x_t in np.asarray(x, np.float64):
        pre = x_t @ np.asarray(params["weight_ih_l0"]).T
        pre = pre + h @ np.asarray(params["weight_hh_l0"]).T
        if "bias_ih_l0" in params:
            pre = pre + np.asarray(params["bias_ih_l0"] + params["bias_hh_l0"])
        h = activation(pre)
        outputs.append(h)
    return np.stack(outputs), h


# Options of torch.nn.RNN, LSTM and GRU.


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_nonlinearity_matches_numpy(nonlinearity):
    layer = jaxrnn.RNN(I, H, nonlinearity=nonlinearity)
    params = random_params(layer, 1)
    x, h0 = normal(2, T, B, I), normal(3, 1, B, H)
    output, h_n = layer.apply(params, x, h0)
    activation = np.tanh if nonlinearity == "tanh" else (lambda v: np.maximum(v, 0))
    expected, last = numpy_elman(params, x, h0[0], activation)
    np.testing.assert_allclose(output, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h_n[0], last, rtol=1e-5, atol=1e-6)


def test_rnn_without_bias_matches_numpy():
    layer = jaxrnn.RNN(I, H, bias=False)
    params = random_params(layer, 1)
    assert sorted(params) == ["weight_hh_l0", "weight_ih_l0"]
    x = normal(2, T, B, I)
    output, _ = layer.apply(params, x)
    expected, _ = numpy_elman(params, x, np.zeros((B, H)), np.tanh)
    np.testing.assert_allclose(output, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("layer_type", [jaxrnn.RNN, jaxrnn.LSTM, jaxrnn.GRU])
@pytest.mark.parametrize(("num_layers", "bidirectional"), [(1, False), (3, True)])
def test_layer_shapes_and_names(layer_type, num_layers, bidirectional):
    layer = layer_type(I, H, num_layers=num_layers, bidirectional=bidirectional)
    # eval_shape returns init's names and shapes without compiling jax.random.
    drawn = jax.eval_shape(layer.init, jax.random.key(0))
    directions = 2 if bidirectional else 1
    assert len(drawn) == 4 * num_layers * directions
    assert {name: value.shape for name, value in drawn.items()} == layer.param_shapes()
    assert all(value.dtype == jnp.float32 for value in drawn.values())
    suffix = f"_l{num_layers - 1}" + ("_reverse" if bidirectional else "")
    assert f"weight_hh{suffix}" in drawn
    output, final = layer.apply(random_params(layer), normal(1, T, B, I))
    assert output.shape == (T, B, directions * H)
    h_n = final[0] if layer_type is jaxrnn.LSTM else final
    assert h_n.shape == (num_layers * directions, B, H)


@pytest.mark.parametrize("layer_type", [jaxrnn.RNN, jaxrnn.LSTM, jaxrnn.GRU])
def test_batch_first_transposes_input_and_output(layer_type):
    time_major = layer_type(I, H, num_layers=2, bidirectional=True)
    batch_major = layer_type(I, H, num_layers=2, bidirectional=True, batch_first=True)
    params = random_params(time_major)
    x, lengths = normal(1, T, B, I), jnp.array([5, 2, 3])
    output, final = time_major.apply(params, x, lengths=lengths)
    output_bf, final_bf = batch_major.apply(
        params, jnp.swapaxes(x, 0, 1), lengths=lengths
    )
    np.testing.assert_allclose(output_bf, jnp.swapaxes(output, 0, 1), rtol=1e-6)
    for leaf, leaf_bf in zip(jax.tree.leaves(final), jax.tree.leaves(final_bf)):
        np.testing.assert_allclose(leaf_bf, leaf, rtol=1e-6)


def test_initial_states_change_the_output():
    layer = jaxrnn.LSTM(I, H, num_layers=2)
    params = random_params(layer)
    x = normal(1, T, B, I)
    zeros = jnp.zeros((2, B, H))
    default, (h_n, c_n) = layer.apply(params, x)
    explicit, _ = layer.apply(params, x, zeros, c0=zeros)
    np.testing.assert_array_equal(explicit, default)
    with_h0, _ = layer.apply(params, x, normal(2, 2, B, H))
    with_c0, _ = layer.apply(params, x, c0=normal(3, 2, B, H))
    assert np.abs(with_h0 - default).max() > 1e-3
    assert np.abs(with_c0 - default).max() > 1e-3


def test_lstm_projection_shapes():
    layer = jaxrnn.LSTM(I, H, num_layers=2, bidirectional=True, proj_size=2)
    params = random_params(layer)
    assert params["weight_hr_l1_reverse"].shape == (2, H)
    assert params["weight_hh_l0"].shape == (4 * H, 2)
    assert params["weight_ih_l1"].shape == (4 * H, 4)
    output, (h_n, c_n) = layer.apply(params, normal(1, T, B, I))
    assert output.shape == (T, B, 4)
    assert h_n.shape == (4, B, 2)
    assert c_n.shape == (4, B, H)


@pytest.mark.parametrize("layer_type", [jaxrnn.RNN, jaxrnn.LSTM, jaxrnn.GRU])
def test_unbatched_input_matches_batch_of_one(layer_type):
    layer = layer_type(I, H, bidirectional=True)
    params = random_params(layer)
    x, h0 = normal(1, T, I), normal(2, 2, H)
    output, final = layer.apply(params, x, h0)
    batched, batched_final = layer.apply(params, x[:, None], h0[:, None])
    assert output.shape == (T, 2 * H)
    np.testing.assert_allclose(output, batched[:, 0], rtol=1e-6)
    for leaf, batched_leaf in zip(
        jax.tree.leaves(final), jax.tree.leaves(batched_final)
    ):
        assert leaf.shape == (2, H)
        np.testing.assert_allclose(leaf, batched_leaf[:, 0], rtol=1e-6)


# Dropout between layers.


def test_dropout_off_without_key():
    params = random_params(jaxrnn.GRU(I, H, num_layers=2))
    x = normal(1, T, B, I)
    plain, _ = jaxrnn.GRU(I, H, num_layers=2).apply(params, x)
    evaluated, _ = jaxrnn.GRU(I, H, num_layers=2, dropout=0.5).apply(params, x)
    np.testing.assert_array_equal(evaluated, plain)


def test_dropout_with_key_is_random_and_repeatable():
    layer = jaxrnn.GRU(I, H, num_layers=2, dropout=0.5)
    params = random_params(layer)
    x = normal(1, T, B, I)
    plain, _ = layer.apply(params, x)
    first, _ = layer.apply(params, x, key=jax.random.key(7))
    again, _ = layer.apply(params, x, key=jax.random.key(7))
    other, _ = layer.apply(params, x, key=jax.random.key(8))
    assert np.abs(first - plain).max() > 1e-3
    np.testing.assert_array_equal(first, again)
    assert np.abs(first - other).max() > 1e-3


def test_dropout_skips_last_layer():
    layer = jaxrnn.GRU(I, H, num_layers=1, dropout=0.5)
    params = random_params(layer)
    x = normal(1, T, B, I)
    plain, _ = layer.apply(params, x)
    keyed, _ = layer.apply(params, x, key=jax.random.key(7))
    np.testing.assert_array_equal(keyed, plain)


def test_dropout_rate_and_scale_between_layers():
    # Layer 0 outputs relu(x) with x > 0. Layer 1 passes its input through
    # (identity weight_ih, zero weight_hh), so its output is the dropped input.
    size, rate = 64, 0.25
    layer = jaxrnn.RNN(
        size, size, num_layers=2, nonlinearity="relu", bias=False, dropout=rate
    )
    params = {
        "weight_ih_l0": jnp.eye(size),
        "weight_hh_l0": jnp.zeros((size, size)),
        "weight_ih_l1": jnp.eye(size),
        "weight_hh_l1": jnp.zeros((size, size)),
    }
    x = 1.0 + jax.random.uniform(jax.random.key(1), (10, 8, size))
    output, _ = layer.apply(params, x, key=jax.random.key(2))
    dropped = np.asarray(output) == 0
    assert abs(dropped.mean() - rate) < 0.02
    np.testing.assert_allclose(
        np.asarray(output)[~dropped], np.asarray(x)[~dropped] / (1 - rate), rtol=1e-6
    )


# Variable lengths and padding.


@pytest.mark.parametrize("layer_type", [jaxrnn.RNN, jaxrnn.LSTM, jaxrnn.GRU])
def test_zero_length_rows(layer_type):
    layer = layer_type(I, H, num_layers=2, bidirectional=True)
    params = random_params(layer)
    x, lengths = normal(1, T, B, I), jnp.array([0, 3, 5])
    h0, c0 = normal(2, 4, B, H), normal(3, 4, B, H)
    is_lstm = layer_type is jaxrnn.LSTM
    w_h = normal(4, 4, B, H)

    def loss(params, x, h0, c0):
        output, final = layer.apply(
            params, x, h0, c0=c0 if is_lstm else None, lengths=lengths
        )
        h_n = final[0] if is_lstm else final
        return jnp.sum(output**2) + jnp.sum(h_n * w_h), (output, final)

    grads, (output, final) = jax.grad(loss, argnums=(0, 1, 2, 3), has_aux=True)(
        params, x, h0, c0
    )
    np.testing.assert_array_equal(output[:, 0], 0.0)
    h_n = final[0] if is_lstm else final
    np.testing.assert_array_equal(h_n[:, 0], h0[:, 0])
    if is_lstm:
        np.testing.assert_array_equal(final[1][:, 0], c0[:, 0])
    assert all(bool(jnp.all(jnp.isfinite(leaf))) for leaf in jax.tree.leaves(grads))
    # The empty row's state passes h0 through unchanged, so its gradient is w_h.
    np.testing.assert_array_equal(grads[2][:, 0], w_h[:, 0])


@pytest.mark.parametrize("layer_type", [jaxrnn.LSTM, jaxrnn.GRU])
def test_unsorted_lengths_match_rows_alone(layer_type):
    layer = layer_type(I, H, bidirectional=True)
    params = random_params(layer)
    x, lengths = normal(1, 3, 3, I), jnp.array([1, 3, 2])
    output, final = layer.apply(params, x, lengths=lengths)
    for row, length in enumerate([1, 3, 2]):
        alone, alone_final = layer.apply(params, x[:length, row : row + 1])
        np.testing.assert_allclose(
            output[:length, row], alone[:, 0], rtol=1e-6, atol=1e-7
        )
        np.testing.assert_array_equal(output[length:, row], 0.0)
        for leaf, alone_leaf in zip(
            jax.tree.leaves(final), jax.tree.leaves(alone_final)
        ):
            np.testing.assert_allclose(
                leaf[:, row], alone_leaf[:, 0], rtol=1e-6, atol=1e-7
            )
    order = jnp.array([2, 0, 1])
    permuted, permuted_final = layer.apply(params, x[:, order], lengths=lengths[order])
    np.testing.assert_allclose(permuted, output[:, order], rtol=1e-6, atol=1e-7)
    for leaf, permuted_leaf in zip(
        jax.tree.leaves(final), jax.tree.leaves(permuted_final)
    ):
        np.testing.assert_allclose(permuted_leaf, leaf[:, order], rtol=1e-6, atol=1e-7)


def test_tanh_elman_final_state_ignores_padding():
    layer = jaxrnn.RNN(1, 1)
    params = constant_params(layer, 1.0)
    x = jnp.array([1.0, 2.0, -3.0]).reshape(3, 1, 1)
    _, h_n = layer.apply(params, x, lengths=jnp.array([2]))
    assert h_n[0, 0, 0] == pytest.approx(np.tanh(2.0 + np.tanh(1.0)), rel=1e-6)
    assert h_n[0, 0, 0] == pytest.approx(0.9920, abs=1e-4)


def test_tanh_elman_reverse_starts_at_last_valid_step():
    layer = jaxrnn.RNN(1, 1, bidirectional=True)
    params = constant_params(layer, 1.0)
    x = jnp.array([1.0, 2.0, -3.0]).reshape(3, 1, 1)
    output, h_n = layer.apply(params, x, lengths=jnp.array([2]))
    assert output[0, 0, 1] == pytest.approx(np.tanh(1.0 + np.tanh(2.0)), rel=1e-6)
    assert output[0, 0, 1] == pytest.approx(0.9614, abs=1e-4)
    assert h_n[1, 0, 0] == output[0, 0, 1]


def test_relu_elman_bidirectional_padding():
    layer = jaxrnn.RNN(1, 1, nonlinearity="relu", bias=False, bidirectional=True)
    params = constant_params(layer, 1.0)
    x = jnp.array([1.0, 2.0, 3.0, 4.0, 0.0, 0.0, 0.0]).reshape(7, 1, 1)
    output, h_n = layer.apply(params, x, lengths=jnp.array([4]))
    np.testing.assert_array_equal(output[:4, 0, 0], [1.0, 3.0, 6.0, 10.0])
    np.testing.assert_array_equal(output[:4, 0, 1], [10.0, 9.0, 7.0, 4.0])
    np.testing.assert_array_equal(output[4:, 0], 0.0)
    np.testing.assert_array_equal(h_n[:, 0, 0], [10.0, 10.0])


@pytest.mark.parametrize("layer_type", [jaxrnn.LSTM, jaxrnn.GRU])
def test_padded_batch_matches_single_sequences(layer_type):
    layer = layer_type(I, 4, num_layers=2, bidirectional=True)
    params = random_params(layer)
    lengths = [3, 1]
    x = normal(1, 3, 2, I)
    output, final = layer.apply(params, x, lengths=jnp.array(lengths))
    h_n = final[0] if layer_type is jaxrnn.LSTM else final
    for row, length in enumerate(lengths):
        alone, _ = layer.apply(params, x[:length, row])
        np.testing.assert_allclose(output[:length, row], alone, rtol=1e-6, atol=1e-7)
        np.testing.assert_array_equal(h_n[2, row], output[length - 1, row, :4])
        np.testing.assert_array_equal(h_n[3, row], output[0, row, 4:])


def test_final_state_layout_two_layers_bidirectional():
    layer = jaxrnn.GRU(I, 3, num_layers=2, bidirectional=True)
    params = random_params(layer)
    output, h_n = layer.apply(params, normal(1, T, B, I))
    assert h_n.shape == (4, B, 3)
    np.testing.assert_array_equal(h_n[2], output[T - 1, :, :3])
    np.testing.assert_array_equal(h_n[3], output[0, :, 3:])
    lengths = jnp.array([2, 5, 4])
    output, h_n = layer.apply(params, normal(1, T, B, I), lengths=lengths)
    last = output[lengths - 1, jnp.arange(B)]
    np.testing.assert_array_equal(h_n[2], last[:, :3])
    np.testing.assert_array_equal(h_n[3], output[0, :, 3:])


def test_parameter_count_independent_of_length():
    layer = jaxrnn.LSTM(10, 20, num_layers=2)
    # eval_shape traces init and apply without compiling them.
    params = jax.eval_shape(layer.init, jax.random.key(0))
    # torch.nn.LSTM(10, 20, num_layers=2) has 5920 parameters.
    assert sum(value.size for value in params.values()) == 5920
    for steps in (1, 50):
        output, _ = jax.eval_shape(layer.apply, params, jnp.ones((steps, 2, 10)))
        assert output.shape == (steps, 2, 20)
        assert sum(value.size for value in params.values()) == 5920


# All states of the last layer.


def test_return_states_lstm_layout():
    layer = jaxrnn.LSTM(I, H, num_layers=2, bidirectional=True, proj_size=2)
    params = random_params(layer)
    lengths = jnp.array([5, 2, 0])
    output, (h_n, c_n), (h_states, c_states) = layer.apply(
        params, normal(1, T, B, I), lengths=lengths, return_states=True
    )
    assert h_states.shape == (T, B, 4)
    assert c_states.shape == (T, B, 2 * H)
    np.testing.assert_array_equal(h_states[-1, :, :2], h_n[2])
    np.testing.assert_array_equal(h_states[-1, :, 2:], h_n[3])
    np.testing.assert_array_equal(c_states[-1, :, :H], c_n[2])
    np.testing.assert_array_equal(c_states[-1, :, H:], c_n[3])
    for row, length in enumerate([5, 2, 0]):
        for step in range(length):
            np.testing.assert_array_equal(
                h_states[step, row, :2], output[step, row, :2]
            )
            reverse_time = length - 1 - step
            np.testing.assert_array_equal(
                h_states[step, row, 2:], output[reverse_time, row, 2:]
            )
        last_state = h_states[length - 1, row] if length else jnp.zeros(4)
        for step in range(length, T):
            np.testing.assert_array_equal(h_states[step, row], last_state)


def test_return_states_gru_batch_first():
    layer = jaxrnn.GRU(I, H, batch_first=True)
    params = random_params(layer)
    output, h_n, states = layer.apply(params, normal(1, B, T, I), return_states=True)
    assert states.shape == (B, T, H)
    np.testing.assert_array_equal(states, output)
    np.testing.assert_array_equal(states[:, -1], h_n[0])


# Initialization presets.


def test_pytorch_init_is_uniform_in_bound():
    params = jaxrnn.RNN(256, 256).init(jax.random.key(0))
    values = np.concatenate([np.ravel(value) for value in params.values()])
    bound = 1 / np.sqrt(256)
    assert bound == 0.0625
    assert values.min() >= -bound
    assert values.max() <= bound
    assert values.min() < -bound + 1e-3
    assert values.max() > bound - 1e-3
    assert abs(values.std() - bound / np.sqrt(3)) < 0.001


def test_init_uses_pytorch_order():
    layer = jaxrnn.LSTM(I, H, bidirectional=True, proj_size=2)
    names = list(layer.init(jax.random.key(0)))
    assert names == list(layer.param_shapes())
    assert names[:5] == [
        "weight_ih_l0",
        "weight_hh_l0",
        "bias_ih_l0",
        "bias_hh_l0",
        "weight_hr_l0",
    ]
    assert names[5] == "weight_ih_l0_reverse"


def test_orthogonal_init_blocks():
    key = jax.random.key(0)
    layer = jaxrnn.LSTM(I, H, num_layers=2, initializer="orthogonal")
    params = layer.init(key)
    reference = jaxrnn.LSTM(I, H, num_layers=2).init(key)
    for name, value in params.items():
        if name.startswith("weight_hh"):
            for block in np.split(np.asarray(value), 4):
                np.testing.assert_allclose(block.T @ block, np.eye(H), atol=1e-5)
        else:
            np.testing.assert_array_equal(value, reference[name])


def test_orthogonal_init_with_projection():
    params = jaxrnn.LSTM(I, H, proj_size=2, initializer="orthogonal").init(
        jax.random.key(0)
    )
    for block in np.split(np.asarray(params["weight_hh_l0"]), 4):
        assert block.shape == (H, 2)
        np.testing.assert_allclose(block.T @ block, np.eye(2), atol=1e-5)


def test_lstm_forget_bias():
    key = jax.random.key(0)
    params = jaxrnn.LSTM(I, H, bidirectional=True, forget_bias=1.0).init(key)
    reference = jaxrnn.LSTM(I, H, bidirectional=True).init(key)
    forget = slice(H, 2 * H)
    for suffix in ("_l0", "_l0_reverse"):
        np.testing.assert_array_equal(params["bias_hh" + suffix][forget], 1.0)
        np.testing.assert_array_equal(params["bias_ih" + suffix][forget], 0.0)
        for name in ("bias_ih", "bias_hh"):
            other_rows = np.delete(np.asarray(params[name + suffix]), np.r_[forget])
            expected = np.delete(np.asarray(reference[name + suffix]), np.r_[forget])
            np.testing.assert_array_equal(other_rows, expected)


def test_invalid_presets_raise():
    with pytest.raises(ValueError, match="initializer must be one of .* got 'xavier'"):
        jaxrnn.GRU(I, H, initializer="xavier")
    with pytest.raises(ValueError, match="forget_bias=1.0 needs bias=True"):
        jaxrnn.LSTM(I, H, bias=False, forget_bias=1.0)


# Errors are raised before any tracing or compilation.


@pytest.fixture
def no_unroll(monkeypatch):
    """Make reaching the unroll fail, so an error must come from the checks."""

    def reached(*args, **kwargs):
        raise AssertionError("the input reached the unroll")

    monkeypatch.setattr(unroll_module, "unroll", reached)


def test_wrong_h0_shape_raises(no_unroll):
    layer = jaxrnn.GRU(I, H, num_layers=2)
    params = random_params(layer)
    match = r"h0 has shape \(1, 3, 4\), expected \(2, 3, 4\)"
    with pytest.raises(ValueError, match=match):
        layer.apply(params, jnp.ones((T, B, I)), jnp.ones((1, B, H)))


@pytest.mark.parametrize("lengths", [[6, 1, 1], [-1, 2, 2]])
def test_lengths_out_of_range_raise(no_unroll, lengths):
    layer = jaxrnn.GRU(I, H)
    params = random_params(layer)
    with pytest.raises(
        ValueError, match=r"lengths must lie in \[0, T=5\], got \["
    ) as error:
        layer.apply(params, jnp.ones((T, B, I)), lengths=jnp.array(lengths))
    assert str(lengths) in str(error.value)


@pytest.mark.parametrize("unroll", [0, -2, 2.0, True])
def test_bad_unroll_raises(no_unroll, unroll):
    layer = jaxrnn.GRU(I, H)
    params = random_params(layer)
    match = f"unroll must be a positive int or None, got {unroll!r}"
    with pytest.raises(ValueError, match=match):
        layer.apply(params, jnp.ones((T, B, I)), unroll=unroll)


def test_numpy_int_unroll_accepted():
    layer = jaxrnn.GRU(I, H)
    params = random_params(layer)
    x = jnp.ones((T, B, I))

    output, _ = layer.apply(params, x, unroll=np.int64(2))

    np.testing.assert_allclose(output, layer.apply(params, x, unroll=1)[0], rtol=1e-6)


def test_default_unroll_by_length():
    lengths = (0, 1, 8, 16, 17, 256)
    unrolls = [unroll_module.default_unroll(t) for t in lengths]
    assert unrolls == [1, 1, 8, 16, 1, 1]


@pytest.mark.parametrize("impl", ["scan", "fused"])
def test_default_unroll_matches_one_step(impl):
    layer = jaxrnn.LSTM(I, H, bidirectional=True)
    params = random_params(layer)
    x = jax.random.normal(jax.random.PRNGKey(3), (T, B, I))
    loss = lambda p, u: jnp.sum(layer.apply(p, x, unroll=u, impl=impl)[0] ** 2)  # noqa: E731

    whole, grads_whole = jax.value_and_grad(loss)(params, None)
    single, grads_single = jax.value_and_grad(loss)(params, 1)

    np.testing.assert_allclose(whole, single, rtol=1e-6)
    for name in grads_single:
        np.testing.assert_allclose(
            grads_whole[name], grads_single[name], rtol=1e-5, atol=1e-6
        )


def test_wrong_lengths_shape_raises(no_unroll):
    layer = jaxrnn.GRU(I, H)
    params = random_params(layer)
    with pytest.raises(ValueError, match=r"lengths has shape \(2,\), expected \(3,\)"):
        layer.apply(params, jnp.ones((T, B, I)), lengths=jnp.array([1, 2]))


def test_wrong_feature_size_raises(no_unroll):
    layer = jaxrnn.LSTM(I, H)
    params = random_params(layer)
    match = r"x has shape \(5, 3, 7\) with feature size 7, expected \(5, 3, 3\) for input_size 3"
    with pytest.raises(ValueError, match=match):
        layer.apply(params, jnp.ones((T, B, 7)))


def test_lstm_carry_to_gru_raises(no_unroll):
    layer = jaxrnn.GRU(I, H)
    params = random_params(layer)
    carry = (jnp.zeros((1, B, H)), jnp.zeros((1, B, H)))
    match = r"h0 must be one array of shape \(1, 3, 4\), got a tuple of 2 arrays with shapes \(\(1, 3, 4\), \(1, 3, 4\)\)"
    with pytest.raises(ValueError, match=match):
        layer.apply(params, jnp.ones((T, B, I)), carry)
    with pytest.raises(
        ValueError,
        match=r"c0 is only for LSTM layers, got c0 of shape \(1, 3, 4\) for GRU",
    ):
        layer.apply(params, jnp.ones((T, B, I)), c0=carry[1])


@pytest.mark.parametrize("batch_first", [False, True])
def test_empty_sequence_raises(no_unroll, batch_first):
    layer = jaxrnn.LSTM(I, H, batch_first=batch_first)
    params = random_params(layer)
    shape = (B, 0, I) if batch_first else (0, B, I)
    match = rf"x has shape \({shape[0]}, {shape[1]}, 3\) with T = 0 time steps"
    with pytest.raises(ValueError, match=match):
        layer.apply(params, jnp.ones(shape))
    with pytest.raises(ValueError, match=match):
        jax.jit(layer.apply)(params, jnp.ones(shape))
    with pytest.raises(ValueError, match=r"x has shape \(0, 3\) with T = 0"):
        layer.apply(params, jnp.ones((0, I)))


def test_empty_batch_runs():
    layer = jaxrnn.GRU(I, H)
    output, h_n = layer.apply(random_params(layer), jnp.ones((T, 0, I)))
    assert output.shape == (T, 0, H)
    assert h_n.shape == (1, 0, H)


def test_non_array_input_raises(no_unroll):
    layer = jaxrnn.RNN(I, H)
    rows = [[0.0] * I] * T
    with pytest.raises(ValueError, match=r"x must be an array .* got list"):
        layer.apply(random_params(layer), rows)


def test_mismatched_params_raise(no_unroll):
    layer = jaxrnn.GRU(I, H)
    params = random_params(layer)
    x = jnp.ones((T, B, I))
    with pytest.raises(ValueError, match=r"params is missing \['bias_hh_l0'\]"):
        layer.apply({k: v for k, v in params.items() if k != "bias_hh_l0"}, x)
    with pytest.raises(
        ValueError, match=r"params has unexpected keys \['weight_hr_l0'\]"
    ):
        layer.apply(params | {"weight_hr_l0": jnp.zeros((2, H))}, x)
    match = r"params\['weight_hh_l0'\] has shape \(12, 5\), expected \(12, 4\)"
    with pytest.raises(ValueError, match=match):
        layer.apply(params | {"weight_hh_l0": jnp.zeros((12, 5))}, x)


def test_positional_arguments_follow_pytorch():
    assert jaxrnn.RNN(10, 20, 2, "relu").nonlinearity == "relu"
    assert jaxrnn.RNN(10, 20, 2, "relu").num_layers == 2
    with pytest.raises(TypeError, match="positional"):
        jaxrnn.LSTM(10, 20, 2, True)
    with pytest.raises(TypeError, match="positional"):
        jaxrnn.GRU(10, 20, 2, True)
