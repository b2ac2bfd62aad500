"""Cells on one example: shapes, gate slices and hand-computed steps."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrnn import cells


def zero_params(cell, input_size, hidden_size, **options):
    """Return the cell's parameters with every entry 0."""
    params = cell.init(jax.random.key(0), input_size, hidden_size, **options)
    return jax.tree.map(jnp.zeros_like, params)


@pytest.mark.parametrize(
    ("cell", "gates"),
    [
        (cells.elman("tanh"), 1),
        (cells.elman("relu"), 1),
        (cells.gru(), 3),
        (cells.lstm(), 4),
    ],
)
def test_cell_init_shapes(cell, gates):
    params = cell.init(jax.random.key(0), 3, 5)
    assert cell.num_gates == gates
    assert params["weight_ih"].shape == (gates * 5, 3)
    assert params["weight_hh"].shape == (gates * 5, 5)
    assert params["bias_ih"].shape == (gates * 5,)
    assert params["bias_hh"].shape == (gates * 5,)


def test_cell_init_without_bias():
    params = cells.gru().init(jax.random.key(0), 3, 5, bias=False)
    assert sorted(params) == ["weight_hh", "weight_ih"]


def test_cell_init_keeps_dtype():
    with jax.enable_x64(True):
        params = cells.lstm().init(jax.random.key(0), 3, 5, dtype=jnp.float64)
        assert all(value.dtype == jnp.float64 for value in params.values())


def test_lstm_projection_shapes():
    cell = cells.lstm()
    params = cell.init(jax.random.key(0), 3, 5, proj_size=2)
    assert params["weight_hr"].shape == (2, 5)
    assert params["weight_hh"].shape == (20, 2)
    h, c = cell.initial_carry(params)
    assert h.shape == (2,)
    assert c.shape == (5,)
    (h, c), y = cell.step(params, (h, c), jnp.ones(3))
    assert h.shape == (2,)
    assert c.shape == (5,)
    np.testing.assert_array_equal(y, h)


def test_elman_rejects_unknown_nonlinearity():
    with pytest.raises(ValueError, match=r"nonlinearity must be one of .* got 'gelu'"):
        cells.elman("gelu")


def test_elman_cells_are_cached():
    assert cells.elman("relu") is cells.elman("relu")
    assert cells.elman("relu") != cells.elman("tanh")


def test_lstm_forget_gate_slice():
    # H=1: only the f entry (index 1 of i, f, g, o) of each bias is 0.5, so
    # f = sigmoid(1), i = sigmoid(0) and g = tanh(0) = 0: c shrinks by sigmoid(1).
    cell = cells.lstm()
    params = zero_params(cell, 1, 1)
    params["bias_ih"] = params["bias_ih"].at[1].set(0.5)
    params["bias_hh"] = params["bias_hh"].at[1].set(0.5)
    carry = (jnp.zeros(1), jnp.ones(1))
    for _ in range(3):
        carry, _ = cell.step(params, carry, jnp.zeros(1))
    expected = float(jax.nn.sigmoid(1.0)) ** 3
    assert carry[1][0] == pytest.approx(expected, rel=1e-6)
    assert carry[1][0] == pytest.approx(0.3907, abs=1e-4)


def test_gru_hidden_n_bias_inside_reset():
    # r = z = 0.5 and n = tanh(r * b_hn) = tanh(0.5), so h1 = 0.5 * tanh(0.5).
    cell = cells.gru()
    params = zero_params(cell, 1, 1)
    params["bias_hh"] = params["bias_hh"].at[2].set(1.0)
    h1, y = cell.step(params, jnp.zeros(1), jnp.zeros(1))
    assert h1[0] == pytest.approx(0.5 * np.tanh(0.5), rel=1e-6)
    assert h1[0] == pytest.approx(0.2311, abs=1e-4)
    np.testing.assert_array_equal(y, h1)


def test_gru_step_with_hidden_n_row():
    # n = tanh(r * (W_hn h + b_hn)) = tanh(0.5 * 2) and h1 = 0.5 * n + 0.5 * h0.
    cell = cells.gru()
    params = zero_params(cell, 1, 1)
    params["weight_hh"] = params["weight_hh"].at[2, 0].set(1.0)
    params["bias_hh"] = params["bias_hh"].at[2].set(1.0)
    h1, _ = cell.step(params, jnp.ones(1), jnp.zeros(1))
    assert h1[0] == pytest.approx(0.5 * np.tanh(1.0) + 0.5, rel=1e-6)
    assert h1[0] == pytest.approx(0.8808, abs=1e-4)


def test_elman_step_values():
    cell = cells.elman("tanh")
    params = {
        "weight_ih": jnp.full((1, 1), 2.0),
        "weight_hh": jnp.full((1, 1), 0.5),
        "bias_ih": jnp.full((1,), 0.25),
        "bias_hh": jnp.full((1,), -0.5),
    }
    h1, _ = cell.step(params, jnp.ones(1), jnp.full((1,), 3.0))
    assert h1[0] == pytest.approx(np.tanh(2.0 * 3.0 + 0.25 + 0.5 - 0.5), rel=1e-6)
