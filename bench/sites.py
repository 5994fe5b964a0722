"""The confusion matrix of `minewatch sites check` over the HELD-OUT generated pages,
served by a loopback web server and fetched through the real fetcher (no weight in
src/minewatch/sites was tuned on these pages).

    PYTHONPATH=src:. python bench/sites.py [--set tuning]
"""

from __future__ import annotations

import sys
import time

from tests.sites_pages import held_out, tuning
from tests.sites_server import serve

from minewatch.probe.policy import Policy
from minewatch.sites import Fetcher, FetchLimits, SiteClass
from minewatch.sites.check import check


def main() -> None:
    chosen = tuning() if "tuning" in sys.argv else held_out()
    classes = [c.value for c in SiteClass]
    matrix = {e: dict.fromkeys(classes, 0) for e in classes}
    fetcher = Fetcher(FetchLimits(timeout_s=5), Policy(allow_private=True))
    started = time.monotonic()
    with serve({p.name: p.html for p in chosen}) as base:
        for p in chosen:
            result = check(base + p.name, fetcher)
            got = result.verdict.cls.value if result.verdict else "unrelated"
            matrix[p.expected][got] += 1
    took = time.monotonic() - started
    print(f"{len(chosen)} pages ({'tuning' if 'tuning' in sys.argv else 'held-out'}), {took:.1f} s")
    print("| expected \\ got | " + " | ".join(classes) + " | recall |")
    print("|---" * (len(classes) + 2) + "|")
    for e in classes:
        row = matrix[e]
        total = sum(row.values())
        recall = row[e] / total if total else float("nan")
        print(f"| {e} | " + " | ".join(str(row[g]) for g in classes) + f" | {recall:.2f} |")
    precision = []
    for g in classes:
        called = sum(matrix[e][g] for e in classes)
        precision.append(f"{matrix[g][g] / called:.2f}" if called else "-")
    print("| precision | " + " | ".join(precision) + " | |")
    correct = sum(matrix[c][c] for c in classes)
    print(f"accuracy {correct}/{len(chosen)} = {correct / len(chosen):.3f}")


if __name__ == "__main__":
    main()
