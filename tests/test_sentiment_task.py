"""The sentiment task end to end: --resume keeps the best dev epoch."""

import json

from jaxrnn import cli


def write_reviews(root):
    """Write a train/test folder of short positive and negative reviews."""
    words = {"pos": ["good", "great", "fine"], "neg": ["bad", "dull", "awful"]}
    for split, count in (("train", 12), ("test", 4)):
        for label, choices in words.items():
            folder = root / split / label
            folder.mkdir(parents=True)
            for i in range(count):
                text = f"the film was {choices[i % 3]} and {choices[(i + 1) % 3]}"
                (folder / f"{i}.txt").write_text(text, encoding="utf-8")
    return root


def test_resume_keeps_best_epoch(tmp_path):
    data = write_reviews(tmp_path / "reviews")
    out = tmp_path / "run"
    argv = ["train", "text", "--data", str(data), "--out", str(out), "--epochs", "2"]
    argv += ["--embed-size", "8", "--hidden-size", "8", "--batch-size", "8"]
    assert cli.main(argv) == 0
    first = json.loads((out / "summary.json").read_text())
    assert first["test_examples"] == 8
    assert first["dev_examples"] == 2

    # Nothing is left to train, so the best epoch comes from its checkpoint.
    assert cli.main(["train", "--resume", str(out)]) == 0
    resumed = json.loads((out / "summary.json").read_text())
    assert resumed["best_epoch"] == first["best_epoch"]
    assert resumed["dev_accuracy"] == first["dev_accuracy"]
    assert resumed["test_accuracy"] == first["test_accuracy"]
    assert resumed["test_loss"] == first["test_loss"]
