"""`minewatch detect --engine spark`: the command's side of store/spark.py (a session on
the given master, a batch run or a streaming one, and what a person is told)."""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rich.console import Console

from minewatch.detect.context import HomeNetworks
from minewatch.detect.standing import NameStanding
from minewatch.errors import InputError, UsageError
from minewatch.intel.indicators import IndicatorSet
from minewatch.model.findings import Finding
from minewatch.store import Store

__all__ = ["SparkRun"]

err = Console(stderr=True, highlight=False)


@dataclass
class SparkRun:
    """Detection over `store` on Spark (`master`, default local[2]); rows without an input
    name are named `default_source`, as on DuckDB."""

    store: Store
    default_source: str
    master: str | None
    intel: IndicatorSet
    standing: NameStanding
    home: HomeNetworks = field(default_factory=HomeNetworks)

    def _job(self) -> Any:
        from minewatch.store.spark import DetectJob

        return DetectJob(self.intel, self.home, self.standing, self.default_source)

    def detect(self, since: datetime | None, until: datetime | None) -> list[Finding]:
        """The findings of the flows active in [since, until), most confident first."""
        from minewatch.store import spark

        owned, session = _session(self.master)
        try:
            return spark.detect(session, self.store.root, self._job(), since, until)
        finally:
            if owned:
                session.stop()

    def follow(self, files_per_trigger: int = 64, every_s: float = 5.0) -> None:
        """Run the streaming job until interrupted (Ctrl-C), recording each micro-batch's
        findings in the store."""
        from minewatch.store import spark

        def record(found: list[Finding]) -> None:
            written = self.store.write_findings(found)
            err.print(f"minewatch: spark micro-batch, {written} findings recorded", markup=False)

        owned, session = _session(self.master)
        query = spark.follow(session, self.store.root, self._job(), record, files_per_trigger, every_s)
        err.print(f"minewatch: following {self.store.root}/flows on Spark (Ctrl-C stops)", markup=False)
        # Ctrl-C only raises a flag: PySpark's own handler calls into the JVM from inside
        # whatever call the main thread is making there, and the stop then fails.
        stopping = threading.Event()
        previous = signal.signal(signal.SIGINT, lambda _sig, _frame: stopping.set())
        try:
            while not stopping.wait(1.0) and query.isActive:
                pass
            failure = query.exception()
        finally:
            signal.signal(signal.SIGINT, previous)
            query.stop()
            if owned:
                session.stop()
        if failure is not None:
            raise InputError(f"{self.store.root}/flows", f"the streaming job failed: {failure}")


def _session(master: str | None) -> tuple[bool, Any]:
    """A session on `master`, and whether this run made it: a process that already has one
    (a test, a notebook) keeps it, and its master."""
    from minewatch.store import spark

    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise UsageError("--engine spark", spark.MISSING) from None
    active = SparkSession.getActiveSession()
    return (False, active) if active is not None else (True, spark.session(master))
