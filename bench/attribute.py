"""Attribution throughput: 1,000,000 addresses against a 100,000-prefix inventory.

    .venv/bin/python bench/attribute.py [--ips 1000000] [--prefixes 100000]

minewatch's inventory (pytricia longest-prefix match, then the sector and compromise
decision per block) beside a peer measured in the same run: numpy's searchsorted over
the same blocks as sorted integer intervals (the blocks are made not to overlap, so both
must give the same owner for every address, which is checked).
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ips", type=int, default=1_000_000)
    parser.add_argument("--prefixes", type=int, default=100_000)
    args = parser.parse_args()
    rng = np.random.default_rng(5)
    # Non-overlapping blocks: one /24 (or smaller) in each of as many distinct /20s.
    slots = rng.choice(1 << 20, args.prefixes, replace=False).astype(np.int64) << 12
    lengths = rng.choice([24, 25, 26, 28], args.prefixes)
    names = ["示例有限公司", "示例大学", "示例市人民政府", "Example Broadband", "示例云计算有限公司"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "inventory.csv"
        with path.open("w") as f:
            f.write("cidr,organisation,region\n")
            for i, (base, length) in enumerate(zip(slots, lengths, strict=True)):
                f.write(f"{ipaddress.IPv4Address(int(base))}/{length},{names[i % 5]} {i},江苏省/南京市\n")
        from minewatch.attribute.inventory import Inventory

        t = time.perf_counter()
        inventory = Inventory.load(path)
        load_s = time.perf_counter() - t
    # Half the addresses fall in a block, half in the gaps.
    pick = rng.integers(0, args.prefixes, args.ips)
    inside = slots[pick] + rng.integers(0, 16, args.ips)
    outside = slots[pick] + 2048 + rng.integers(0, 256, args.ips)
    numbers = np.where(rng.random(args.ips) < 0.5, inside, outside)
    ips = [str(ipaddress.IPv4Address(int(n))) for n in numbers]

    t = time.perf_counter()
    owners = [a.organisation if (a := inventory.attribute(ip)) else None for ip in ips]
    ours_s = time.perf_counter() - t

    order = np.argsort(slots)
    lows = slots[order]
    highs = lows + (1 << (32 - lengths[order])) - 1
    t = time.perf_counter()
    at = np.searchsorted(lows, numbers, side="right") - 1
    hit = (at >= 0) & (numbers <= highs[np.maximum(at, 0)])
    peer_s = time.perf_counter() - t
    peer_owner = np.where(hit, order[np.maximum(at, 0)], -1)
    agree = all(
        (o is None) == (p < 0) and (o is None or o.endswith(f" {p}"))
        for o, p in zip(owners, peer_owner, strict=True)
    )

    print(f"inventory: {inventory.count:,} blocks loaded and checked in {load_s:.2f} s")
    print("| method | addresses/s | seconds | note |")
    print("|---|---|---|---|")
    print(
        f"| minewatch Inventory.attribute | {args.ips / ours_s:,.0f} | {ours_s:.2f} | longest-prefix match, sector, compromise, per address |"
    )
    print(
        f"| numpy searchsorted (peer) | {args.ips / peer_s:,.0f} | {peer_s:.3f} | owner index only, IPv4, non-overlapping blocks |"
    )
    print(f"same owner for every address: {agree}; {int(hit.sum()):,} of {args.ips:,} inside a block")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
