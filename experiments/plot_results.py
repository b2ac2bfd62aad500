"""Plot the learning curves and print the mean and spread of sentiment runs.

Usage: python experiments/plot_results.py OUT.png RUN_DIR [RUN_DIR ...]

Each RUN_DIR is the --out folder of `jaxrnn train` or `jaxrnn pretrain lm`.
Classifier runs plot training and dev accuracy per epoch; a pretraining run
plots held-out perplexity per step. The script prints one line per run and,
for classifier runs, the mean and standard deviation of test accuracy at
the best dev epoch.
"""

import json
import statistics
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def read_run(run_dir: Path) -> tuple[list[dict], dict]:
    """Return the metrics records and the summary of a run folder."""
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    summary = json.loads((run_dir / "summary.json").read_text())
    return [json.loads(line) for line in lines], summary


def main() -> None:
    out, *run_dirs = sys.argv[1:]
    runs = [(Path(d), *read_run(Path(d))) for d in run_dirs]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    tests = []
    for run_dir, records, summary in runs:
        if "heldout_perplexity" in records[0]:
            ax.plot(
                [r["step"] for r in records],
                [r["heldout_perplexity"] for r in records],
                marker="o",
                label=run_dir.name,
            )
            ax.set_xlabel("step")
            ax.set_ylabel("held-out perplexity")
            print(
                f"{run_dir.name}: perplexity {summary['heldout_perplexity']:.1f}, {summary['steps']} steps, {summary['wall_seconds']:.0f} s wall"
            )
            continue
        epochs = [r["epoch"] for r in records]
        line = ax.plot(
            epochs,
            [r["dev_accuracy"] for r in records],
            marker="o",
            label=f"{run_dir.name} dev",
        )
        ax.plot(
            epochs,
            [r["train_accuracy"] for r in records],
            linestyle="--",
            color=line[0].get_color(),
            alpha=0.5,
        )
        ax.set_xlabel("epoch")
        ax.set_ylabel("accuracy (dashed: train)")
        test = summary["test_accuracy"]
        tests.append(test)
        print(
            f"{run_dir.name}: best epoch {summary['best_epoch']}, dev {summary['dev_accuracy']:.4f}, test {test}, {summary['wall_seconds']:.0f} s wall"
        )
    if len(tests) > 1 and None not in tests:
        print(
            f"test accuracy: mean {statistics.mean(tests):.4f}, std {statistics.stdev(tests):.4f}, min {min(tests):.4f}, max {max(tests):.4f} over {len(tests)} runs"
        )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=100)


if __name__ == "__main__":
    main()
