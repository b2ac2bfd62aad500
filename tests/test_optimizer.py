"""The sentiment tasks' optimizer: AdamW with a constant or cosine rate."""

import json

import jax.numpy as jnp
import numpy as np
import pytest

from jaxrnn import cli
from jaxrnn.tasks import sentiment, text
from jaxrnn.training import read_run_config


def test_cosine_schedule_decays_to_zero():
    params = {"w": jnp.ones(3)}
    grads = {"w": jnp.ones(3)}
    optimizer = sentiment.make_optimizer(0.1, 0.0, schedule="cosine", total_steps=4)
    state = optimizer.init(params)
    sizes = []
    for _ in range(5):
        updates, state = optimizer.update(grads, state, params)
        sizes.append(float(jnp.abs(updates["w"]).max()))
    # Adam's first step has size 1 times the rate: 0.1 at step 0, then
    # 0.1 * (1 + cos(pi * k / 4)) / 2 shrinking to 0 at step 4.
    np.testing.assert_allclose(sizes[0], 0.1, rtol=1e-4)
    assert sizes[0] > sizes[1] > sizes[2] > sizes[3] > 0
    assert sizes[4] == 0.0
    constant = sentiment.make_optimizer(0.1, 0.0)
    updates, _ = constant.update(grads, constant.init(params), params)
    np.testing.assert_allclose(float(jnp.abs(updates["w"]).max()), 0.1, rtol=1e-4)


def test_unknown_schedule_rejected():
    with pytest.raises(ValueError, match="schedule must be one of .* got 'linear'"):
        sentiment.make_optimizer(0.1, 0.0, schedule="linear")


def labeled_file(path):
    """Write 20 `label text` lines of two easy classes."""
    path.write_text(
        "".join(f"{i % 2} a {'good' if i % 2 else 'dull'} film\n" for i in range(20)),
        encoding="utf-8",
    )
    return path


def test_resume_keeps_cosine_schedule(tmp_path, capsys):
    run = tmp_path / "run"
    argv = ["train", "text", "--data", str(labeled_file(tmp_path / "data.txt"))]
    argv += ["--out", str(run), "--epochs", "1", "--batch-size", "8"]
    argv += ["--embed-size", "4", "--hidden-size", "4", "--schedule", "cosine"]
    assert cli.main(argv) == 0
    with pytest.raises(
        ValueError, match="--schedule constant differs from the schedule cosine"
    ):
        cli.main(["train", "--resume", str(run), "--schedule", "constant"])
    # The rejected resume left the run's configuration as it was.
    assert read_run_config(run)["args"]["schedule"] == "cosine"
    assert read_run_config(run)["args"]["epochs"] == 1

    capsys.readouterr()
    assert cli.main(["train", "--resume", str(run), "--epochs", "2"]) == 0
    assert "the cosine decay now spans 2 epochs" in capsys.readouterr().err
    summary = json.loads((run / "summary.json").read_text())
    assert summary["epochs"] == 2


def test_run_without_schedule_key_is_constant(tmp_path, monkeypatch, capsys):
    run = tmp_path / "run"
    argv = ["train", "text", "--data", str(labeled_file(tmp_path / "data.txt"))]
    argv += ["--out", str(run), "--epochs", "1", "--batch-size", "8"]
    argv += ["--embed-size", "4", "--hidden-size", "4", "--schedule", "constant"]
    assert cli.main(argv) == 0
    # A run from before --schedule, read while the recipe default is cosine.
    config = json.loads((run / "config.json").read_text())
    del config["args"]["schedule"]
    (run / "config.json").write_text(json.dumps(config))
    monkeypatch.setitem(text.RECIPE, "schedule", "cosine")

    assert cli.main(["evaluate", str(run)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["step"] == 3
    assert result["split"] == "dev"

    assert cli.main(["train", "--resume", str(run), "--epochs", "2"]) == 0
    assert read_run_config(run)["args"]["schedule"] == "constant"
    assert json.loads((run / "summary.json").read_text())["epochs"] == 2


@pytest.mark.parametrize("schedule", ["cosine", "constant"])
def test_metrics_log_learning_rate(tmp_path, schedule):
    run = tmp_path / "run"
    argv = ["train", "text", "--data", str(labeled_file(tmp_path / "data.txt"))]
    argv += ["--out", str(run), "--epochs", "2", "--batch-size", "8"]
    argv += ["--embed-size", "4", "--hidden-size", "4", "--schedule", schedule]
    argv += ["--learning-rate", "0.01"]
    assert cli.main(argv) == 0
    lines = (run / "metrics.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    total_steps = records[-1]["step"]
    rate = sentiment.rate_schedule(0.01, schedule=schedule, total_steps=total_steps)
    for record in records:
        expected = float(rate(record["step"] - 1))
        np.testing.assert_allclose(record["learning_rate"], expected, rtol=1e-6)
    if schedule == "cosine":
        assert records[0]["learning_rate"] > records[1]["learning_rate"] > 0
    else:
        assert records[0]["learning_rate"] == records[1]["learning_rate"] == 0.01
