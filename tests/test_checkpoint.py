"""Checkpoints: what they store, which they keep, and damaged or failed writes."""

import argparse
import json
import logging
import pickle

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from orbax.checkpoint._src.path import async_path

from jaxrnn.cli import main
from jaxrnn.tasks.addition import make_template, resolve_options
from jaxrnn.training import (
    CheckpointError,
    Checkpoints,
    LoopOptions,
    TrainLoop,
    init_state,
    read_run_config,
    restore_checkpoint,
)
from jaxrnn.training.run_config import PACKAGES

TMP_SUFFIX = ".orbax-checkpoint-tmp"
OPTIMIZER = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(1e-3))


def make_state(seed: int, step: int = 0):
    """Build a state with a typed key and a chained optimizer state."""
    key = jax.random.key(seed)
    params = {
        "w": jax.random.normal(key, (3, 4)),
        "b": jnp.arange(4.0) + seed,
    }
    state = init_state(params, OPTIMIZER, jax.random.fold_in(key, 1))
    grads = jax.tree.map(jnp.ones_like, params)
    _, opt_state = OPTIMIZER.update(grads, state.opt_state, params)
    return state._replace(opt_state=opt_state, step=jnp.int32(step))


def assert_trees_equal(actual, expected):
    assert jax.tree.structure(actual) == jax.tree.structure(expected)
    for a, e in zip(jax.tree.leaves(actual), jax.tree.leaves(expected), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(e))


def save_steps(checkpoints: Checkpoints, steps, metrics=None):
    for index, step in enumerate(steps):
        metric = None if metrics is None else {"acc": metrics[index]}
        state = make_state(step, step)
        checkpoints.save(state, {"batch": step}, {"task": "test"}, metrics=metric)


def test_restore_round_trip(tmp_path):
    state = make_state(0, step=7)
    checkpoints = Checkpoints(tmp_path)
    path = checkpoints.save(
        state, {"epoch": 1, "batch": 3}, {"task": "t", "args": {"x": 1}}, vocab=["a"]
    )
    restored = checkpoints.restore(7, make_state(5))
    checkpoints.close()

    assert path == tmp_path / "7"
    assert restored.step == 7
    assert restored.meta == {"epoch": 1, "batch": 3}
    assert restored.config == {"task": "t", "args": {"x": 1}}
    assert restored.vocab == ["a"]
    assert type(restored.state.opt_state[1][0]) is optax.ScaleByAdamState
    assert jax.dtypes.issubdtype(restored.state.key.dtype, jax.dtypes.prng_key)
    assert jax.random.key_impl(restored.state.key) == jax.random.key_impl(state.key)
    assert_trees_equal(
        jax.random.key_data(restored.state.key), jax.random.key_data(state.key)
    )
    assert_trees_equal(restored.state._replace(key=None), state._replace(key=None))


def test_restore_without_vocab(tmp_path):
    checkpoints = Checkpoints(tmp_path)
    checkpoints.save(make_state(0, 2), {}, {})
    assert checkpoints.restore(2, make_state(0)).vocab is None
    checkpoints.close()


def test_keeps_latest_and_best(tmp_path):
    checkpoints = Checkpoints(tmp_path, keep=2, best_metric="acc")
    save_steps(checkpoints, [1, 2, 3, 4, 5], metrics=[0.1, 0.9, 0.3, 0.2, 0.4])
    assert checkpoints.steps() == [2, 4, 5]
    assert checkpoints.best_step() == 2
    checkpoints.close()


def test_best_mode_min(tmp_path):
    checkpoints = Checkpoints(tmp_path, keep=1, best_metric="acc", best_mode="min")
    save_steps(checkpoints, [1, 2, 3], metrics=[0.5, 0.1, 0.3])
    assert checkpoints.steps() == [2, 3]
    assert checkpoints.best_step() == 2
    checkpoints.close()


def test_save_renames_temporary_folder(tmp_path, monkeypatch):
    renames = []
    rename = async_path.rename

    async def recording_rename(source, target):
        renames.append((source.name, target.name))
        await rename(source, target)

    monkeypatch.setattr(async_path, "rename", recording_rename)
    checkpoints = Checkpoints(tmp_path)
    checkpoints.save(make_state(0, 3), {}, {})
    checkpoints.close()
    assert ("3" + TMP_SUFFIX, "3") in renames


