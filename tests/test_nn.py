"""Flax NNX modules: parameters, dropout modes and training with Optax."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import jaxrnn
import jaxrnn.nn

T, B, I, H = 5, 3, 3, 4


@pytest.fixture(autouse=True)
def full_matmul_precision():
    """Compare at full float32 matmul precision: the CPU default, not the GPU one."""
    with jax.default_matmul_precision("highest"):
        yield


def inputs(seed: int = 0, *shape) -> jax.Array:
    shape = shape or (T, B, I)
    return jnp.asarray(np.random.default_rng(seed).standard_normal(shape), jnp.float32)


@pytest.mark.parametrize(
    ("module_type", "layer_type", "options"),
    [
        (jaxrnn.nn.RNN, jaxrnn.RNN, {"nonlinearity": "relu"}),
        (jaxrnn.nn.LSTM, jaxrnn.LSTM, {"proj_size": 2, "bidirectional": True}),
        (jaxrnn.nn.GRU, jaxrnn.GRU, {"num_layers": 2}),
    ],
)
def test_module_params_match_layer_init(module_type, layer_type, options):
    module = module_type(I, H, rngs=nnx.Rngs(params=0), **options)
    layer = layer_type(I, H, **options)
    assert module.layer == layer
    assert isinstance(module.params, nnx.Param)
    value = module.params.get_value()
    expected = jax.eval_shape(layer.init, jax.random.key(0))
    assert sorted(value) == sorted(expected)
    for name, shape in expected.items():
        assert value[name].shape == shape.shape
    output, final = module(inputs())
    reference, reference_final = layer.apply(dict(value), inputs())
    np.testing.assert_array_equal(output, reference)
    for leaf, reference_leaf in zip(
        jax.tree.leaves(final), jax.tree.leaves(reference_final)
    ):
        np.testing.assert_array_equal(leaf, reference_leaf)


def test_module_params_export_to_torch():
    torch = pytest.importorskip("torch")
    module = jaxrnn.nn.GRU(I, H, num_layers=2, rngs=nnx.Rngs(0))
    torch_module = torch.nn.GRU(I, H, num_layers=2)
    torch_module.load_state_dict(jaxrnn.to_torch(module.params.get_value()))
    expected, _ = torch_module(torch.from_numpy(np.array(inputs())))
    output, _ = module(inputs())
    np.testing.assert_allclose(output, expected.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_module_dropout_follows_train_and_eval():
    module = jaxrnn.nn.GRU(I, H, num_layers=2, dropout=0.5, rngs=nnx.Rngs(0))
    layer = jaxrnn.GRU(I, H, num_layers=2, dropout=0.5)
    x = inputs()
    reference, _ = layer.apply(dict(module.params.get_value()), x)
    first, _ = module(x)
    second, _ = module(x)
    assert np.abs(first - reference).max() > 1e-3
    assert np.abs(first - second).max() > 1e-3
    module.eval()
    assert module.deterministic
    evaluated, _ = module(x)
    np.testing.assert_array_equal(evaluated, reference)
    module.train()
    overridden, _ = module(x, deterministic=True)
    np.testing.assert_array_equal(overridden, reference)
    keyed, _ = module(x, rngs=jax.random.key(3))
    expected, _ = layer.apply(dict(module.params.get_value()), x, key=jax.random.key(3))
    np.testing.assert_array_equal(keyed, expected)


def test_module_dropout_needs_a_stream():
    with pytest.raises(
        ValueError, match=r"dropout=0.5 needs rngs with a 'dropout' or default stream"
    ):
        jaxrnn.nn.GRU(I, H, num_layers=2, dropout=0.5, rngs=nnx.Rngs(params=0))


def test_module_rejects_invalid_option():
    with pytest.raises(
        ValueError, match=r"proj_size must be smaller than hidden_size=4, got 4"
    ):
        jaxrnn.nn.LSTM(I, H, proj_size=4, rngs=nnx.Rngs(0))


class SequenceRegressor(nnx.Module):
    """An LSTM over (B, T, 1) and a linear head on its final hidden state."""

    def __init__(self, rngs: nnx.Rngs):
        self.lstm = jaxrnn.nn.LSTM(1, 16, batch_first=True, rngs=rngs)
        self.head = nnx.Linear(16, 1, rngs=rngs)

    def __call__(self, x):
        _, (h_n, _) = self.lstm(x)
        return self.head(h_n[-1])[:, 0]


def test_nnx_model_with_lstm_trains():
    # The target is the mean of each sequence, which the LSTM has to
    # accumulate over its 8 steps.
    x = inputs(1, 64, 8, 1)
    target = x[:, :, 0].mean(axis=1)
    model = SequenceRegressor(nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, optax.adam(1e-2), wrt=nnx.Param)

    def loss_fn(model):
        return jnp.mean((model(x) - target) ** 2)

    @nnx.jit
    def train_step(model, optimizer):
        loss, grads = nnx.value_and_grad(loss_fn)(model)
        optimizer.update(model, grads)
        return loss

    initial = float(loss_fn(model))
    for _ in range(150):
        train_step(model, optimizer)
    final = float(loss_fn(model))
    assert final < 0.01 * initial, (initial, final)
    assert sorted(model.lstm.params.get_value()) == sorted(
        model.lstm.layer.param_shapes()
    )
