"""The `jaxrnn bench` harness: jaxrnn against PyTorch and Flax linen on CPU.

Sections (each selectable with `--sections`):

- grid: every cell in `--cells` at every size in `--sizes`, training step
  and inference, all implementations interleaved in one process;
- varlen: a bidirectional GRU on rows of random length, PyTorch packed;
- compile: compile time of an IMDB-size bidirectional LSTM training step;
- memory: compiled temporary memory of a long-sequence LSTM training step,
  with and without `remat_chunk`;
- sweep: LSTM training step time against sequence length, plotted.

Results go to a JSON file and a PNG plot under `--out`, and a markdown
summary replaces the results block of `--doc`.
"""

import argparse
import dataclasses
import logging
import math
from datetime import datetime
from pathlib import Path

import jax
import jax.numpy as jnp
import optax
from tqdm import tqdm

from jaxrnn.bench import report
from jaxrnn.bench.peers import IMPLS, LSTM, Case, build_runner, jaxrnn_runner
from jaxrnn.bench.timing import time_round_robin

logger = logging.getLogger(__name__)

CELLS = ("rnn", "lstm", "gru")
SIZES = ("8x1x2x16", "8x256x2x16", "256x64x128x256", "1000x16x64x128")
QUICK_SIZES = ("8x1x2x16", "256x64x128x256")
SECTIONS = ("grid", "varlen", "compile", "memory", "sweep")
VARLEN_CASE = Case("gru", 256, 64, 128, 128, bidirectional=True, variable_lengths=True)
IMDB_CASE = Case("lstm", 400, 64, 128, 128, bidirectional=True)
MEMORY_SHAPE = {"batch": 16, "input_size": 64, "hidden_size": 128}
MEMORY_STEPS = (1_000, 10_000)
SWEEP_STEPS = (32, 128, 512, 2048)
QUICK_SWEEP_STEPS = (32, 128)
SWEEP_SHAPE = {"batch": 16, "input_size": 64, "hidden_size": 128}


def parse_size(text: str) -> tuple[int, int, int, int]:
    """Parse `TxBxIxH`, e.g. `256x64x128x256`, into four positive ints."""
    parts = text.lower().split("x")
    if len(parts) != 4 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise argparse.ArgumentTypeError(
            f"size must be TxBxIxH with four positive ints, got {text!r}"
        )
    return tuple(int(p) for p in parts)


def parse_choices(choices: tuple[str, ...]):
    """Build a parser of comma-separated names drawn from `choices`."""

    def parse(text: str) -> tuple[str, ...]:
        names = tuple(name.strip() for name in text.split(",") if name.strip())
        unknown = [name for name in names if name not in choices]
        if unknown or not names:
            raise argparse.ArgumentTypeError(
                f"expected a comma-separated subset of {','.join(choices)}, got {text!r}"
            )
        return names

    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the benchmark's options to `parser`."""
    parser.add_argument(
        "--cells",
        type=parse_choices(CELLS),
        default=CELLS,
        help="comma-separated cells of the grid (default rnn,lstm,gru)",
    )
    parser.add_argument(
        "--sizes",
        type=lambda s: tuple(parse_size(p) for p in s.split(",")),
        default=None,
        help=f"comma-separated TxBxIxH sizes (default {','.join(SIZES)})",
    )
    parser.add_argument(
        "--impls",
        type=parse_choices(IMPLS),
        default=IMPLS,
        help=f"comma-separated implementations (default {','.join(IMPLS)})",
    )
    parser.add_argument(
        "--sections",
        type=parse_choices(SECTIONS),
        default=SECTIONS,
        help=f"comma-separated sections to run (default {','.join(SECTIONS)})",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=10,
        help="timed rounds per case after warm-up (default 10)",
    )
    parser.add_argument(
        "--unroll",
        type=int,
        default=None,
        help="scan steps per iteration for jaxrnn (default: the layers' "
        "default, whole up to 16 steps, else 1)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: 3 repeats, sizes {','.join(QUICK_SIZES)}, "
        "short sweep, memory at the smaller T only",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for results.json and the plot (default runs/bench-<time>)",
    )
    parser.add_argument(
        "--doc",
        type=Path,
        default=Path("docs/benchmarks.md"),
        help="markdown page whose results block is replaced (default docs/benchmarks.md)",
    )
    parser.add_argument("--no-doc", action="store_true", help="do not write --doc")


def validate(args: argparse.Namespace) -> None:
    """Raise ValueError on option values that argparse cannot check."""
    if args.repeats < 1:
        raise ValueError(f"--repeats must be >= 1, got {args.repeats}")
    if args.unroll is not None and args.unroll < 1:
        raise ValueError(f"--unroll must be >= 1, got {args.unroll}")


def build_runners(case: Case, impls, unroll: int | None):
    """Build and compile the runners of `case`, skipping any that cannot run."""
    runners = []
    for impl in impls:
        try:
            runners.append(build_runner(case, impl, unroll))
        except ModuleNotFoundError as error:
            logger.warning("skipping %s for %s: %s", impl, case.label, error)
    return runners


