"""The `jaxrnn` command: train, evaluate and benchmark.

Each task lives in its own module under `jaxrnn.tasks` and provides
`add_arguments(parser)` and `run(args) -> dict`, the summary it wrote.
"""

import argparse
import importlib
import logging
import sys
from datetime import datetime
from pathlib import Path

TASKS = {
    "addition": "jaxrnn.tasks.addition",
    "imdb": "jaxrnn.tasks.imdb",
}


def default_out(task: str) -> Path:
    """Return `runs/<task>-<timestamp>`, the default output folder."""
    return Path("runs") / f"{task}-{datetime.now():%Y%m%d-%H%M%S}"


def build_parser() -> argparse.ArgumentParser:
    """Build the parser with one `train` subcommand per task."""
    parser = argparse.ArgumentParser(prog="jaxrnn", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train a model on a task")
    tasks = train.add_subparsers(dest="task", required=True)
    for task, module_name in TASKS.items():
        module = importlib.import_module(module_name)
        sub = tasks.add_parser(task, help=module.__doc__.splitlines()[0])
        sub.add_argument("--seed", type=int, default=0, help="seed of every random source")
        sub.add_argument("--out", type=Path, default=None, help="output folder (default runs/<task>-<time>)")
        module.add_arguments(sub)
        sub.set_defaults(module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command == "train":
        if args.out is None:
            args.out = default_out(args.task)
        args.module.run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
