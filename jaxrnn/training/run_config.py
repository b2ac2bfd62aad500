"""The files a run folder records so the run can be repeated or resumed.

`config.json` contains the task and every command-line argument,
`versions.json` the versions of Python and the numerical packages and the
git revision of the jaxrnn checkout that ran. `jaxrnn train --config FILE`
repeats a run from its config.json, and `--resume DIR` continues one.
"""

import argparse
import importlib.metadata
import json
import logging
import platform
import subprocess
from pathlib import Path

from jaxrnn.training.outputs import write_json

logger = logging.getLogger(__name__)

CONFIG_FILE = "config.json"
VERSIONS_FILE = "versions.json"
PACKAGES = ("jax", "jaxlib", "optax", "flax", "numpy", "orbax-checkpoint")
# Namespace entries that describe how the command was invoked, not the run.
NOT_RUN_ARGS = ("command", "task", "module", "config", "resume", "verbose")


def to_json_value(value):
    """Return `value` as JSON can store it: paths become strings."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [to_json_value(item) for item in value]
    return value


def run_config(args: argparse.Namespace) -> dict:
    """Describe a run: `{"command": "train" or "pretrain", "task": name, "args":
    {every argument: value}}`."""
    values = {
        name: to_json_value(value)
        for name, value in sorted(vars(args).items())
        if name not in NOT_RUN_ARGS
    }
    return {
        "command": getattr(args, "command", None),
        "task": getattr(args, "task", None),
        "args": values,
    }


def git_revision() -> str | None:
    """Return `git rev-parse HEAD` of the checkout holding jaxrnn, else None."""
    package_dir = Path(__file__).resolve().parents[1]
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=package_dir,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    return result.stdout.strip() or None


def package_versions() -> dict:
    """Return the versions of Python, the packages in PACKAGES and git HEAD."""
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    versions["git_revision"] = git_revision()
    return versions


def write_run_files(run_dir: Path, config: dict) -> None:
    """Write config.json and versions.json into `run_dir`, atomically."""
    run_dir = Path(run_dir)
    write_json(run_dir / CONFIG_FILE, config)
    write_json(run_dir / VERSIONS_FILE, package_versions())


def changed_args(run_dir: Path, config: dict) -> list[str]:
    """Return "--name stored -> new" for each argument of `config` that
    differs from run_dir's config.json; empty when that file is unreadable."""
    try:
        stored = read_run_config(run_dir)["args"]
    except (FileNotFoundError, ValueError):
        return []
    new = config.get("args", {})
    return [
        f"--{name.replace('_', '-')} {stored.get(name)!r} -> {new.get(name)!r}"
        for name in sorted(set(stored) | set(new))
        if stored.get(name) != new.get(name)
    ]


def read_run_config(path: Path) -> dict:
    """Read a config.json written by `write_run_files`.

    Args:
      path: the file, or a run folder that contains config.json.

    Raises:
      FileNotFoundError: the file does not exist.
      ValueError: the file is not valid JSON or lacks "task" or "args".
    """
    path = Path(path)
    if path.is_dir():
        path = path / CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"run configuration {path} not found; pass a run folder or the "
            f"{CONFIG_FILE} that `jaxrnn train` wrote into it"
        )
    try:
        config = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(
            f"run configuration {path} is not valid JSON: {error}"
        ) from None
    if (
        not isinstance(config, dict)
        or not isinstance(config.get("task"), str)
        or not isinstance(config.get("args"), dict)
    ):
        raise ValueError(
            f"run configuration {path} must be a JSON object with a string "
            f'"task" and an object "args"'
        )
    return config
