"""The corpus's own pool (corpus/pool.py): each dialect answered, plain and TLS, shares logged."""

from __future__ import annotations

import asyncio
import json
import ssl
import struct
from pathlib import Path
from typing import Any

import pytest

from corpus.pool import Dialect, EventKind, Pool, PoolSettings
from corpus.pool_jobs import xmrig_target
from corpus.pool_session import Vardiff


def _client_ctx(tls: bool) -> ssl.SSLContext | None:
    if not tls:
        return None
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _line(msg: dict[str, Any]) -> bytes:
    return json.dumps(msg).encode() + b"\n"


SUBMIT_V1 = {"id": 4, "method": "mining.submit", "params": ["w", "1", "00000000", "5f5e1000", "0000abcd"]}
XMRIG_LOGIN = {
    "id": 1,
    "jsonrpc": "2.0",
    "method": "login",
    "params": {"login": "w", "pass": "x", "agent": "XMRig/6.26.0", "algo": ["cn/r"]},
}

# dialect, what the miner says first, what it says after the first job, and a check of the
# pool's first answer
DIALOGUES = [
    (
        Dialect.SV1,
        [{"id": 1, "method": "mining.subscribe", "params": ["cpuminer/2.5.1"]},
         {"id": 2, "method": "mining.authorize", "params": ["w", "x"]}],
        SUBMIT_V1,
        lambda r: r["result"][1] == "00000001" and r["result"][2] == 4,
    ),
    (
        Dialect.ETHSTRATUM,
        [{"id": 1, "method": "mining.subscribe", "params": ["ethminer/0.19", "EthereumStratum/1.0.0"]},
         {"id": 2, "method": "mining.authorize", "params": ["w", "x"]}],
        {"id": 4, "method": "mining.submit", "params": ["w", "00000001", "6a909d9bbc0f"]},
        lambda r: r["result"][0][2] == "EthereumStratum/1.0.0",
    ),
    (
        Dialect.XMRIG,
        [XMRIG_LOGIN],
        {"id": 2, "jsonrpc": "2.0", "method": "submit",
         "params": {"id": "x", "job_id": "00000001", "nonce": "0a0b0c0d", "result": "00" * 32}},
        lambda r: len(r["result"]["job"]["blob"]) == 152 and r["result"]["job"]["target"],
    ),
]  # fmt: skip


async def _dialogue(pool: Pool, tls: bool, hello: list[dict[str, Any]], submit: dict[str, Any]) -> list[Any]:
    reader, writer = await asyncio.open_connection(pool.host, pool.port, ssl=_client_ctx(tls))
    for msg in hello:
        writer.write(_line(msg))
    answers = [json.loads(await asyncio.wait_for(reader.readline(), 5))]
    # read until the first job has come, then submit and wait for the answer with the same id
    while not any(
        m.get("method") in ("mining.notify", "job") or "job" in str(m.get("result")) for m in answers
    ):
        answers.append(json.loads(await asyncio.wait_for(reader.readline(), 5)))
    writer.write(_line(submit))
    while answers[-1].get("id") != submit["id"]:
        answers.append(json.loads(await asyncio.wait_for(reader.readline(), 5)))
    writer.close()
    return answers


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
@pytest.mark.parametrize(
    ("dialect", "hello", "submit", "check"),
    DIALOGUES,
    ids=lambda d: d.value if isinstance(d, Dialect) else None,
)
def test_dialogue_and_accepted_share(
    tmp_path: Path, tls: bool, dialect: Dialect, hello: Any, submit: Any, check: Any
) -> None:
    settings = PoolSettings(tls=tls, difficulty=2.0, job_interval_s=0.2, log_path=tmp_path / "log.jsonl")

    async def run() -> tuple[list[Any], int]:
        async with Pool(settings) as pool:
            answers = await _dialogue(pool, tls, hello, submit)
            await asyncio.sleep(0.05)
            return answers, pool.shares_accepted()

    answers, shares = asyncio.run(run())
    assert check(answers[0])
    result = answers[-1]["result"]
    assert result is True or result == {"status": "OK"}
    assert shares == 1
    logged = [json.loads(x) for x in (tmp_path / "log.jsonl").read_text().splitlines()]
    share = next(e for e in logged if e["event"] == "share")
    assert share["difficulty"] == 2.0 and share["accepted"] and share["dialect"] == dialect.value


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
def test_sv2_setup_connection_success(tls: bool) -> None:
    # SetupConnection (protocol 0, versions 2..2, flags 0, then strings): only the frame header matters here
    payload = bytes([0]) + struct.pack("<HHI", 2, 2, 0) + b"\x00" * 8
    frame = struct.pack("<HB", 0, 0x00) + len(payload).to_bytes(3, "little") + payload

    async def run() -> bytes:
        async with Pool(PoolSettings(tls=tls)) as pool:
            reader, writer = await asyncio.open_connection(pool.host, pool.port, ssl=_client_ctx(tls))
            writer.write(frame)
            answer = await asyncio.wait_for(reader.readexactly(12), 5)
            writer.close()
            return answer

    answer = asyncio.run(run())
    assert answer[2] == 0x01 and int.from_bytes(answer[3:6], "little") == 6
    assert struct.unpack("<H", answer[6:8])[0] == 2


