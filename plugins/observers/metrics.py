"""Writes every run's metrics as JSONL + CSV, and as TensorBoard scalars when tensorboard is installed."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Any

from ie.api import RunEvent, RunObserver, hookimpl
from ie.api import Option


class MetricsWriter(RunObserver):
    """``events.jsonl`` gets every event; ``metrics.csv`` and ``tensorboard/`` get iteration metrics."""

    OPTIONS = (Option("tensorboard", bool, True, "also write TensorBoard scalars"),)


    name = "metrics"

    def __init__(self, options: dict[str, Any] | None = None):
        super().__init__(options)
        self._tb: Any = None
        self._tb_failed = False

    def on_event(self, event: RunEvent) -> None:
        out = event.run_dir / "metrics"
        out.mkdir(parents=True, exist_ok=True)
        record = {"time": time.time(), "kind": event.kind, "iteration": event.iteration, **event.data}
        with open(out / "events.jsonl", "a") as fh:
            fh.write(json.dumps(record, default=str) + "\n")
        if event.kind == "iteration_finished":
            scalars = {k: v for k, v in event.data.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
            self._append_csv(out / "metrics.csv", {"iteration": event.iteration, **scalars})
            self._tensorboard(out / "tensorboard", event.iteration or 0, scalars)

    @staticmethod
    def _append_csv(path: Path, row: dict[str, Any]) -> None:
        rows: list[dict[str, Any]] = []
        if path.exists():
            with open(path, newline="") as fh:
                rows = [r for r in csv.DictReader(fh) if r.get("iteration") != str(row["iteration"])]
        rows.append(row)
        fields = sorted({k for r in rows for k in r}, key=lambda k: (k != "iteration", k))
        with open(path, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)

    def _tensorboard(self, logdir: Path, step: int, scalars: dict[str, float]) -> None:
        if not self.options["tensorboard"] or self._tb_failed:
            return
        if self._tb is None:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except Exception:  # noqa: BLE001 - tensorboard is optional
                self._tb_failed = True
                return
            self._tb = SummaryWriter(str(logdir))
        for key, value in scalars.items():
            self._tb.add_scalar(key, value, step)
        self._tb.flush()

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
            self._tb = None


@hookimpl
def ie_register_observers(register):  # type: ignore[no-untyped-def]
    register("metrics", MetricsWriter, help="metrics/events.jsonl, metrics.csv, TensorBoard scalars")
