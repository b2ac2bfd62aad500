"""Convert parameters between PyTorch state dicts and jaxrnn parameter dicts.

jaxrnn keeps PyTorch's parameter names and layouts (`weight_ih_l0` is
(G*H, I) in both), so conversion only moves arrays between libraries. Both
directions check every name and keep every value and dtype exactly.
"""

import re
from collections.abc import Mapping

import jax.numpy as jnp
import numpy as np

from jaxrnn.cells.cell import Params
from jaxrnn.layers.unroll import PARAM_NAMES

PARAM_NAME = re.compile(rf"({'|'.join(PARAM_NAMES)})_l(\d+)(_reverse)?")


def check_names(argument: str, mapping) -> None:
    """Raise ValueError unless `mapping` is keyed by PyTorch's RNN parameter names.

    Accepted names are `{weight_ih, weight_hh, bias_ih, bias_hh, weight_hr}`
    followed by `_l{k}` and an optional `_reverse`, as in the state dict of
    `torch.nn.RNN`, `LSTM` or `GRU`.

    Args:
      argument: the argument's name, for the error message.
      mapping: the state dict or parameter dict to check.
    """
    if not isinstance(mapping, Mapping):
        raise ValueError(
            f"{argument} must be a mapping from PyTorch's parameter names to "
            f"arrays, got {type(mapping).__name__}"
        )
    for name in mapping:
        if not isinstance(name, str) or PARAM_NAME.fullmatch(name) is None:
            raise ValueError(
                f"unknown parameter name {name!r}: expected PyTorch RNN names such "
                f"as 'weight_ih_l0', 'bias_hh_l1_reverse' or 'weight_hr_l0'. Pass "
                f"the recurrent module's own state_dict(), without a model prefix"
            )


def torch_to_numpy(value) -> np.ndarray:
    """Copy a torch tensor, or anything `np.asarray` accepts, to numpy.

    A torch bfloat16 tensor is reinterpreted bit for bit as `ml_dtypes`
    bfloat16, because numpy has no bfloat16 of its own.
    """
    if hasattr(value, "detach") and hasattr(value, "numpy"):
        value = value.detach().cpu()
        if str(value.dtype) == "torch.bfloat16":
            import torch

            return value.view(torch.int16).numpy().view(jnp.bfloat16)
        return value.numpy()
    return np.asarray(value)


def from_torch(state_dict) -> Params:
    """Convert a PyTorch RNN, LSTM or GRU state dict to jaxrnn parameters.

    Args:
      state_dict: a mapping from PyTorch's names (`weight_ih_l0`,
        `bias_hh_l1_reverse`, `weight_hr_l0`, ...) to torch tensors or numpy
        arrays, such as `torch.nn.LSTM(...).state_dict()`.

    Returns:
      A dict with the same names and shapes, holding jax arrays of the same
      dtypes, ready for the matching layer's `apply`.

    Raises:
      ValueError: a name is not a PyTorch RNN parameter name, a value is not
        a floating-point array, or a value is float64 while
        `jax_enable_x64` is off, so its dtype cannot be kept.
    """
    check_names("state_dict", state_dict)
    params = {}
    for name, value in state_dict.items():
        array = torch_to_numpy(value)
        if not jnp.issubdtype(array.dtype, jnp.floating):
            raise ValueError(
                f"state_dict[{name!r}] has dtype {array.dtype}, expected a "
                f"floating-point dtype"
            )
        converted = jnp.asarray(array)
        if converted.dtype != array.dtype:
            raise ValueError(
                f"state_dict[{name!r}] has dtype {array.dtype}, which JAX stores "
                f"as {converted.dtype}. Enable 64-bit JAX with "
                f"jax.config.update('jax_enable_x64', True), or cast the tensor "
                f"to float32 first"
            )
        params[name] = converted
    return params


def to_torch(params: Params) -> dict:
    """Convert jaxrnn parameters to a state dict for `module.load_state_dict`.

    Args:
      params: a dict under PyTorch's names, from a layer's `init` or training.

    Returns:
      A dict of CPU torch tensors with the same names, shapes, dtypes and
      values. Each tensor owns a copy of its data.

    Raises:
      ImportError: torch is not installed.
      ValueError: a name is not a PyTorch RNN parameter name.
    """
    check_names("params", params)
    try:
        import torch
    except ImportError as error:
        raise ImportError(
            "jaxrnn.to_torch needs PyTorch, which jaxrnn does not install: "
            "run `pip install torch`"
        ) from error
    state_dict = {}
    for name, value in params.items():
        array = np.array(value)
        if array.dtype == jnp.bfloat16:
            tensor = torch.from_numpy(array.view(np.int16)).view(torch.bfloat16)
        else:
            tensor = torch.from_numpy(array)
        state_dict[name] = tensor
    return state_dict
