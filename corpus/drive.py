"""The client side of one cell, run inside a client namespace: SLOTS concurrent session loops,
each opening sessions back to back (a client reconnects when its session ends) until the
cell's time is up. Prints one JSON line: sessions, long_sessions, errors.

`python -m corpus.drive --program mqtt --setting NAME --seed 7 --slots 4 --seconds 90 ...`
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import logging
import random
import sys
from dataclasses import dataclass
from pathlib import Path

from corpus.programs import program
from corpus.spec import Session, Setting, load_settings

MIN_SESSION_S = 70.0  # the behavioural detector ignores shorter flows


@dataclass(frozen=True)
class Plan:
    setting: Setting
    host: str
    port: int
    ca: Path
    dir: Path
    seed: str
    slots: int
    slot_offset: int
    seconds: float
    quick: bool


@dataclass
class Tally:
    sessions: int = 0
    long_sessions: int = 0
    errors: int = 0


def draw_duration(rng: random.Random, quick: bool) -> float:
    """Seconds a session lasts: 75-85 s at scale quick; else 70 s plus an exponential tail of
    mean 2 min cut at 9 min, so most last 2-10 minutes."""
    if quick:
        return rng.uniform(75, 85)
    return MIN_SESSION_S + 5 + min(530.0, rng.expovariate(1 / 120))


async def slot_loop(plan: Plan, slot: int, tally: Tally) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + plan.seconds
    rng = random.Random(f"{plan.seed}:{slot}")
    run = program(plan.setting.program).session
    await asyncio.sleep(rng.uniform(0, 3 if plan.quick else 30))
    index = 0
    while True:
        left = deadline - loop.time() - 5
        duration = min(draw_duration(rng, plan.quick), left)
        if duration < MIN_SESSION_S + 2:
            return
        s = Session(
            plan.host,
            plan.port,
            plan.setting,
            plan.ca,
            plan.dir,
            slot,
            index,
            duration,
            random.Random(f"{plan.seed}:{slot}:{index}"),
        )
        began = loop.time()
        try:
            await asyncio.wait_for(run(s), duration + 30)
        except Exception as exc:  # a failed session is counted and logged; the slot goes on
            tally.errors += 1
            logging.warning("session %s/%s failed: %r", slot, index, exc)
        held = loop.time() - began
        tally.sessions += 1
        tally.long_sessions += held >= MIN_SESSION_S
        index += 1
        await asyncio.sleep(rng.uniform(0.5, 5))


async def drive(plan: Plan) -> Tally:
    # Blocking client libraries (paho, imapclient, psycopg's notifier) run in threads: one per slot.
    asyncio.get_running_loop().set_default_executor(
        concurrent.futures.ThreadPoolExecutor(max_workers=2 * plan.slots + 4)
    )
    tally = Tally()
    slots = range(plan.slot_offset, plan.slot_offset + plan.slots)
    await asyncio.gather(*(slot_loop(plan, k, tally) for k in slots))
    return tally


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--program", required=True)
    ap.add_argument("--setting", required=True)
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ca", type=Path, required=True)
    ap.add_argument("--dir", type=Path, required=True)
    ap.add_argument("--seed", required=True)
    ap.add_argument("--slots", type=int, required=True)
    ap.add_argument("--slot-offset", type=int, default=0)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    (setting,) = [s for s in load_settings() if s.program == a.program and s.name == a.setting]
    plan = Plan(setting, a.host, a.port, a.ca, a.dir, a.seed, a.slots, a.slot_offset, a.seconds, a.quick)
    tally = asyncio.run(drive(plan))
    sys.stdout.write(json.dumps(tally.__dict__) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
