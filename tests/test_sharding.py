"""The same global batch trains alike on 1 and on 4 devices.

The 4 devices are CPU devices that XLA splits off the host, which
`--xla_force_host_platform_device_count` must ask for before JAX starts, so
the comparison runs in a subprocess: this file run as a script prints its
measurements as JSON.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest
from jax.sharding import PartitionSpec

from jaxrnn.training import check_batch_size, data_mesh, shard_batch

ROOT = Path(__file__).resolve().parents[1]
DEVICES = 4
TOLERANCE = 1e-6


def relative_error(actual, expected) -> float:
    actual, expected = np.ravel(actual), np.ravel(expected)
    return float(np.linalg.norm(actual - expected) / np.linalg.norm(expected))


def compare_runs(train) -> dict:
    """Train on 1 device and on all; return the loss curves' and parameters' errors."""
    one_losses, one_params = train(jax.devices()[:1])
    all_losses, all_params = train(jax.devices())
    return {
        "loss_error": relative_error(all_losses, one_losses),
        "loss_points": len(one_losses),
        "param_errors": [
            relative_error(a, o)
            for a, o in zip(jax.tree.leaves(all_params), jax.tree.leaves(one_params))
        ],
    }


def train_addition(devices):
    from jaxrnn.tasks.addition.default import train_default

    _, params, _, records = train_default(
        0,
        steps=80,
        hidden_size=16,
        learning_rate=1e-2,
        batch_size=64,
        chunk_steps=10,
        progress=False,
        mesh=data_mesh(devices),
    )
    return [r["loss"] for r in records], params


def train_toy(devices):
    sys.path.insert(0, str(ROOT / "tests"))
    import bucketed_toy_task as toy

    state, progress = toy.train(None, epochs=1, devices=len(devices))
    return [r["loss"] for r in progress.records] + [
        progress.records[-1]["grad_norm"]
    ], state.params


def measure() -> dict:
    """Run on every device of this process and report what the test checks."""
    from jaxrnn.training import replicate

    mesh = data_mesh()
    batch = shard_batch(np.arange(8 * 3, dtype=np.float32).reshape(8, 3), mesh)
    state = replicate({"w": np.ones((2, 2), np.float32)}, mesh)
    return {
        "devices": jax.device_count(),
        "batch_spec": str(batch.sharding.spec),
        "shard_shapes": [list(s.data.shape) for s in batch.addressable_shards],
        "replicated": state["w"].sharding.is_fully_replicated,
        "addition": compare_runs(train_addition),
        "toy": compare_runs(train_toy),
    }


@pytest.fixture(scope="module")
def four_devices() -> dict:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "JAX_PLATFORMS": "cpu",
        "XLA_FLAGS": f"--xla_force_host_platform_device_count={DEVICES}",
    }
    result = subprocess.run(
        [sys.executable, __file__],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


def test_batch_sharded_state_replicated(four_devices):
    assert four_devices["devices"] == DEVICES
    assert four_devices["batch_spec"] == str(PartitionSpec("data"))
    assert four_devices["shard_shapes"] == [[2, 3]] * DEVICES
    assert four_devices["replicated"]


@pytest.mark.parametrize("task", ["addition", "toy"])
def test_four_devices_match_one(four_devices, task):
    result = four_devices[task]
    assert result["loss_points"] >= 2
    assert result["loss_error"] <= TOLERANCE
    assert len(result["param_errors"]) >= 4
    assert max(result["param_errors"]) <= TOLERANCE


def test_one_device_mesh():
    mesh = data_mesh(jax.devices()[:1])
    batch = shard_batch({"x": np.zeros((5, 2), np.float32)}, mesh)
    assert batch["x"].shape == (5, 2)
    assert mesh.axis_names == ("data",)


def test_batch_size_must_split_over_devices():
    mesh = data_mesh(jax.devices()[:1])
    check_batch_size(12, mesh, accumulate=4)
    with pytest.raises(ValueError, match="multiple of accumulate x devices = 4 x 1"):
        check_batch_size(10, mesh, accumulate=4)


def test_shard_batch_rejects_scalar():
    with pytest.raises(ValueError, match="leading axis divisible"):
        shard_batch({"x": np.float32(1.0)}, data_mesh(jax.devices()[:1]))


if __name__ == "__main__":
    print(json.dumps(measure()))
