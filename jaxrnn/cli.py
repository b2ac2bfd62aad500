"""The `jaxrnn` command: train, evaluate and benchmark.

Each task lives in its own module under `jaxrnn.tasks` and provides
`add_arguments(parser)` and `run(args) -> dict`, the summary it wrote, and
for `jaxrnn evaluate` also `evaluate_run(args, run_dir) -> dict`.
`jaxrnn train --config FILE` repeats a run from its config.json and
`jaxrnn train --resume DIR` continues one; both take the task from the file.
"""

import argparse
import importlib
import json
import logging
import sys
from datetime import datetime
from pathlib import Path

from jaxrnn.training import (
    CheckpointError,
    Interrupted,
    TooManyBadSteps,
    read_run_config,
)

logger = logging.getLogger(__name__)

TASKS = {
    "addition": "jaxrnn.tasks.addition",
    "imdb": "jaxrnn.tasks.imdb",
    "sst2": "jaxrnn.tasks.sst2",
    "text": "jaxrnn.tasks.text",
}
PRETRAIN = {
    "lm": "jaxrnn.tasks.pretrain_lm",
    "embeddings": "jaxrnn.tasks.pretrain_embeddings",
}
# The commands whose runs take --config and --resume, with their tasks.
COMMAND_TASKS = {"train": TASKS, "pretrain": PRETRAIN}


def default_out(task: str) -> Path:
    """Return `runs/<task>-<timestamp>`, the default output folder."""
    return Path("runs") / f"{task}-{datetime.now():%Y%m%d-%H%M%S}"


def add_run_arguments(parser: argparse.ArgumentParser, task: str) -> None:
    """Add --seed, --out, --config and --resume, which every task takes."""
    parser.add_argument("--seed", type=int, default=0, help="seed of every random source")
    parser.add_argument(
        "--out", type=Path, default=None, help=f"output folder (default runs/{task}-<time>)"
    )
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="repeat the run of this config.json; options given here override it",
    )
    parser.add_argument(
        "--resume",
        type=Path,
        metavar="DIR",
        help="continue the run in DIR from its latest readable checkpoint",
    )


