"""Conversion between PyTorch state dicts and jaxrnn parameters."""

import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn


@pytest.fixture(autouse=True)
def full_matmul_precision():
    """Compare at full float32 matmul precision: the CPU default, not the GPU one."""
    with jax.default_matmul_precision("highest"):
        yield


def numpy_state_dict(layer, seed: int = 0, dtype=np.float32) -> dict:
    """A state dict of numpy arrays under the layer's PyTorch names."""
    rng = np.random.default_rng(seed)
    return {
        name: rng.standard_normal(shape).astype(dtype)
        for name, shape in layer.param_shapes().items()
    }


def test_from_torch_accepts_numpy():
    layer = jaxrnn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2)
    state_dict = numpy_state_dict(layer)
    params = jaxrnn.from_torch(state_dict)
    assert list(params) == list(state_dict)
    for name, value in state_dict.items():
        assert isinstance(params[name], jax.Array)
        assert params[name].dtype == jnp.float32
        np.testing.assert_array_equal(params[name], value)


def test_from_torch_rejects_unknown_name():
    state_dict = numpy_state_dict(jaxrnn.GRU(3, 4))
    state_dict["rnn.weight_ih_l0"] = state_dict.pop("weight_ih_l0")
    with pytest.raises(ValueError, match=r"unknown parameter name 'rnn.weight_ih_l0'"):
        jaxrnn.from_torch(state_dict)
    for name in ("weight_ih_l0_forward", "weight_xx_l0", "weight_ih_0", "bias_hh_lx"):
        with pytest.raises(ValueError, match=f"unknown parameter name '{name}'"):
            jaxrnn.from_torch({name: np.zeros(3, np.float32)})


def test_conversion_rejects_non_mapping():
    pairs = list(numpy_state_dict(jaxrnn.GRU(3, 4)).items())
    with pytest.raises(ValueError, match="state_dict must be a mapping .*, got list"):
        jaxrnn.from_torch(pairs)
    with pytest.raises(ValueError, match="params must be a mapping .*, got list"):
        jaxrnn.to_torch(pairs)


def test_from_torch_rejects_integer_values():
    with pytest.raises(ValueError, match=r"state_dict\['bias_ih_l0'\] has dtype int64"):
        jaxrnn.from_torch({"bias_ih_l0": np.arange(4)})


def test_from_torch_rejects_float64_without_x64():
    with jax.enable_x64(False):
        with pytest.raises(
            ValueError, match=r"has dtype float64, which JAX stores as float32"
        ):
            jaxrnn.from_torch({"bias_ih_l0": np.zeros(4)})


def test_from_torch_keeps_float64_with_x64():
    with jax.enable_x64(True):
        params = jaxrnn.from_torch({"bias_ih_l0": np.full(4, 1 / 3)})
        assert params["bias_ih_l0"].dtype == jnp.float64
        assert params["bias_ih_l0"][0] == 1 / 3


def test_to_torch_needs_torch(monkeypatch):
    # A None entry in sys.modules makes `import torch` raise ImportError.
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(
        ImportError, match=r"jaxrnn.to_torch needs PyTorch.*pip install torch"
    ):
        jaxrnn.to_torch({"bias_ih_l0": jnp.zeros(4)})


def test_to_torch_rejects_unknown_name():
    pytest.importorskip("torch")
    with pytest.raises(ValueError, match=r"unknown parameter name 'head.weight'"):
        jaxrnn.to_torch({"head.weight": jnp.zeros(4)})


@pytest.mark.parametrize(
    "module_args",
    [
        ("RNN", {"nonlinearity": "relu", "num_layers": 3, "bias": False}),
        ("LSTM", {"num_layers": 2, "bidirectional": True, "proj_size": 2}),
        ("GRU", {"num_layers": 2, "bidirectional": True}),
    ],
)
def test_round_trip_through_torch_is_exact(module_args):
    torch = pytest.importorskip("torch")
    name, options = module_args
    torch.manual_seed(0)
    module = getattr(torch.nn, name)(3, 4, **options)
    state_dict = module.state_dict()
    params = jaxrnn.from_torch(state_dict)
    assert list(params) == list(state_dict)
    back = jaxrnn.to_torch(params)
    assert list(back) == list(state_dict)
    for key, value in state_dict.items():
        assert back[key].dtype == value.dtype
        assert torch.equal(back[key], value)
    fresh = getattr(torch.nn, name)(3, 4, **options)
    fresh.load_state_dict(back)
    for key, value in fresh.state_dict().items():
        assert torch.equal(value, state_dict[key])


def test_init_params_load_into_torch():
    torch = pytest.importorskip("torch")
    layer = jaxrnn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2)
    params = jax.eval_shape(layer.init, jax.random.key(0))
    params = {name: jnp.full(value.shape, 0.25) for name, value in params.items()}
    module = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2)
    module.load_state_dict(jaxrnn.to_torch(params))
    assert all(bool((value == 0.25).all()) for value in module.state_dict().values())


def test_round_trip_keeps_float64():
    torch = pytest.importorskip("torch")
    module = torch.nn.GRU(3, 4, dtype=torch.float64)
    with jax.enable_x64(True):
        params = jaxrnn.from_torch(module.state_dict())
        assert all(value.dtype == jnp.float64 for value in params.values())
        back = jaxrnn.to_torch(params)
    for key, value in module.state_dict().items():
        assert back[key].dtype == torch.float64
        assert torch.equal(back[key], value)


def test_round_trip_keeps_bfloat16():
    torch = pytest.importorskip("torch")
    module = torch.nn.GRU(3, 4, dtype=torch.bfloat16)
    params = jaxrnn.from_torch(module.state_dict())
    assert all(value.dtype == jnp.bfloat16 for value in params.values())
    back = jaxrnn.to_torch(params)
    for key, value in module.state_dict().items():
        assert back[key].dtype == torch.bfloat16
        assert torch.equal(back[key], value)


def test_to_torch_tensors_own_their_data():
    torch = pytest.importorskip("torch")
    params = {"bias_ih_l0": jnp.zeros(4)}
    tensor = jaxrnn.to_torch(params)["bias_ih_l0"]
    tensor += 1.0
    assert tensor.dtype == torch.float32
    np.testing.assert_array_equal(params["bias_ih_l0"], 0.0)


def test_converted_lstm_matches_torch_outputs():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    module = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True)
    layer = jaxrnn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True)
    x = torch.randn(2, 5, 3)
    expected, (h_n, c_n) = module(x)
    output, (jax_h_n, jax_c_n) = layer.apply(
        jaxrnn.from_torch(module.state_dict()), jnp.asarray(x.numpy())
    )
    np.testing.assert_allclose(output, expected.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(jax_h_n, h_n.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(jax_c_n, c_n.detach().numpy(), rtol=1e-5, atol=1e-6)
