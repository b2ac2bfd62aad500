"""Data parallelism: one mesh axis over the devices, the batch split along it.

Batch leaves (B, ...) are sharded over the mesh's "data" axis and the
training state is replicated, so `jax.jit` runs each device's share of the
batch and all-reduces the gradients. On one device the mesh has one entry
and the same code runs unchanged. For training over several hosts, see
docs/distributed.md.
"""

from collections.abc import Sequence
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

DATA_AXIS = "data"


def data_mesh(devices: Sequence[jax.Device] | None = None) -> Mesh:
    """Build a one-axis mesh named "data".

    Args:
      devices: the devices to use. None takes `jax.devices()`: every local
        device on one host, and every device of every process once
        `jax.distributed.initialize` has run.
    """
    devices = jax.devices() if devices is None else list(devices)
    if not devices:
        raise ValueError("devices must list at least one device, got none")
    return Mesh(np.asarray(devices), (DATA_AXIS,))


def batch_sharding(mesh: Mesh, leading_axes: int = 0) -> NamedSharding:
    """Shard axis `leading_axes` of a leaf over "data", the other axes whole.

    `leading_axes=1` suits stacked micro-batches (K, B/K, ...).
    """
    return NamedSharding(mesh, PartitionSpec(*([None] * leading_axes), DATA_AXIS))


def replicated_sharding(mesh: Mesh) -> NamedSharding:
    """Place a whole copy of a leaf on every device of the mesh."""
    return NamedSharding(mesh, PartitionSpec())


def replicate(tree: Any, mesh: Mesh) -> Any:
    """Copy every leaf of `tree` to every device of the mesh."""
    return jax.device_put(tree, replicated_sharding(mesh))


def shard_batch(batch: Any, mesh: Mesh) -> Any:
    """Build global arrays sharded over "data" from this process's batch rows.

    On one host the process's rows are the whole batch. With several
    processes each one passes its own rows (B / number of processes), and
    the global batch is their concatenation in process order.

    Raises:
      ValueError: a leaf's rows do not split evenly over the local devices.
    """
    sharding = batch_sharding(mesh)
    local_devices = len(mesh.local_devices)

    def place(leaf):
        leaf = np.asarray(leaf)
        if leaf.ndim == 0 or leaf.shape[0] % local_devices:
            raise ValueError(
                f"every batch leaf needs a leading axis divisible by the "
                f"{local_devices} local devices, got shape {leaf.shape}"
            )
        return jax.make_array_from_process_local_data(sharding, leaf)

    return jax.tree.map(place, batch)


def check_batch_size(batch_size: int, mesh: Mesh, accumulate: int = 1) -> None:
    """Check that every device gets whole rows of every micro-batch.

    Raises:
      ValueError: `batch_size` is not a multiple of accumulate x devices.
    """
    devices = mesh.devices.size
    if batch_size % (accumulate * devices):
        raise ValueError(
            f"batch_size must be a multiple of accumulate x devices = "
            f"{accumulate} x {devices} = {accumulate * devices}, got {batch_size}"
        )