def time_case(case: Case, impls, repeats: int, unroll: int | None) -> dict:
    """Time one case in every implementation; return its JSON record."""
    runners = build_runners(case, impls, unroll)
    timings = time_round_robin(runners, repeats)
    record = {"case": dataclasses.asdict(case), "label": case.label, **timings}
    record["compile_s"] = {r.name: list(r.compile_s) for r in runners if r.compile_s}
    record["train_gflops"] = {
        name: case.train_flops() / (stats["median_ms"] * 1e-3) / 1e9
        for name, stats in timings["train"].items()
    }
    logger.info("%s: %s", case.label, report.format_medians(record))
    return record


def run_grid(args, sizes) -> list[dict]:
    """Time every cell at every size."""
    cases = [Case(cell, *size) for cell in args.cells for size in sizes]
    return [
        time_case(c, args.impls, args.repeats, args.unroll)
        for c in tqdm(cases, desc="grid")
    ]


def memory_train_step(case: Case, impl: str, remat_chunk):
    """Build a training step whose loss reads only the final hidden state.

    The readout keeps the layer's output sequence out of the loss, so the
    compiled temporary memory measures the recurrence's activations.
    """
    layer = LSTM(case.input_size, case.hidden_size)
    optimizer = optax.adam(1e-3)
    params = layer.init(jax.random.PRNGKey(0))
    x = jnp.zeros((case.num_steps, case.batch, case.input_size))

    def loss_fn(p):
        _, (h_n, _) = layer.apply(p, x, impl=impl, remat_chunk=remat_chunk)
        return jnp.mean(h_n * h_n)

    def step(p, opt_state):
        grads = jax.grad(loss_fn)(p)
        updates, opt_state = optimizer.update(grads, opt_state, p)
        return optax.apply_updates(p, updates), opt_state

    return jax.jit(step).lower(params, optimizer.init(params)).compile()


def run_memory(steps) -> list[dict]:
    """Report XLA's compiled temp_size_in_bytes with and without chunks."""
    records = []
    for num_steps in steps:
        case = Case("lstm", num_steps, **MEMORY_SHAPE)
        chunk = max(1, round(math.sqrt(num_steps)))
        for impl, remat_chunk in (("scan", None), ("fused", None), ("fused", chunk)):
            compiled = memory_train_step(case, impl, remat_chunk)
            analysis = compiled.memory_analysis()
            records.append(
                {
                    "case": dataclasses.asdict(case),
                    "impl": f"jaxrnn-{impl}",
                    "remat_chunk": remat_chunk,
                    "temp_bytes": int(analysis.temp_size_in_bytes),
                    "argument_bytes": int(analysis.argument_size_in_bytes),
                }
            )
            logger.info(
                "memory %s T=%d remat_chunk=%s: %.1f MiB temp",
                impl,
                num_steps,
                remat_chunk,
                records[-1]["temp_bytes"] / 2**20,
            )
    return records


def run_compile(unroll: int | None) -> dict:
    """Compile the IMDB-size bidirectional LSTM step in both jaxrnn paths."""
    record = {"case": dataclasses.asdict(IMDB_CASE), "label": IMDB_CASE.label}
    for impl in ("fused", "scan"):
        record[f"jaxrnn-{impl}"] = jaxrnn_runner(IMDB_CASE, impl, unroll).compile_s
    logger.info("compile %s: %s", IMDB_CASE.label, record)
    return record


def run(args: argparse.Namespace) -> dict:
    """Run the selected sections and write JSON, plot and markdown.

    Returns:
      The results dict that was written to `results.json`.

    Raises:
      ValueError: an option value is invalid.
    """
    validate(args)
    if args.quick:
        args.repeats = min(args.repeats, 3)
    sizes = args.sizes or (QUICK_SIZES if args.quick else SIZES)
    sizes = [parse_size(s) if isinstance(s, str) else s for s in sizes]
    out = args.out or Path("runs") / f"bench-{datetime.now():%Y%m%d-%H%M%S}"
    out.mkdir(parents=True, exist_ok=True)
    results = {"machine": report.machine_info(), "options": report.options_of(args)}
    if "grid" in args.sections:
        results["grid"] = run_grid(args, sizes)
    if "varlen" in args.sections:
        results["varlen"] = time_case(
            VARLEN_CASE, args.impls, args.repeats, args.unroll
        )
    if "compile" in args.sections:
        results["compile"] = run_compile(args.unroll)
    if "memory" in args.sections:
        results["memory"] = run_memory(MEMORY_STEPS[:1] if args.quick else MEMORY_STEPS)
    if "sweep" in args.sections:
        steps = QUICK_SWEEP_STEPS if args.quick else SWEEP_STEPS
        results["sweep"] = [
            time_case(
                Case("lstm", t, **SWEEP_SHAPE), args.impls, args.repeats, args.unroll
            )
            for t in tqdm(steps, desc="sweep")
        ]
    results["targets"] = report.evaluate_targets(results)
    report.write_json(out / "results.json", results)
    if results.get("sweep"):
        report.plot_sweep(results["sweep"], out / "step_time_vs_length.png")
    if not args.no_doc:
        plot = out / "step_time_vs_length.png" if results.get("sweep") else None
        report.write_doc(args.doc, results, plot)
    logger.info("targets:\n%s", report.summary_text(results))
    return results
