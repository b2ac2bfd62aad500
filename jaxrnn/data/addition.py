"""Binary addition as a sequence task: operand bits in, sum bits out.

Integers are written least significant bit first, so a recurrent network
reads the operands in the order a carry propagates. Step t of an example has
two input features, bit t of each operand, and one target, bit t of the sum.
The sum of two n-bit operands needs n + 1 bits, so an example has
T = n + 1 steps and both operands get a 0 as their top bit.

Bits are built with int64 arithmetic, so operands may have up to 62 bits and
their sums 63.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

OPERAND_BITS = 7
MAX_OPERAND_BITS = 62


class AdditionData(NamedTuple):
    """Encoded pairs of operands.

    Attributes:
      a: first operands (B,), int64.
      b: second operands (B,), int64.
      inputs: operand bits (B, T, 2), float32, least significant first.
      targets: sum bits (B, T), float32, least significant first.
    """

    a: np.ndarray
    b: np.ndarray
    inputs: np.ndarray
    targets: np.ndarray


def check_operand_bits(num_bits) -> None:
    """Raise ValueError unless `num_bits` is an int in [1, 62]."""
    if isinstance(num_bits, bool) or not isinstance(num_bits, (int, np.integer)):
        raise ValueError(f"num_bits must be an int, got {num_bits!r}")
    if not 1 <= num_bits <= MAX_OPERAND_BITS:
        raise ValueError(
            f"num_bits must be in [1, {MAX_OPERAND_BITS}] so that sums fit in "
            f"int64, got {num_bits}"
        )


def to_bits(values, num_bits: int):
    """Write non-negative integers as bits, least significant first.

    Works on NumPy arrays and on JAX arrays, traced ones included. JAX
    integers are int32 unless x64 is enabled, so there `num_bits` <= 31.

    Args:
      values: integers (...), each below 2**num_bits.
      num_bits: N, bits per integer.

    Returns:
      Bits (..., N) of the same integer dtype as `values`, each 0 or 1.
    """
    shifts = np.arange(num_bits)
    if isinstance(values, jax.Array):
        return (values[..., None] >> shifts.astype(values.dtype)) & 1
    values = np.asarray(values, np.int64)
    return (values[..., None] >> shifts) & 1


def from_bits(bits) -> np.ndarray:
    """Read integers back from bits, least significant first.

    Args:
      bits: (..., N) zeros and ones (any numeric dtype), N <= 63.

    Returns:
      The integers (...), int64.

    Raises:
      ValueError: N is above 63, or an entry is neither 0 nor 1.
    """
    bits = np.asarray(bits)
    if bits.shape[-1] > 63:
        raise ValueError(f"from_bits reads at most 63 bits, got {bits.shape[-1]}")
    if not np.isin(bits, (0, 1)).all():
        raise ValueError("bits must contain only 0 and 1")
    weights = np.left_shift(np.int64(1), np.arange(bits.shape[-1], dtype=np.int64))
    return (bits.astype(np.int64) * weights).sum(axis=-1)


def encode_pairs(a, b, num_bits: int):
    """Encode operand pairs as inputs and targets of T = num_bits + 1 steps.

    Works on NumPy arrays and, without the range check, on JAX arrays, traced
    ones included.

    Args:
      a: first operands (...), integers in [0, 2**num_bits).
      b: second operands (...), same shape as `a`.
      num_bits: n, bits per operand.

    Returns:
      `(inputs, targets)`: inputs (..., T, 2) and targets (..., T), float32.

    Raises:
      ValueError: `num_bits` is invalid, or an operand is out of range.
    """
    check_operand_bits(num_bits)
    num_steps = num_bits + 1
    if isinstance(a, jax.Array) or isinstance(b, jax.Array):
        inputs = jnp.stack([to_bits(a, num_steps), to_bits(b, num_steps)], axis=-1)
        targets = to_bits(a + b, num_steps)
        return inputs.astype(jnp.float32), targets.astype(jnp.float32)

    a = np.asarray(a, np.int64)
    b = np.asarray(b, np.int64)
    if a.shape != b.shape:
        raise ValueError(
            f"a and b must have the same shape, got {a.shape} and {b.shape}"
        )
    for name, operand in (("a", a), ("b", b)):
        if operand.size and (operand.min() < 0 or operand.max() >= 2**num_bits):
            raise ValueError(
                f"{name} must lie in [0, 2**{num_bits}), got min {operand.min()} "
                f"and max {operand.max()}"
            )
    inputs = np.stack([to_bits(a, num_steps), to_bits(b, num_steps)], axis=-1)
    targets = to_bits(a + b, num_steps)
    return inputs.astype(np.float32), targets.astype(np.float32)


def make_dataset(a, b, num_bits: int) -> AdditionData:
    """Encode the pairs `(a[i], b[i])` of n-bit operands as an `AdditionData`."""
    a = np.asarray(a, np.int64)
    b = np.asarray(b, np.int64)
    inputs, targets = encode_pairs(a, b, num_bits)
    return AdditionData(a, b, inputs, targets)


def all_pairs(num_bits: int = OPERAND_BITS) -> AdditionData:
    """Build every pair of n-bit operands, `a` major: 128 x 128 = 16,384 for n = 7.

    Raises:
      ValueError: `num_bits` is not in [1, 12], which caps the set at 2**24 pairs.
    """
    check_operand_bits(num_bits)
    if num_bits > 12:
        raise ValueError(f"all_pairs needs num_bits <= 12, got {num_bits}")
    a, b = np.divmod(np.arange(4**num_bits, dtype=np.int64), 2**num_bits)
    return make_dataset(a, b, num_bits)


def random_pairs(
    rng: np.random.Generator, num_pairs: int, num_bits: int
) -> AdditionData:
    """Draw `num_pairs` pairs of operands uniformly from [0, 2**num_bits).

    Raises:
      ValueError: `num_pairs` is not a positive int, or `num_bits` is invalid.
    """
    check_operand_bits(num_bits)
    if isinstance(num_pairs, bool) or not isinstance(num_pairs, (int, np.integer)):
        raise ValueError(f"num_pairs must be an int, got {num_pairs!r}")
    if num_pairs < 1:
        raise ValueError(f"num_pairs must be >= 1, got {num_pairs}")
    a = rng.integers(0, 2**num_bits, num_pairs, dtype=np.int64)
    b = rng.integers(0, 2**num_bits, num_pairs, dtype=np.int64)
    return make_dataset(a, b, num_bits)