def test_port_refuses_dialects_it_does_not_speak() -> None:
    async def run() -> bytes:
        async with Pool(PoolSettings(dialects=frozenset({Dialect.XMRIG}))) as pool:
            reader, writer = await asyncio.open_connection(pool.host, pool.port)
            writer.write(_line({"id": 1, "method": "mining.subscribe", "params": []}))
            data = await asyncio.wait_for(reader.read(), 5)
            writer.close()
            return data

    assert asyncio.run(run()) == b""


def test_jobs_pushed_unprompted_and_vardiff_logged(tmp_path: Path) -> None:
    settings = PoolSettings(dialects=frozenset({Dialect.XMRIG}), difficulty=100, vardiff_target_s=0.05,
                            job_interval_s=0.1)  # fmt: skip

    async def run() -> list[Any]:
        async with Pool(settings) as pool:
            reader, writer = await asyncio.open_connection(pool.host, pool.port)
            writer.write(_line(XMRIG_LOGIN))
            lines = [json.loads(await asyncio.wait_for(reader.readline(), 5)) for _ in range(6)]
            writer.close()
            await asyncio.sleep(0.05)
            assert any(e.event is EventKind.DIFFICULTY and e.difficulty == 25 for e in pool.events)
            return lines

    pushes = [m for m in asyncio.run(run()) if m.get("method") == "job"]
    assert len(pushes) == 5
    # no shares at all: the difficulty falls fourfold, and the job's target says so
    assert xmrig_target(25) in {m["params"]["target"] for m in pushes}


@pytest.mark.parametrize(
    ("shares", "elapsed", "expected"),
    [
        (0, 1.0, None),  # too early to tell
        (6, 60.0, None),  # one share per 10 s, as aimed
        (6, 6.0, 40.0),  # ten times too fast: at most fourfold up
        (6, 24.0, 25.0),  # 4 s per share: 2.5x up
        (0, 30.0, 2.5),  # nothing for three intervals: fourfold down
    ],
)
def test_vardiff(shares: int, elapsed: float, expected: float | None) -> None:
    v = Vardiff(difficulty=10.0, target_s=10.0, window_start=0.0, shares=shares)
    assert v.retarget(elapsed) == expected


@pytest.mark.parametrize(
    ("difficulty", "target"),
    [(1, "ffffffff"), (0.5, "ffffffff"), (256, "ffffff00"), (2**24, "0000000000010000")],
)
def test_xmrig_target(difficulty: float, target: str) -> None:
    assert xmrig_target(difficulty) == target


def test_share_counts_at_its_jobs_difficulty() -> None:
    settings = PoolSettings(
        dialects=frozenset({Dialect.XMRIG}), difficulty=100, vardiff_target_s=0.05, job_interval_s=0.1
    )
    submit = {"id": 2, "jsonrpc": "2.0", "method": "submit", "params": {"id": "x", "job_id": "00000001"}}

    async def run() -> list[float | None]:
        async with Pool(settings) as pool:
            reader, writer = await asyncio.open_connection(pool.host, pool.port)
            writer.write(_line(XMRIG_LOGIN))
            while not any(e.event is EventKind.DIFFICULTY and e.difficulty == 25 for e in pool.events):
                await asyncio.wait_for(reader.readline(), 5)
            writer.write(_line(submit))
            await asyncio.wait_for(reader.readline(), 5)
            writer.close()
            await asyncio.sleep(0.05)
            return [e.difficulty for e in pool.events if e.event is EventKind.SHARE]

    # the first job was sent at 100; the share for it counts at 100 though the pool now asks 25
    assert asyncio.run(run()) == [100]
