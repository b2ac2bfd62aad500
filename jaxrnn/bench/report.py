"""Benchmark output: machine facts, targets, JSON, markdown and the plot."""

import json
import os
import platform
import shutil
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

BLOCK_START = "<!-- bench:results:start -->"
BLOCK_END = "<!-- bench:results:end -->"
REFERENCE_SIZE = {"num_steps": 256, "batch": 64, "input_size": 128, "hidden_size": 256}
ADDITION_SIZE = {"num_steps": 8, "batch": 1, "input_size": 2, "hidden_size": 16}
TIMED_IMPLS = ("jaxrnn-fused", "jaxrnn-scan", "torch", "flax")
PLOT_NAME = "benchmarks_step_time.png"


def cpu_model() -> str:
    """Return the CPU's model name from /proc/cpuinfo, or the platform's guess."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def version_of(package: str) -> str:
    """Return the installed version of `package`, or `not installed`."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_info() -> dict:
    """Collect the CPU, core count, library versions and the date."""
    packages = ("jax", "jaxlib", "flax", "optax", "torch", "numpy")
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "versions": {name: version_of(name) for name in packages},
        "python": platform.python_version(),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
    }


def options_of(args) -> dict:
    """Record the command line and the options that shaped the run."""
    program = Path(sys.argv[0]).name
    if program == "__main__.py":
        program = "python -m jaxrnn"
    command = " ".join([program, *sys.argv[1:]])
    names = ("cells", "sizes", "impls", "sections", "repeats", "unroll", "quick")
    return {"command": command, **{n: getattr(args, n) for n in names}}


def format_medians(record: dict) -> str:
    """Format a case's median training times as `name=12.3ms, ...`."""
    items = record["train"].items()
    return ", ".join(f"{name}={stats['median_ms']:.1f}ms" for name, stats in items)


def speedup(
    record: dict, baseline: str, section: str = "train", impl: str = "jaxrnn-fused"
):
    """Return baseline median / `impl` median, or None if either is absent."""
    times = record.get(section, {})
    if impl not in times or baseline not in times:
        return None
    return times[baseline]["median_ms"] / times[impl]["median_ms"]


def find_case(results: dict, cell: str, size: dict):
    """Return the grid record of `cell` at `size`, or None."""
    for record in results.get("grid", []):
        case = record["case"]
        if case["cell"] == cell and all(case[k] == v for k, v in size.items()):
            return record
    return None


def target(name: str, measured, threshold: float, higher_is_better: bool = True):
    """Build one target row; `met` is None when it was not measured."""
    met = None
    if measured is not None:
        met = measured >= threshold if higher_is_better else measured <= threshold
    return {
        "target": name,
        "measured": measured,
        "threshold": threshold,
        "higher_is_better": higher_is_better,
        "met": met,
    }


def evaluate_targets(results: dict) -> list[dict]:
    """Check the measured ratios, compile time and matmul fraction."""
    lstm = find_case(results, "lstm", REFERENCE_SIZE)
    get = lambda record, baseline: None if record is None else speedup(record, baseline)
    rows = [
        target(
            "LSTM 256x64x128x256 train, speedup over torch", get(lstm, "torch"), 1.25
        ),
        target("LSTM 256x64x128x256 train, speedup over flax", get(lstm, "flax"), 1.5),
    ]
    for cell in ("gru", "rnn"):
        record = find_case(results, cell, REFERENCE_SIZE)
        rows.append(
            target(
                f"{cell.upper()} 256x64x128x256 train, speedup over torch",
                get(record, "torch"),
                1.25,
            )
        )
    rows.append(
        target(
            "biGRU varlen train, speedup over torch packed",
            get(results.get("varlen"), "torch"),
            2.0,
        )
    )
    # At the addition size the measured path is the layers' default unroll,
    # impl="scan", which the addition task uses.
    addition = find_case(results, "rnn", ADDITION_SIZE)
    rows.append(
        target(
            "RNN 8x1x2x16 train (default scan unroll), speedup over torch",
            None if addition is None else speedup(addition, "torch", impl="jaxrnn-scan"),
            5.0,
        )
    )
    compile_s = results.get("compile", {}).get("jaxrnn-fused")
    rows.append(
        target(
            "IMDB-size biLSTM train step compile seconds",
            None if compile_s is None else compile_s[0],
            3.0,
            False,
        )
    )
    fraction = None
    if lstm is not None and "jaxrnn-fused" in lstm["train_gflops"]:
        fraction = lstm["train_gflops"]["jaxrnn-fused"] / lstm["matmul_gflops"]
    rows.append(
        target(
            "LSTM 256x64x128x256 train GFLOP/s / 2048^2 matmul GFLOP/s", fraction, 0.75
        )
    )
    return rows


def write_json(path: Path, results: dict) -> None:
    """Write results as indented JSON, atomically."""
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=2, default=str) + "\n")
    tmp.replace(path)


