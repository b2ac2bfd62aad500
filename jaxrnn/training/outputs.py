"""A run's output folder: summary, per-step metrics and a plot of the curves.

Every file is written to a temporary file in the same folder and renamed into
place, so an interrupted write never leaves a half-written file behind.
"""

import json
import logging
import os
import tempfile
from pathlib import Path

logger = logging.getLogger(__name__)


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, value) -> None:
    """Write `value` as indented JSON, atomically."""
    write_atomic(path, (json.dumps(value, indent=2, sort_keys=True) + "\n").encode())


class RunOutputs:
    """The files of one training run under `out`.

    `summary.json` contains the final metrics, `metrics.jsonl` one JSON record a
    step or epoch, and `curves.png` a plot of every numeric series in it.
    """

    def __init__(self, out: Path):
        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.records: list[dict] = []

    def log(self, record: dict) -> None:
        """Keep one metrics record; `save` writes them all."""
        self.records.append(record)

    def save(self, summary: dict, x_key: str = "step") -> None:
        """Write metrics.jsonl, curves.png and summary.json, in that order."""
        lines = "".join(json.dumps(r, sort_keys=True) + "\n" for r in self.records)
        write_atomic(self.out / "metrics.jsonl", lines.encode())
        if self.records:
            self.plot(x_key)
        write_json(self.out / "summary.json", summary)
        logger.info("wrote %s", self.out / "summary.json")

    def plot(self, x_key: str) -> None:
        """Plot every numeric series in the records against `x_key`."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        names = sorted(
            {k for r in self.records for k, v in r.items() if k != x_key}
            & {k for r in self.records for k, v in r.items() if isinstance(v, (int, float))}
        )
        fig, axes = plt.subplots(len(names), 1, figsize=(6, 2.2 * len(names)), squeeze=False)
        for ax, name in zip(axes[:, 0], names):
            points = [(r[x_key], r[name]) for r in self.records if name in r and x_key in r]
            ax.plot([p[0] for p in points], [p[1] for p in points])
            ax.set_ylabel(name)
            ax.grid(alpha=0.3)
        axes[-1, 0].set_xlabel(x_key)
        fig.tight_layout()
        tmp = self.out / ".curves.png.tmp"
        fig.savefig(tmp, format="png", dpi=100)
        plt.close(fig)
        os.replace(tmp, self.out / "curves.png")