def test_failed_write_keeps_previous(tmp_path, monkeypatch):
    checkpoints = Checkpoints(tmp_path)
    save_steps(checkpoints, [1])

    async def failing_rename(source, target):
        raise OSError("No space left on device")

    monkeypatch.setattr(async_path, "rename", failing_rename)
    with pytest.raises(CheckpointError, match=f"{tmp_path / '2'}.*No space left"):
        checkpoints.save(make_state(2, 2), {}, {})
    monkeypatch.undo()
    checkpoints.close()

    assert (tmp_path / ("2" + TMP_SUFFIX)).is_dir()
    assert not (tmp_path / "2").exists()
    reopened = Checkpoints(tmp_path)
    restored = reopened.restore_latest(make_state(9))
    reopened.close()
    assert restored.step == 1
    assert_trees_equal(restored.state.params, make_state(1).params)


def truncate_arrays(checkpoint_dir):
    files = [f for f in (checkpoint_dir / "state").rglob("*") if f.is_file()]
    data_files = [f for f in files if f.parent.name == "d"]
    assert data_files
    for file in data_files:
        with open(file, "r+b") as handle:
            handle.truncate(file.stat().st_size // 2)


def test_truncated_checkpoint_falls_back(tmp_path, caplog):
    checkpoints = Checkpoints(tmp_path)
    save_steps(checkpoints, [1, 2])
    truncate_arrays(tmp_path / "2")

    with pytest.raises(
        CheckpointError, match=f"checkpoint {tmp_path / '2'} is unreadable"
    ):
        checkpoints.restore(2, make_state(0))
    with caplog.at_level(logging.WARNING, logger="jaxrnn.training.checkpoint"):
        restored = checkpoints.restore_latest(make_state(0))
    checkpoints.close()

    assert restored.step == 1
    assert_trees_equal(restored.state.params, make_state(1).params)
    assert f"checkpoint {tmp_path / '2'} is unreadable" in caplog.text
    assert "falling back" in caplog.text


def test_corrupt_metadata_is_named(tmp_path):
    checkpoints = Checkpoints(tmp_path)
    save_steps(checkpoints, [4])
    (tmp_path / "4" / "meta" / "metadata").write_text('{"batch": ')
    with pytest.raises(CheckpointError, match=f"checkpoint {tmp_path / '4'}"):
        checkpoints.restore_latest(make_state(0))
    checkpoints.close()


def test_restore_never_unpickles(tmp_path, monkeypatch):
    checkpoints = Checkpoints(tmp_path)
    save_steps(checkpoints, [1])

    def no_pickle(*args, **kwargs):
        raise AssertionError("restore unpickled data")

    monkeypatch.setattr(pickle, "load", no_pickle)
    monkeypatch.setattr(pickle, "loads", no_pickle)
    monkeypatch.setattr(pickle, "Unpickler", no_pickle)
    restored = checkpoints.restore(1, make_state(0))
    checkpoints.close()
    assert_trees_equal(restored.state.params, make_state(1).params)


def test_new_run_rejects_used_folder(tmp_path):
    checkpoints = Checkpoints(tmp_path / "checkpoints")
    save_steps(checkpoints, [1])
    checkpoints.close()
    loop = TrainLoop(tmp_path, LoopOptions(), config={"task": "addition"})
    with loop, pytest.raises(ValueError, match=f"--resume {tmp_path}"):
        loop.start(make_state(0))


def train_addition(out):
    argv = [
        "train",
        "addition",
        "--seed",
        "3",
        "--steps",
        "300",
        "--chunk-steps",
        "100",
    ]
    argv += ["--checkpoint-every", "100", "--keep", "1", "--eval-pairs", "100"]
    return main(argv + ["--out", str(out)])


@pytest.fixture(scope="module")
def addition_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("addition") / "run"
    assert train_addition(out) == 0
    return out


def test_run_folder_records_run(addition_run):
    config = read_run_config(addition_run)
    assert config["task"] == "addition"
    assert config["args"]["steps"] == 300
    assert config["args"]["checkpoint_every"] == 100
    assert config["args"]["out"] == str(addition_run)
    versions = json.loads((addition_run / "versions.json").read_text())
    assert {"python", "git_revision", *PACKAGES} <= set(versions)
    assert versions["jax"] == jax.__version__
    assert versions["orbax-checkpoint"] is not None


def test_evaluate_scores_best(addition_run, capsys):
    capsys.readouterr()
    assert main(["evaluate", str(addition_run)]) == 0
    evaluation = json.loads(capsys.readouterr().out)
    records = [json.loads(line) for line in (addition_run / "metrics.jsonl").open()]

    # --keep 1 leaves the latest checkpoint and the latest of those with the
    # best exact-sum accuracy, which evaluate scores.
    best = max(records, key=lambda r: (r["exact_sum_accuracy"], r["step"]))
    steps = sorted(int(p.name) for p in (addition_run / "checkpoints").iterdir())
    assert steps == sorted({best["step"], 300})
    assert evaluation["step"] == best["step"]
    assert evaluation["checkpoint"] == str(
        addition_run / "checkpoints" / str(best["step"])
    )
    assert evaluation["exact_sum_accuracy"] == best["exact_sum_accuracy"]
    assert evaluation["bit_accuracy"] == best["bit_accuracy"]
    assert 0.0 <= evaluation["exact_sum_accuracy_32bit"] <= 1.0


def test_config_repeats_run(addition_run, tmp_path):
    second = tmp_path / "second"
    argv = [
        "train",
        "--config",
        str(addition_run / "config.json"),
        "--out",
        str(second),
    ]
    assert main(argv) == 0

    first_args = read_run_config(addition_run)["args"]
    assert read_run_config(second)["args"] == {**first_args, "out": str(second)}
    options = resolve_options(argparse.Namespace(**first_args))
    _, template = make_template("default", options, first_args["seed"])
    expected = restore_checkpoint(addition_run, template, which="latest")
    actual = restore_checkpoint(second, template, which="latest")
    assert actual.step == expected.step == 300
    assert_trees_equal(actual.state.params, expected.state.params)
    metrics = (addition_run / "metrics.jsonl").read_text()
    assert (second / "metrics.jsonl").read_text() == metrics


def test_config_and_resume_exclusive(addition_run):
    config = str(addition_run / "config.json")
    argv = ["train", "addition", "--config", config, "--resume", str(addition_run)]
    with pytest.raises(ValueError, match="--config FILE or --resume DIR, not both"):
        main(argv)


def test_resume_needs_run_folder(tmp_path):
    with pytest.raises(
        FileNotFoundError, match=f"{tmp_path / 'config.json'} not found"
    ):
        main(["train", "--resume", str(tmp_path)])


def test_resume_without_checkpoint_warns(tmp_path, caplog):
    loop = TrainLoop(tmp_path, LoopOptions(), resume=True)
    with caplog.at_level(logging.WARNING, logger="jaxrnn.training.loop"), loop:
        state, progress = loop.start(make_state(0))
    assert f"no checkpoint in {tmp_path}: starting from step 0" in caplog.text
    assert progress.batch == 0
    assert int(state.step) == 0


def test_resume_changed_shape_keeps_config(tmp_path):
    stored = {"task": "test", "args": {"hidden_size": 4, "epochs": 2}}
    with TrainLoop(tmp_path, LoopOptions(), config=stored) as loop:
        state, progress = loop.start(make_state(0))
        loop.save(state, progress, None)
    config_text = (tmp_path / "config.json").read_text()
    changed = {"task": "test", "args": {"hidden_size": 5, "epochs": 2}}
    params = {"w": jnp.zeros((3, 5)), "b": jnp.zeros(5)}
    template = init_state(params, OPTIMIZER, jax.random.key(0))
    loop = TrainLoop(tmp_path, LoopOptions(), config=changed, resume=True)
    with pytest.raises(CheckpointError, match="--hidden-size 4 -> 5") as raised, loop:
        loop.start(template)
    assert "--epochs" not in str(raised.value)
    assert (tmp_path / "config.json").read_text() == config_text
