"""Input validation for the layers, run eagerly before anything is traced.

Every check raises ValueError naming the argument, the value or shape it
received and the one it expected, so a wrong call fails before compilation.
"""

import numbers
from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np


def check_positive_int(name: str, value, minimum: int = 1) -> None:
    """Raise ValueError unless `value` is an int >= `minimum`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")


def shape_error(name: str, received, expected) -> ValueError:
    """Build the error for an argument of the wrong shape."""
    return ValueError(f"{name} has shape {tuple(received)}, expected {tuple(expected)}")


def check_input(x: jax.Array, input_size: int, batch_first: bool) -> tuple[int, ...]:
    """Validate x and return its batch shape: (B,), or () when unbatched."""
    layout = "(B, T, I)" if batch_first else "(T, B, I)"
    if not (hasattr(x, "ndim") and hasattr(x, "shape")):
        raise ValueError(
            f"x must be an array (T, I) or {layout}, got {type(x).__name__}; "
            f"convert it with jnp.asarray first"
        )
    if x.ndim not in (2, 3):
        raise ValueError(
            f"x must have 2 dims (T, I) or 3 dims {layout}, got shape {tuple(x.shape)}"
        )
    num_steps = x.shape[1] if (batch_first and x.ndim == 3) else x.shape[0]
    if num_steps == 0:
        # PyTorch 2.13 rejects it too: "Expected sequence length to be larger than 0".
        raise ValueError(
            f"x has shape {tuple(x.shape)} with T = 0 time steps, expected T >= 1"
        )
    if x.shape[-1] != input_size:
        expected = (*x.shape[:-1], input_size)
        raise ValueError(
            f"x has shape {tuple(x.shape)} with feature size {x.shape[-1]}, "
            f"expected {expected} for input_size {input_size}"
        )
    if x.ndim == 2:
        return ()
    return (x.shape[0],) if batch_first else (x.shape[1],)


def check_state(name: str, state, expected: tuple[int, ...]) -> None:
    """Validate one initial state h0 or c0 against its expected shape."""
    if isinstance(state, (tuple, list)):
        shapes = tuple(tuple(jnp.shape(leaf)) for leaf in state)
        raise ValueError(
            f"{name} must be one array of shape {expected}, got a "
            f"{type(state).__name__} of {len(state)} arrays with shapes {shapes}. "
            f"A (h_0, c_0) pair is an LSTM state: pass h0 and c0 as separate "
            f"arguments to an LSTM, and only h0 to an RNN or GRU"
        )
    if tuple(jnp.shape(state)) != expected:
        raise shape_error(name, jnp.shape(state), expected)


def check_lengths(lengths, batch: tuple[int, ...], num_steps: int) -> jax.Array:
    """Validate lengths (B,) and return it as an int32 array."""
    if batch == ():
        raise ValueError(
            f"lengths needs batched input (T, B, I) or (B, T, I), got lengths "
            f"of shape {tuple(jnp.shape(lengths))} for unbatched input (T, I)"
        )
    if tuple(jnp.shape(lengths)) != batch:
        raise shape_error("lengths", jnp.shape(lengths), batch)
    dtype = jnp.asarray(lengths).dtype
    if not jnp.issubdtype(dtype, jnp.integer):
        raise ValueError(f"lengths must be integers, got dtype {dtype}")
    if not isinstance(lengths, jax.core.Tracer):
        values = np.asarray(lengths)
        if values.size and (values.min() < 0 or values.max() > num_steps):
            raise ValueError(
                f"lengths must lie in [0, T={num_steps}], got {values.tolist()} "
                f"(min {values.min()}, max {values.max()})"
            )
    # NOTE: traced lengths (inside jit) cannot be range-checked here;
    # values above T act as T and values below 0 as 0.
    return jnp.asarray(lengths, jnp.int32)


def check_params(params, expected: dict[str, tuple[int, ...]]) -> None:
    """Validate the names and shapes of a layer's parameter dict."""
    if not isinstance(params, Mapping):
        raise ValueError(
            f"params must be a mapping of arrays under PyTorch's names, got "
            f"{type(params).__name__}"
        )
    missing = [name for name in expected if name not in params]
    if missing:
        raise ValueError(
            f"params is missing {missing}; expected the keys {list(expected)}"
        )
    unexpected = [name for name in params if name not in expected]
    if unexpected:
        raise ValueError(
            f"params has unexpected keys {unexpected}; expected the keys "
            f"{list(expected)} (check bias, num_layers, bidirectional and proj_size)"
        )
    for name, shape in expected.items():
        if tuple(jnp.shape(params[name])) != shape:
            raise shape_error(f"params[{name!r}]", jnp.shape(params[name]), shape)
