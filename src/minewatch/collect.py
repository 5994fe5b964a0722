"""The collect pipeline: NetFlow/IPFIX datagrams -> one-way records (engine) -> paired flow
records -> the store, and (unless `store_only`) the same analysis as `scan`, window by
window.

The socket is read on an engine thread without the GIL; Python takes the decoded records
every `poll_s` (or as soon as `max_records` are waiting). Flows are written to the store
every `flush_s` seconds or `max_records` at a time, whichever comes first, on a writer
thread, one write in flight at most, each file whole or not at all (store/layout.py); a
kill -9 loses at most the last `flush_s` + `poll_s` seconds and the write in flight (on
a disk that keeps up, well under a second); the store's journal (store/journal.py) says
at the next start what such a run left unfinished. With detection, every `window_s` the
window's evidence is fused into findings and written; store-first (`store_only`),
detection is left to `minewatch detect --follow` (or a Spark job) over the closed files.
Several collectors may write into one store: each names its files and journal by its tag.

Store-first, no record reaches Python at all: the engine receives, decodes, pairs (on
numeric addresses) and writes the same files on its own two threads
(engine/src/storefirst.rs, store.rs); Python starts and stops it, notes its counters in
the journal every poll, and updates the journal after each of its flushes (called back
from the engine's writing thread).

Memory is bounded in records: at most 4 x `max_records` decoded and waiting (past that,
datagrams are dropped and counted), `max_records` one-way records held for their other
half, `max_records` flows not yet written; the evidence of one window is what remains,
one piece per client, server and batch. Store-first, the engine holds at most 4 x
`max_records` decoded records pending, and three batches on their way (one waiting to be
paired, one being paired, one being written), each at most what was pending.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from minewatch import _engine  # type: ignore[attr-defined]
from minewatch.model.schema import FLOW_SCHEMA, MINING_TYPE
from minewatch.options import WINDOW
from minewatch.scan import InputAnalysis, ScanOptions, fuse_results
from minewatch.sources.flowexport import Pairer
from minewatch.store import STORED_FLOW_SCHEMA, STORED_FLOW_VERSION, Store
from minewatch.store.journal import Journal, RunRecord, unfinished_runs

__all__ = ["CollectOptions", "CollectStatus", "Collector"]

log = logging.getLogger("minewatch.collect")


@dataclass(frozen=True)
class CollectOptions:
    host: str = "127.0.0.1"
    port: int = 2055
    poll_s: float = 2.0
    window_s: float = WINDOW.default
    max_records: int = 262_144
    recv_buffer: int = 8 * 1024 * 1024
    scan: ScanOptions = field(default_factory=ScanOptions)
    # Seconds between writes of the flows received: what a kill -9 may lose.
    flush_s: float = 5.0
    # Store only: no detection here (`minewatch detect --follow` does it from the store).
    store_only: bool = False
    # N (1 in N) for exporters that sample without announcing it (nfcapd's -s N); an
    # announced rate, 1 included, wins. Counts are scaled by it and flows keep it.
    unannounced_rate: int = 1


@dataclass(frozen=True)
class CollectStatus:
    """What the status line shows."""

    elapsed_s: float
    datagrams: int
    records: int
    flows: int
    findings: int
    malformed: int
    no_template: int
    missing: int
    exporters: int
    overflow: int
    kernel_drops: int | None

    def line(self) -> str:
        rate = self.records / self.elapsed_s if self.elapsed_s > 0 else 0.0
        drops = "?" if self.kernel_drops is None else str(self.kernel_drops)
        return (
            f"exporters {self.exporters} · datagrams {self.datagrams} · records {self.records} "
            f"({rate:,.0f}/s) · flows {self.flows} · findings {self.findings} · dropped: "
            f"{self.malformed} malformed, {self.no_template} without template, "
            f"{self.missing} lost on the way, {self.overflow} for want of memory, {drops} by the kernel"
        )


def kernel_drops(port: int) -> int | None:
    """Datagrams the kernel dropped on our socket (its receive buffer was full), from
    /proc/net/udp and udp6; None where that is not readable."""
    total, found = 0, False
    for name in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(name) as f:  # noqa: PTH123 - a proc file, read once
                next(f)
                for line in f:
                    parts = line.split()
                    if len(parts) > 12 and int(parts[1].rsplit(":", 1)[1], 16) == port:
                        total += int(parts[-1])
                        found = True
        except (OSError, ValueError, StopIteration):
            continue
    return total if found else None


def _as_stored(flows: pa.Table, source: str) -> pa.Table:
    """Paired records as the store keeps flows (FLOW_SCHEMA), without analysis: a flow
    export has no payload, so no server name beyond what the exporter sent, no mining."""
    n = flows.num_rows
    names = pc.coalesce(flows["sni"], flows["http_host"], flows["resolved_name"])
    flows = flows.append_column(FLOW_SCHEMA.field("source"), pa.repeat(pa.scalar(source, pa.string()), n))
    flows = flows.append_column(FLOW_SCHEMA.field("server_name"), names)
    return flows.append_column(FLOW_SCHEMA.field("mining"), pa.nulls(n, MINING_TYPE)).cast(FLOW_SCHEMA)


class Collector:
    """A running collector: `run` until `stop` is set or `duration_s` has passed."""

    def __init__(self, store: Store, options: CollectOptions) -> None:
        self.store = store
        self.options = options
        if options.store_only:
            self.socket = _engine.StoreCollector(
                options.host, options.port, options.recv_buffer, unannounced_rate=options.unannounced_rate
            )
        else:
            self.socket = _engine.Collector(
                options.host,
                options.port,
                options.recv_buffer,
                max_pending=4 * options.max_records,
                unannounced_rate=options.unannounced_rate,
            )
        self.port: int = self.socket.port
        self.stop = threading.Event()
        self.flows = 0
        self.written_flows = 0
        self.polled = 0  # one-way records taken from the socket
        self.findings = 0
        self.pairer = Pairer(options.max_records)
        self.pending: list[pa.Table] = []  # flows not yet written
        self.pending_rows = 0
        self.started = time.monotonic()
        self.flushed = self.started
        # What earlier runs into this store left unfinished, read before this run's journal
        # (a collector restarted under the same tag would overwrite its own).
        self.unfinished: list[RunRecord] = unfinished_runs(store.root)
        self.journal = Journal(
            store.root, store.tag, f"{options.host}:{self.port}", assumed_rate=options.unannounced_rate
        )
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="minewatch-store")
        self.writes: deque[Future[None]] = deque()
        self.kernel_dropped: int | None = None
        self.analysis = self._window()

    def status(self) -> CollectStatus:
        totals, exporters = self.socket.totals, self.socket.exporters()
        return CollectStatus(
            elapsed_s=time.monotonic() - self.started,
            datagrams=totals.datagrams,
            records=totals.records,
            flows=self.flows,
            findings=self.findings,
            malformed=totals.malformed,
            no_template=totals.no_template,
            missing=sum(e.missing for e in exporters),
            exporters=len({e.address for e in exporters}),
            overflow=totals.overflow,
            kernel_drops=self._kernel_drops(),
        )

    def _kernel_drops(self) -> int | None:
        """The kernel's drops on our socket; once the socket is closed (the count goes
        with it), the last count read."""
        now = kernel_drops(self.port)
        if now is not None:
            self.kernel_dropped = now
        return self.kernel_dropped

    def _window(self) -> InputAnalysis:
        source = f"netflow://{self.options.host}:{self.port}"
        return InputAnalysis(source, self.options.scan, self._write)

    def _write(self, flows: pa.Table) -> None:
        """Flows are written `flush_s` seconds (or max_records) at a time: few, large
        files, and little to lose."""
        self.pending.append(flows)
        self.pending_rows += flows.num_rows
        if self.pending_rows >= self.options.max_records:
            self._write_pending()

    def _write_pending(self) -> None:
        """Hand the flows received since the last flush to the writer thread (Parquet
        encoding releases the GIL, so the next records are paired meanwhile). The last
        write must be done first: one write in flight at most, which bounds both memory
        and what a kill -9 can take."""
        if self.pending:
            self._drain_writes()
            flows, taken = pa.concat_tables(self.pending), self.polled - self.pairer.held
            self.writes.append(self.writer.submit(self._write_now, flows, taken))
        self.pending, self.pending_rows = [], 0
        self.flushed = time.monotonic()

    def _write_now(self, flows: pa.Table, taken: int) -> None:
        """On the writer thread, in order: the files, then the journal that counts them
        (`taken`: the one-way records these flows and those before them were made of)."""
        self.store.write_flows(flows)
        self.written_flows += flows.num_rows
        self.journal.flushed(taken, self.written_flows)

    def _drain_writes(self) -> None:
        while self.writes:
            self.writes.popleft().result()

    def _feed(self, analysis: InputAnalysis, flows: pa.Table) -> None:
        self.flows += flows.num_rows
        if self.options.store_only:
            self._write(_as_stored(flows, analysis.source))
            return
        for batch in flows.to_batches():
            analysis.feed("flows", batch)

    def _close(self, analysis: InputAnalysis) -> None:
        self._write_pending()
        self._drain_writes()
        if self.options.store_only:
            return
        result = fuse_results([analysis.result], self.options.scan)
        self.findings += self.store.write_findings(result.findings)

    def run(
        self, duration_s: float | None = None, on_status: Callable[[CollectStatus], None] | None = None
    ) -> None:
        if self.options.store_only:
            self._run_store_first(duration_s, on_status)
        else:
            self._run_in_line(duration_s, on_status)

    def _run_store_first(
        self, duration_s: float | None, on_status: Callable[[CollectStatus], None] | None
    ) -> None:
        """The engine does the work; this thread notes its counters every `poll_s`."""
        options, deadline = self.options, None if duration_s is None else time.monotonic() + duration_s
        source = f"netflow://{options.host}:{self.port}"
        self.socket.start(
            self.store.root,
            self.store.tag,
            STORED_FLOW_SCHEMA,
            STORED_FLOW_VERSION,
            source,
            self.journal.flushed,
            max_records=options.max_records,
            max_pending=4 * options.max_records,
            flush_s=options.flush_s,
        )
        try:
            while not self.stop.is_set():
                left = (
                    options.poll_s if deadline is None else min(options.poll_s, deadline - time.monotonic())
                )
                if left <= 0:
                    break
                self.stop.wait(left)
                self._noted()
                if on_status is not None:
                    on_status(self.status())
        finally:
            self._kernel_drops()  # read while the socket is open
            self.socket.stop()  # writes what was received; the journal is told by the engine
            self._noted()
            self.journal.stopped()
            if on_status is not None:
                on_status(self.status())
        if self.socket.error is not None:
            raise OSError(self.socket.error)

    def _noted(self) -> None:
        """The engine's counters here and in the journal; its log to ours."""
        self.polled, _, self.flows, self.written_flows, _, _ = self.socket.progress
        self.journal.noted(self.socket.totals.records)
        for message in self.socket.drain_log():
            log.warning("%s", message)

    def _run_in_line(
        self, duration_s: float | None, on_status: Callable[[CollectStatus], None] | None
    ) -> None:
        deadline = None if duration_s is None else time.monotonic() + duration_s
        self.analysis = self._window()
        window_end = time.monotonic() + self.options.window_s
        try:
            while not self.stop.is_set():
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    break
                until = min(window_end, self.flushed + self.options.flush_s, deadline or now + 1e9)
                wait = min(self.options.poll_s, until - now)
                records = pa.Table.from_batches([self.socket.poll(max(wait, 0.0), self.options.max_records)])
                self.polled += records.num_rows
                self.journal.noted(self.socket.totals.records)
                for message in self.socket.drain_log():
                    log.warning("%s", message)
                if records.num_rows or self.pairer.held:
                    self._feed(self.analysis, self.pairer.push(records))
                if time.monotonic() - self.flushed >= self.options.flush_s:
                    self._write_pending()
                if time.monotonic() >= window_end:
                    self._close(self.analysis)
                    self.analysis = self._window()
                    window_end = time.monotonic() + self.options.window_s
                if on_status is not None:
                    on_status(self.status())
        finally:
            # Stopped, interrupted or failed: what was received is still written.
            self._feed(self.analysis, self.pairer.flush())
            self._close(self.analysis)
            self._drain_writes()
            self.writer.shutdown()
            self.journal.stopped()
            if on_status is not None:
                on_status(self.status())