def build_parser(task_defaults: dict | None = None) -> argparse.ArgumentParser:
    """Build the parser: `train` and `pretrain` with a subcommand per task, `evaluate` and `bench`.

    Args:
      task_defaults: per task name, argument values that replace the
        defaults, such as the "args" of a run's config.json.
    """
    parser = argparse.ArgumentParser(prog="jaxrnn", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train a model on a task")
    tasks = train.add_subparsers(dest="task", required=True)
    for task, module_name in TASKS.items():
        module = importlib.import_module(module_name)
        sub = tasks.add_parser(task, help=module.__doc__.splitlines()[0])
        add_run_arguments(sub, task)
        module.add_arguments(sub)
        sub.set_defaults(module=module, **(task_defaults or {}).get(task, {}))
    evaluate = commands.add_parser(
        "evaluate", help="evaluate the best checkpoint of a run"
    )
    evaluate.add_argument("run_dir", type=Path, metavar="DIR", help="the run folder")
    pretrain = commands.add_parser("pretrain", help="pretrain model parts on unlabeled text")
    kinds = pretrain.add_subparsers(dest="task", required=True)
    for kind, module_name in PRETRAIN.items():
        module = importlib.import_module(module_name)
        sub = kinds.add_parser(kind, help=module.__doc__.splitlines()[0])
        add_run_arguments(sub, kind)
        module.add_arguments(sub)
        sub.set_defaults(module=module, **(task_defaults or {}).get(kind, {}))
    bench = commands.add_parser("bench", help="time jaxrnn against PyTorch and Flax linen")
    importlib.import_module("jaxrnn.bench.harness").add_arguments(bench)
    return parser


def insert_task(argv: list[str]) -> list[str]:
    """Insert the task of `--config FILE` or `--resume DIR` after a bare `train` or `pretrain`."""
    command = next((word for word in argv if word in COMMAND_TASKS), None)
    if command is None:
        return argv
    start = argv.index(command) + 1
    rest = argv[start:]
    if not rest or rest[0] in COMMAND_TASKS[command] or rest[0] in ("-h", "--help"):
        return argv
    for index, token in enumerate(rest):
        for option in ("--config", "--resume"):
            if token == option and index + 1 < len(rest):
                source = rest[index + 1]
            elif token.startswith(option + "="):
                source = token.split("=", 1)[1]
            else:
                continue
            return argv[:start] + [read_run_config(Path(source))["task"]] + rest
    return argv


def apply_run_config(args: argparse.Namespace, argv: list[str]) -> argparse.Namespace:
    """Fill the arguments of `--config` or `--resume` in, then set `args.out`.

    Options given on the command line override the file's values. A resumed
    run writes into its own folder; a repeated one into a new folder.

    Raises:
      ValueError: both options are given, or the file is of another task.
    """
    if args.config is not None and args.resume is not None:
        raise ValueError("pass --config FILE or --resume DIR, not both")
    source = args.config if args.config is not None else args.resume
    if source is not None:
        config = read_run_config(source)
        if config["task"] != args.task:
            raise ValueError(
                f"{source} is a run of task {config['task']}, not {args.task}"
            )
        values = dict(config["args"])
        if args.config is not None:
            values.pop("out", None)
        args = build_parser({args.task: values}).parse_args(argv)
    if args.resume is not None:
        # --resume also takes the run's config.json, which sits in the run folder.
        args.out = args.resume if args.resume.is_dir() else args.resume.parent
    elif args.out is None:
        args.out = default_out(args.task)
    return args


def evaluate_run_dir(run_dir: Path) -> dict:
    """Evaluate a run's best checkpoint with its task's `evaluate_run`.

    Raises:
      ValueError: the run's task has no `evaluate_run`.
    """
    config = read_run_config(run_dir)
    task = config["task"]
    command = config.get("command") or "train"
    if task not in COMMAND_TASKS.get(command, {}):
        raise ValueError(f"{run_dir} is a run of unknown task {command} {task}")
    args = build_parser({task: config["args"]}).parse_args([command, task])
    if not hasattr(args.module, "evaluate_run"):
        raise ValueError(f"task {task} of {run_dir} has no checkpoint evaluation")
    return args.module.evaluate_run(args, Path(run_dir))


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status.

    A run stopped by SIGINT or SIGTERM returns 128 + the signal number
    (130, 143) after its checkpoint, and one stopped by too many bad steps
    or an unreadable checkpoint returns 1.
    """
    argv = insert_task(sys.argv[1:] if argv is None else list(argv))
    args = build_parser().parse_args(argv)
    # force: importing Orbax installs absl's handler on the root logger, which
    # would turn basicConfig into a no-op. Orbax logs every save at INFO.
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    absl_level = logging.DEBUG if args.verbose else logging.WARNING
    logging.getLogger("absl").setLevel(absl_level)
    try:
        if args.command in COMMAND_TASKS:
            args = apply_run_config(args, argv)
            args.module.run(args)
        elif args.command == "evaluate":
            print(json.dumps(evaluate_run_dir(args.run_dir), indent=2))
        elif args.command == "bench":
            importlib.import_module("jaxrnn.bench.harness").run(args)
    except Interrupted as error:
        logger.warning("%s", error)
        return error.exit_code
    except (TooManyBadSteps, CheckpointError) as error:
        logger.error("%s", error)
        return 1
    return 0


def entry_point() -> int:
    """Run `main` for the `jaxrnn` command and `python -m jaxrnn`.

    `main` raises ValueError and OSError to its callers. From a shell they
    mean a bad option, a missing file or a folder that cannot be written, so
    this logs them as one error line and returns 1. The traceback is logged
    at DEBUG level, which --verbose shows. Ctrl-C outside a training loop
    (while data loads or final results are written) returns 130 with one
    warning line. Files are written to a temporary name and renamed, so an
    interrupted write leaves the earlier file intact.
    """
    try:
        return main()
    except (ValueError, OSError) as error:
        logger.error("%s", error)
        logger.debug("traceback of the error above", exc_info=True)
        return 1
    except KeyboardInterrupt:
        logger.warning("interrupted")
        logger.debug("traceback of the interrupt", exc_info=True)
        return 130


if __name__ == "__main__":
    sys.exit(entry_point())
