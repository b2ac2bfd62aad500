"""Killed, interrupted and resumed runs end bit for bit where an unbroken run ends.

The addition runs go through `python -m jaxrnn train addition`. The
sentiment-style runs use `tests/bucketed_toy_task.py`, a synthetic
length-bucketed classification task trained by `train_epochs`, the epoch
loop meant for the IMDB task.
"""

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import bucketed_toy_task as toy
import jax
import numpy as np
import pytest

from jaxrnn.cli import main
from jaxrnn.tasks.addition import make_template, resolve_options
from jaxrnn.training import (
    Interrupted,
    read_run_config,
    restore_checkpoint,
)

ROOT = Path(__file__).resolve().parents[1]
TOY_SCRIPT = Path(toy.__file__).resolve()
ADDITION_ARGS = [
    "--steps", "3000", "--chunk-steps", "50", "--checkpoint-every", "250",
    "--eval-pairs", "100", "--seed", "4",
]  # fmt: skip
TIMEOUT = 120


def start(argv: list[str], cache_dir: Path) -> subprocess.Popen:
    """Start `python ARGV`; runs sharing `cache_dir` reuse each other's compiles."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "JAX_PLATFORMS": "cpu",
        "JAX_COMPILATION_CACHE_DIR": str(cache_dir),
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
        "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0",
    }
    return subprocess.Popen(
        [sys.executable, *argv],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished_steps(run_dir: Path) -> list[int]:
    """List the finished checkpoints; temporary folders are not digits."""
    folder = run_dir / "checkpoints"
    if not folder.is_dir():
        return []
    return sorted(int(p.name) for p in folder.iterdir() if p.name.isdigit())


def wait_for_checkpoints(process, run_dir: Path, count: int, after: int = 0) -> None:
    """Wait until `count` checkpoints beyond step `after` exist."""
    deadline = time.monotonic() + TIMEOUT
    while len([s for s in finished_steps(run_dir) if s > after]) < count:
        if process.poll() is not None:
            _, err = process.communicate()
            pytest.fail(f"run ended with {process.returncode} first:\n{err[-3000:]}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"no {count} checkpoints in {run_dir} after {TIMEOUT} s")
        time.sleep(0.01)


def finish(process) -> tuple[int, str]:
    _, err = process.communicate(timeout=TIMEOUT)
    return process.returncode, err


def latest_state(run_dir: Path, template):
    return restore_checkpoint(run_dir, template, which="latest")


def assert_states_equal(actual, expected):
    assert actual.step == expected.step
    actual_state = actual.state._replace(key=jax.random.key_data(actual.state.key))
    expected_state = expected.state._replace(
        key=jax.random.key_data(expected.state.key)
    )
    leaves = zip(
        jax.tree.leaves(actual_state), jax.tree.leaves(expected_state), strict=True
    )
    for actual_leaf, expected_leaf in leaves:
        assert np.array_equal(np.asarray(actual_leaf), np.asarray(expected_leaf))


@pytest.fixture(scope="module")
def addition_reference(tmp_path_factory):
    """An uninterrupted addition run, and a template of its state."""
    out = tmp_path_factory.mktemp("addition") / "unbroken"
    assert main(["train", "addition", *ADDITION_ARGS, "--out", str(out)]) == 0
    args = argparse.Namespace(**read_run_config(out)["args"])
    _, template = make_template("default", resolve_options(args), args.seed)
    return out, template


def test_addition_killed_interrupted_resumed(tmp_path, addition_reference):
    reference, template = addition_reference
    out = tmp_path / "broken"
    train = ["-m", "jaxrnn", "train", "addition", *ADDITION_ARGS, "--out", str(out)]
    resume = ["-m", "jaxrnn", "train", "--resume", str(out)]

    cache = tmp_path / "jax-cache"
    killed = start(train, cache)
    wait_for_checkpoints(killed, out, 2)
    killed.send_signal(signal.SIGKILL)
    assert finish(killed)[0] == -signal.SIGKILL
    killed_at = finished_steps(out)[-1]

    interrupted = start(resume, cache)
    wait_for_checkpoints(interrupted, out, 1, after=killed_at)
    interrupted.send_signal(signal.SIGINT)
    code, err = finish(interrupted)
    assert code == 130, err[-3000:]
    assert f"Resume with: jaxrnn train addition --resume {out}" in err
    interrupted_at = finished_steps(out)[-1]
    assert killed_at < interrupted_at < 3000

    code, err = finish(start(resume, cache))
    assert code == 0, err[-3000:]
    assert f"resuming from {out / 'checkpoints' / str(interrupted_at)}" in err
    assert_states_equal(latest_state(out, template), latest_state(reference, template))
    assert (out / "metrics.jsonl").read_text() == (
        reference / "metrics.jsonl"
    ).read_text()
    summary = json.loads((out / "summary.json").read_text())
    expected = json.loads((reference / "summary.json").read_text())
    assert summary["exact_sum_accuracy"] == expected["exact_sum_accuracy"]
    assert summary["steps"] == 3000


@pytest.fixture(scope="module")
def toy_reference(tmp_path_factory):
    """An uninterrupted run of the bucketed toy task, 4 epochs."""
    out = tmp_path_factory.mktemp("toy") / "unbroken"
    state, progress = toy.train(out, epochs=4)
    return out, state, progress


def toy_template():
    return toy.train(None, epochs=0)[0]


def test_bucketed_toy_killed_resumed(tmp_path, toy_reference):
    reference, _, reference_progress = toy_reference
    out = tmp_path / "broken"

    cache = tmp_path / "jax-cache"
    killed = start([str(TOY_SCRIPT), str(out), "--epochs", "4"], cache)
    wait_for_checkpoints(killed, out, 2)
    killed.send_signal(signal.SIGKILL)
    assert finish(killed)[0] == -signal.SIGKILL
    assert finished_steps(out)[-1] < 52

    resume = [str(TOY_SCRIPT), str(out), "--epochs", "4", "--resume"]
    code, err = finish(start(resume, cache))
    assert code == 0, err[-3000:]
    template = toy_template()
    actual, expected = latest_state(out, template), latest_state(reference, template)
    assert_states_equal(actual, expected)
    assert actual.step == 52
    assert actual.vocab == list(toy.VOCAB)
    without_times = [
        {k: v for k, v in r.items() if k != "train_seconds"}
        for r in reference_progress.records
    ]
    records = [
        {k: v for k, v in r.items() if k != "train_seconds"}
        for r in actual.meta["records"]
    ]
    assert records == without_times


def test_bucketed_toy_sigterm_resumed(tmp_path, toy_reference):
    _, reference_state, _ = toy_reference
    out = tmp_path / "run"

    def send_sigterm(epoch, index):
        if (epoch, index) == (2, 3):
            os.kill(os.getpid(), signal.SIGTERM)

    with pytest.raises(Interrupted) as stop:
        toy.train(out, epochs=4, batches_hook=send_sigterm)
    # Epoch 1 has 13 batches. The loop reads one batch ahead, so the signal
    # arrives during step 13 + 3 of epoch 2's batch 2, whose boundary saves.
    assert stop.value.exit_code == 143
    assert f"--resume {out}" in str(stop.value)
    assert finished_steps(out)[-1] == 16
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL

    state, _ = toy.train(out, epochs=4, resume=True)
    for actual, expected in zip(
        jax.tree.leaves(state.params),
        jax.tree.leaves(reference_state.params),
        strict=True,
    ):
        assert np.array_equal(np.asarray(actual), np.asarray(expected))


def test_resume_skips_corrupt_latest(tmp_path, toy_reference, caplog):
    _, reference_state, _ = toy_reference
    out = tmp_path / "run"
    toy.train(out, epochs=2)
    latest = finished_steps(out)[-1]
    (out / "checkpoints" / str(latest) / "meta" / "metadata").write_text("{")

    with caplog.at_level(logging.WARNING):
        state, _ = toy.train(out, epochs=4, resume=True)
    assert (
        f"checkpoint {out / 'checkpoints' / str(latest)} is unreadable" in caplog.text
    )
    for actual, expected in zip(
        jax.tree.leaves(state.params),
        jax.tree.leaves(reference_state.params),
        strict=True,
    ):
        assert np.array_equal(np.asarray(actual), np.asarray(expected))
