"""The push client: a sensor's findings to a service in batches, each sent until it lands.

Each batch carries an id derived from its content, so a batch sent again (its answer was
lost to a dropped connection or a killed server) is answered by the service with what it
did the first time, and its findings are never stored twice. A batch is sent again, with
exponential back-off and jitter, on connection errors, timeouts and the answers that say
"later" (408, 429, 502, 503, 504; a Retry-After is honoured), within a bound on tries and
on time; any other refusal would only be refused again, so it is not retried. Every batch
ends with a report: what landed, or why it did not."""

from __future__ import annotations

import hashlib
import http.client
import json
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from minewatch.cases.push import PushOutcome
from minewatch.options import SECONDS, Opt, whole

__all__ = ["BATCH_SIZE", "BatchReport", "RetryPolicy", "batch_id", "push_batches", "send_batch"]

BATCH_SIZE = Opt("--batch-size", whole(1, 1000), 500, "Findings per request (1,000 at most).")
TRIES = Opt("--tries", whole(1, 100), 6, "Tries of each batch before it is reported failed.")
RETRY_FOR = Opt("--retry-for", SECONDS, 300.0, "Seconds a batch may spend being retried.")
TIMEOUT = Opt("--timeout", SECONDS, 60.0, "Seconds to wait for the service's answer to one batch.")
# Answers that mean "not now": the same request may well succeed later.
AGAIN = frozenset({408, 429, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    tries: int = TRIES.default
    retry_for_s: float = RETRY_FOR.default
    timeout_s: float = TIMEOUT.default
    first_wait_s: float = 1.0
    max_wait_s: float = 30.0

    def wait(self, attempt: int, asked: float | None) -> float:
        """Seconds before try `attempt + 1`: doubling from the first wait, jittered to
        between half and all of it so sensors cut off together do not return together;
        at least what the service asked for (Retry-After), at most the cap."""
        base = min(self.max_wait_s, self.first_wait_s * 2 ** (attempt - 1))
        return float(min(self.max_wait_s, max(asked or 0.0, base * random.uniform(0.5, 1.0))))


@dataclass(frozen=True)
class BatchReport:
    """One batch: its number of `of`, its findings `first`..`last` (from 1), the tries it
    took, and what landed, or why nothing did."""

    number: int
    of: int
    first: int
    last: int
    tries: int
    landed: PushOutcome | None
    failure: str | None = None


@dataclass(frozen=True)
class _Refused(Exception):
    """An answer that will not change on another try."""

    reason: str


@dataclass(frozen=True)
class _Later(Exception):
    """No answer, or one saying to come back later."""

    reason: str
    asked: float | None = None  # Retry-After, in seconds
    unreachable: bool = False


def batch_id(rows: Sequence[dict[str, Any]]) -> str:
    """The batch's id: a digest of its findings' canonical JSON (the same batch, the same id)."""
    text = json.dumps(list(rows), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def push_batches(
    url: str,
    token: str,
    rows: Sequence[dict[str, Any]],
    size: int,
    policy: RetryPolicy,
    on_report: Callable[[BatchReport], None] = lambda _: None,
) -> list[BatchReport]:
    """Send `rows` in batches of `size`; a report per batch, also given to `on_report` as
    each ends. Once a batch fails because the service cannot be reached, the rest are
    reported as not sent rather than each waiting out its own retries."""
    starts = range(0, len(rows), size)
    reports: list[BatchReport] = []
    unreachable = False
    for number, start in enumerate(starts, start=1):
        chunk = rows[start : start + size]
        where = (number, len(starts), start + 1, start + len(chunk))
        if unreachable:
            report = BatchReport(*where, tries=0, landed=None, failure="not sent: the service is unreachable")
        else:
            report, unreachable = send_batch(url, token, chunk, where, policy)
        reports.append(report)
        on_report(report)
    return reports


def send_batch(
    url: str,
    token: str,
    rows: Sequence[dict[str, Any]],
    where: tuple[int, int, int, int],
    policy: RetryPolicy,
) -> tuple[BatchReport, bool]:
    """One batch, tried until it lands or the policy gives up; its report, and whether
    it failed for want of a service to reach."""
    body = json.dumps({"findings": list(rows), "batch": batch_id(rows)}).encode()
    started = time.monotonic()
    attempt = 0
    while True:
        attempt += 1
        try:
            answer = _post(url, token, body, policy.timeout_s)
            return BatchReport(*where, tries=attempt, landed=PushOutcome.from_json(answer)), False
        except _Refused as e:
            return BatchReport(*where, tries=attempt, landed=None, failure=e.reason), False
        except _Later as e:
            pause = policy.wait(attempt, e.asked)
            if attempt >= policy.tries or time.monotonic() - started + pause > policy.retry_for_s:
                tried = f"{attempt} tries" if attempt > 1 else "1 try"
                report = BatchReport(*where, tries=attempt, landed=None, failure=f"after {tried}: {e.reason}")
                return report, e.unreachable
            time.sleep(pause)


def _post(url: str, token: str, body: bytes, timeout: float) -> dict[str, Any]:
    request = urllib.request.Request(
        url,
        data=body,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer: dict[str, Any] = json.loads(response.read())
            return answer
    except urllib.error.HTTPError as e:
        reason = f"{e.code} {_detail(e)}"
        if e.code in AGAIN:
            raise _Later(reason, _retry_after(e.headers.get("Retry-After"))) from None
        raise _Refused(reason) from None
    except urllib.error.URLError as e:
        raise _Later(str(e.reason), unreachable=True) from None
    except (OSError, http.client.HTTPException, ValueError) as e:
        # A connection reset or closed mid-answer, a timeout, a truncated body: the batch
        # may or may not have landed; its id makes sending it again safe.
        raise _Later(str(e) or type(e).__name__, unreachable=isinstance(e, ConnectionError)) from None


def _detail(e: urllib.error.HTTPError) -> str:
    text = e.read(2000).decode("utf-8", "replace")
    try:
        detail = json.loads(text).get("detail", text)
    except (ValueError, AttributeError):
        detail = text
    return str(detail)[:300]


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None  # an HTTP date: the back-off decides
