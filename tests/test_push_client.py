"""The push client against a stub service on loopback (issue 16, item 3): it sends a
batch again after connection errors and "later" answers, with back-off, within its bounds;
a refusal that would only repeat is not retried; each batch ends with a report."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from minewatch.cli.push import RetryPolicy, batch_id, push_batches
from tests.ports import free_port

FAST = RetryPolicy(tries=8, retry_for_s=20.0, timeout_s=5.0, first_wait_s=0.05, max_wait_s=0.5)
ROWS = [{"host": f"10.5.0.{i}"} for i in range(1, 6)]


class Stub:
    """Answers each POST with the next of `codes` (the last one repeats); 200 is a push
    answer counting the batch's findings. Keeps every body it was sent."""

    def __init__(self, codes: list[int]) -> None:
        self.codes, self.bodies = codes, []

    def answer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self.bodies.append(body)
        code = self.codes[min(len(self.bodies), len(self.codes)) - 1]
        n = len(body["findings"])
        ok = {"received": n, "cases_opened": n, "cases_updated": 0, "not_cases": 0, "stored": n}
        return code, ok | {"batch": body["batch"]} if code == 200 else {"detail": "no"}


@contextmanager
def serving(stub: Stub, port: int, after_s: float = 0.0) -> Iterator[None]:
    """The stub on `port`, listening only `after_s` seconds from now."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            code, answer = stub.answer(body)
            data = json.dumps(answer).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if code == 503:
                self.send_header("Retry-After", "0")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    box: list[ThreadingHTTPServer] = []

    def run() -> None:
        if not box:
            time.sleep(after_s)
            box.append(ThreadingHTTPServer(("127.0.0.1", port), Handler))
        box[0].serve_forever(poll_interval=0.05)

    if not after_s:  # listening before the first request
        box.append(ThreadingHTTPServer(("127.0.0.1", port), Handler))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        while after_s and not box:
            time.sleep(0.05)
        if box:
            box[0].shutdown()
            box[0].server_close()


def url(port: int) -> str:
    return f"http://127.0.0.1:{port}/api/v1/findings"


@pytest.mark.parametrize(
    ("codes", "tries"),
    [([200], 1), ([503, 503, 200], 3), ([502, 429, 504, 200], 4), ([408, 200], 2)],
)
def test_later_answers_are_retried_with_the_same_batch_id(codes: list[int], tries: int) -> None:
    stub, port = Stub(codes), free_port()
    with serving(stub, port):
        [report] = push_batches(url(port), "t", ROWS, 10, FAST)
    assert report.landed is not None and report.landed.stored == 5 and report.tries == tries
    assert {b["batch"] for b in stub.bodies} == {batch_id(ROWS)}


@pytest.mark.parametrize("code", [400, 401, 413, 422, 500])
def test_a_refusal_that_would_repeat_is_not_retried(code: int) -> None:
    stub, port = Stub([code, 200]), free_port()
    with serving(stub, port):
        [report] = push_batches(url(port), "t", ROWS, 10, FAST)
    assert (report.landed, report.tries, report.failure) == (None, 1, f"{code} no")


def test_a_service_down_for_a_while_is_waited_for() -> None:
    stub, port = Stub([200]), free_port()
    reports = []
    with serving(stub, port, after_s=1.0):
        t0 = time.monotonic()
        push_batches(url(port), "t", ROWS, 2, FAST, reports.append)
    assert time.monotonic() - t0 >= 1.0
    assert [(r.number, r.of, r.first, r.last) for r in reports] == [(1, 3, 1, 2), (2, 3, 3, 4), (3, 3, 5, 5)]
    assert reports[0].tries > 1 and all(r.landed is not None for r in reports)
    assert [len(b["findings"]) for b in stub.bodies] == [2, 2, 1]


def test_an_unreachable_service_fails_each_batch_in_bounded_time() -> None:
    policy = RetryPolicy(tries=3, retry_for_s=5.0, timeout_s=1.0, first_wait_s=0.05, max_wait_s=0.1)
    t0 = time.monotonic()
    reports = push_batches(url(free_port()), "t", ROWS, 2, policy)
    assert time.monotonic() - t0 < 5
    first, *rest = reports
    assert first.tries == 3 and first.failure is not None and first.failure.startswith("after 3 tries: ")
    assert [(r.tries, r.failure) for r in rest] == [(0, "not sent: the service is unreachable")] * 2


def test_a_service_that_stays_busy_is_given_up_on_after_its_tries() -> None:
    stub, port = Stub([503]), free_port()
    policy = RetryPolicy(tries=4, retry_for_s=10.0, timeout_s=2.0, first_wait_s=0.05, max_wait_s=0.1)
    with serving(stub, port):
        reports = push_batches(url(port), "t", ROWS, 5, policy)
    assert [(r.tries, r.failure) for r in reports] == [(4, "after 4 tries: 503 no")]
    assert len(stub.bodies) == 4


@pytest.mark.parametrize(
    ("codes", "status", "said"),
    [
        ([200], 0, "batch 2 of 2, findings 3-3: 1 stored (1 cases opened, 0 updated), 0 already stored"),
        (
            [503, 200],
            0,
            "batch 1 of 2, findings 1-2: 2 stored (2 cases opened, 0 updated), 0 already stored, "
            "0 refused, 0 not cases after 2 tries",
        ),
        ([503], 4, "2 of 2 batches did not land: 1 (findings 1-2), 2 (findings 3-3)"),
        ([422], 4, "batch 1 of 2, findings 1-2: failed 422 no"),
    ],
)
def test_minewatch_push_reports_each_batch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], codes: list[int], status: int, said: str
) -> None:
    from minewatch.cli.main import main
    from minewatch.store import Store
    from tests.test_episodes import _window

    store = tmp_path / "store"
    Store(store).write_findings([_window("10.8.0.1", minute, 1_000) for minute in range(3)])
    (tmp_path / "token").write_text("mw_test\n")
    stub, port = Stub(codes), free_port()
    with serving(stub, port):
        argv = ["push", "--store", str(store), "--to", f"http://127.0.0.1:{port}/"]
        argv += ["--token-file", str(tmp_path / "token"), "--batch-size", "2", "--tries", "2"]
        assert main(argv) == status
    assert said in capsys.readouterr().err
