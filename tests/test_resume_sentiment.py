"""A `jaxrnn train text` run killed mid-epoch resumes to the unbroken run's state.

This is the real sentiment task end to end (data file, vocabulary, length
buckets, dev selection), in a subprocess killed with SIGKILL.
"""

import argparse
import json
import signal

import jax
import numpy as np
import pytest
from test_resume import (
    assert_states_equal,
    finish,
    finished_steps,
    latest_state,
    start,
    wait_for_checkpoints,
)

from jaxrnn.cli import main
from jaxrnn.tasks import sentiment
from jaxrnn.training import init_state, read_run_config

WORDS = ["good", "great", "fine", "bad", "awful", "dull", "the", "movie", "was"]


def write_corpus(path, count=240, seed=0):
    """Write `label text` lines whose label follows the sentiment words."""
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(count):
        words = list(rng.choice(WORDS, size=rng.integers(3, 20)))
        label = int(sum(w in ("good", "great", "fine") for w in words) >= 1)
        lines.append(f"{label} {' '.join(words)}")
    path.write_text("\n".join(lines) + "\n")


def train_args(data, out):
    return [
        "train", "text", "--data", str(data), "--out", str(out), "--seed", "3",
        "--epochs", "4", "--batch-size", "16", "--embed-size", "8",
        "--hidden-size", "8", "--checkpoint-every", "3", "--keep", "50",
    ]  # fmt: skip


def template_of(run_dir, vocab_size):
    """Rebuild the state at step 0 of a run, the shape its checkpoints restore into."""
    args = argparse.Namespace(**read_run_config(run_dir)["args"])
    model = sentiment.build_model(args, vocab_size)
    optimizer = sentiment.make_optimizer(args.learning_rate, args.weight_decay)
    init_key, train_key = jax.random.split(jax.random.key(args.seed))
    return init_state(model.init(init_key), optimizer, train_key)


@pytest.fixture(scope="module")
def text_reference(tmp_path_factory):
    folder = tmp_path_factory.mktemp("text")
    data = folder / "corpus.txt"
    write_corpus(data)
    out = folder / "unbroken"
    assert main(train_args(data, out)) == 0
    return data, out


def test_text_task_killed_resumed(tmp_path, text_reference):
    data, reference = text_reference
    out = tmp_path / "broken"
    cache = tmp_path / "jax-cache"

    killed = start(["-m", "jaxrnn", *train_args(data, out)], cache)
    wait_for_checkpoints(killed, out, 2)
    killed.send_signal(signal.SIGKILL)
    assert finish(killed)[0] == -signal.SIGKILL
    killed_at = finished_steps(out)[-1]
    assert killed_at < finished_steps(reference)[-1]

    code, err = finish(start(["-m", "jaxrnn", "train", "--resume", str(out)], cache))
    assert code == 0, err[-3000:]

    expected_summary = json.loads((reference / "summary.json").read_text())
    vocab_size = expected_summary["vocab_size"]
    template = template_of(reference, vocab_size)
    assert_states_equal(latest_state(out, template), latest_state(reference, template))
    summary = json.loads((out / "summary.json").read_text())
    for key in ("best_epoch", "dev_accuracy", "dev_loss", "test_accuracy"):
        assert summary[key] == expected_summary[key], key


def test_evaluate_scores_best_checkpoint(text_reference, capsys):
    _, reference = text_reference
    summary = json.loads((reference / "summary.json").read_text())
    capsys.readouterr()

    assert main(["evaluate", str(reference)]) == 0

    result = json.loads(capsys.readouterr().out)
    assert result["split"] == "dev"
    assert result["accuracy"] == pytest.approx(summary["dev_accuracy"], abs=1e-6)
    assert result["loss"] == pytest.approx(summary["dev_loss"], rel=1e-5)
    assert result["examples"] == summary["dev_examples"]
