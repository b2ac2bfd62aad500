"""The `jaxrnn` command: bad input ends in one error line, before any compiling."""

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jaxrnn import cli
from jaxrnn.training import run_config
from jaxrnn.training.run_config import write_run_files

ROOT = Path(__file__).parents[1]


@pytest.fixture(autouse=True)
def collect_earlier_garbage(capsys):
    """Free earlier tests' objects before each test and drop what that prints.

    A failed Orbax restore leaves asyncio tasks whose exceptions asyncio logs,
    traceback included, when the tasks are freed. Freed during a test here,
    they would put "Traceback" into the stderr that the test checks.
    """
    gc.collect()
    capsys.readouterr()


def run_command(monkeypatch, *argv: str) -> int:
    """Run `jaxrnn ARGV` as the shell does, through the console entry point."""
    monkeypatch.setattr(sys, "argv", ["jaxrnn", *argv])
    return cli.entry_point()


def error_lines(text: str) -> list[str]:
    """Return the lines of `text` logged at ERROR, skipping progress output."""
    return [line for line in text.splitlines() if " ERROR " in line]


def test_out_is_a_file(tmp_path, monkeypatch, capsys):
    out = tmp_path / "results.txt"
    out.write_text("keep me")
    status = run_command(monkeypatch, "train", "addition", "--out", str(out))
    err = capsys.readouterr().err
    assert status == 1
    assert "Traceback" not in err
    assert len(error_lines(err)) == 1
    assert f"--out {out} is a file, expected a folder" in error_lines(err)[0]
    assert out.read_text() == "keep me"


def test_ctrl_c_outside_training(tmp_path, monkeypatch, capsys):
    def interrupt(args):
        raise KeyboardInterrupt

    monkeypatch.setattr("jaxrnn.tasks.addition.run", interrupt)
    status = run_command(monkeypatch, "train", "addition", "--out", str(tmp_path))
    err = capsys.readouterr().err
    assert status == 130
    assert "Traceback" not in err
    assert " WARNING jaxrnn.cli: interrupted" in err


def test_out_cannot_be_created(tmp_path, monkeypatch, capsys):
    parent = tmp_path / "file"
    parent.write_text("")
    out = parent / "run"
    status = run_command(monkeypatch, "train", "addition", "--out", str(out))
    err = capsys.readouterr().err
    assert status == 1
    assert "Traceback" not in err
    assert f"cannot create --out {out}: Not a directory" in err


def test_missing_run_folder(tmp_path, monkeypatch, capsys):
    missing = tmp_path / "missing"
    status = run_command(monkeypatch, "evaluate", str(missing))
    err = capsys.readouterr().err
    assert status == 1
    assert "Traceback" not in err
    assert f"run configuration {missing} not found" in err


def test_resume_missing_run_before_parsing(tmp_path):
    # The task is read from the run's config.json before logging is set up,
    # so this runs `python -m jaxrnn` in a fresh process, as from a shell.
    missing = tmp_path / "missing"
    result = subprocess.run(
        [sys.executable, "-m", "jaxrnn", "train", "--resume", str(missing)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].endswith(
        f"run configuration {missing} not found; pass a run folder or the "
        f"config.json that `jaxrnn train` wrote into it"
    )


def test_resume_config_file_uses_run_folder(tmp_path):
    run_dir = tmp_path / "run"
    first = cli.build_parser().parse_args(
        ["train", "addition", "--steps", "7", "--out", str(run_dir)]
    )
    write_run_files(run_dir, run_config(first))
    argv = ["train", "addition", "--resume", str(run_dir / "config.json")]
    args = cli.apply_run_config(cli.build_parser().parse_args(argv), argv)
    assert args.out == run_dir
    assert args.steps == 7


def test_resume_other_task_raises(tmp_path, monkeypatch, capsys):
    run_dir = tmp_path / "run"
    first = cli.build_parser().parse_args(["train", "addition", "--out", str(run_dir)])
    write_run_files(run_dir, run_config(first))
    status = run_command(monkeypatch, "train", "imdb", "--resume", str(run_dir))
    err = capsys.readouterr().err
    assert status == 1
    assert f"{run_dir} is a run of task addition, not imdb" in err
