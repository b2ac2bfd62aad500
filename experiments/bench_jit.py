"""Benchmark jaxrnn against PyTorch and Flax linen; same as `jaxrnn bench`.

Run `python experiments/bench_jit.py --help` for the options, for example
`python experiments/bench_jit.py --quick --no-doc` for a smoke run.
"""

import argparse
import logging
import sys

from jaxrnn.bench import harness


def main(argv: list[str] | None = None) -> int:
    """Parse the options and run the benchmark; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    harness.add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    harness.run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