def plot_sweep(sweep: list[dict], path: Path) -> None:
    """Plot median training step time against T for each implementation."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    steps = [record["case"]["num_steps"] for record in sweep]
    for impl in TIMED_IMPLS:
        if all(impl in record["train"] for record in sweep):
            medians = [record["train"][impl]["median_ms"] for record in sweep]
            ax.plot(steps, medians, marker="o", label=impl)
    case = sweep[0]["case"]
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="sequence length T",
        ylabel="training step, median ms",
        title=f"LSTM B={case['batch']} I={case['input_size']} H={case['hidden_size']}",
    )
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def cell_ms(stats: dict | None) -> str:
    """Format `median (min-max)` milliseconds, or a dash when absent."""
    if stats is None:
        return "-"
    return f"{stats['median_ms']:.2f} ({stats['min_ms']:.2f}-{stats['max_ms']:.2f})"


def ratio_text(value) -> str:
    """Format a ratio as `1.23x`, or a dash."""
    return "-" if value is None else f"{value:.2f}x"


def timing_table(records: list[dict], section: str) -> list[str]:
    """Build the markdown table of one section (train or infer) of the cases."""
    head = "| case | " + " | ".join(TIMED_IMPLS) + " | fused vs torch | fused vs flax |"
    if section == "train":
        head += " fused GFLOP/s (of matmul) | fused compile s |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for record in records:
        row = [record["label"]]
        row += [cell_ms(record[section].get(impl)) for impl in TIMED_IMPLS]
        row += [
            ratio_text(speedup(record, "torch", section)),
            ratio_text(speedup(record, "flax", section)),
        ]
        if section == "train":
            rate = record["train_gflops"].get("jaxrnn-fused")
            matmul = record["matmul_gflops"]
            row.append(
                "-"
                if rate is None
                else f"{rate:.1f} ({rate / matmul:.2f} of {matmul:.0f})"
            )
            compile_s = record["compile_s"].get("jaxrnn-fused")
            row.append("-" if compile_s is None else f"{compile_s[0]:.2f}")
        lines.append("| " + " | ".join(row) + " |")
    return lines


def targets_table(rows: list[dict]) -> list[str]:
    """Build the markdown table of acceptance targets."""
    lines = ["| target | threshold | measured | met |", "|---|---|---|---|"]
    for row in rows:
        sign = ">=" if row["higher_is_better"] else "<="
        measured = (
            "not measured" if row["measured"] is None else f"{row['measured']:.2f}"
        )
        met = {None: "-", True: "yes", False: "no"}[row["met"]]
        lines.append(
            f"| {row['target']} | {sign} {row['threshold']} | {measured} | {met} |"
        )
    return lines


def memory_table(records: list[dict]) -> list[str]:
    """Build the markdown table of compiled temporary memory."""
    lines = ["| T | impl | remat_chunk | temp MiB |", "|---|---|---|---|"]
    for record in records:
        lines.append(
            f"| {record['case']['num_steps']} | {record['impl']} | "
            f"{record['remat_chunk'] or '-'} | {record['temp_bytes'] / 2**20:.1f} |"
        )
    return lines


def results_markdown(results: dict, plot_name: str | None) -> str:
    """Render the results block of the benchmark page."""
    machine, options = results["machine"], results["options"]
    versions = ", ".join(f"{k} {v}" for k, v in machine["versions"].items())
    flags = machine["xla_flags"] or "(unset)"
    measured = (
        f"Measured {machine['date']} on {machine['cpu']}, {machine['cores']} cores; "
        f"{versions}; XLA_FLAGS={flags}."
    )
    lines = [
        measured,
        "",
        f"Command: `{options['command']}` ({options['repeats']} timed repeats a case).",
        "",
        "### Targets",
        "",
        *targets_table(results["targets"]),
        "",
    ]
    cases = results.get("grid", []) + (
        [results["varlen"]] if "varlen" in results else []
    )
    if cases:
        lines += [
            "### Training step, ms: median (min-max)",
            "",
            *timing_table(cases, "train"),
            "",
            "### Inference, ms: median (min-max)",
            "",
            *timing_table(cases, "infer"),
            "",
        ]
    if "compile" in results:
        record = results["compile"]
        lines += [
            "### Compile time",
            "",
            f"{record['label']}, seconds (train step, inference):",
            "",
        ]
        lines += [
            f"- {impl}: {record[impl][0]:.2f}, {record[impl][1]:.2f}"
            for impl in ("jaxrnn-fused", "jaxrnn-scan")
        ]
        lines.append("")
    if "memory" in results:
        lines += [
            "### Training-step temporary memory (XLA `memory_analysis`)",
            "",
            *memory_table(results["memory"]),
            "",
        ]
    if results.get("sweep"):
        lines += [
            "### Training step against sequence length",
            "",
            *timing_table(results["sweep"], "train"),
            "",
        ]
        if plot_name:
            lines += [f"![training step time against T]({plot_name})", ""]
    return "\n".join(lines)


def write_doc(path: Path, results: dict, plot: Path | None) -> None:
    """Replace the results block of the page at `path`, copying the plot beside it.

    The page keeps its text outside the block; a page without the block gets
    it appended.
    """
    plot_name = None
    if plot is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(plot, path.parent / PLOT_NAME)
        plot_name = PLOT_NAME
    block = f"{BLOCK_START}\n{results_markdown(results, plot_name)}\n{BLOCK_END}"
    text = path.read_text() if path.exists() else "# Benchmarks\n\n"
    if BLOCK_START in text and BLOCK_END in text:
        head, rest = text.split(BLOCK_START, 1)
        text = head + block + rest.split(BLOCK_END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def summary_text(results: dict) -> str:
    """Render the targets as plain text for the terminal."""
    return "\n".join(targets_table(results["targets"]))
