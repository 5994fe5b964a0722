"""Active confirmation (minewatch.probe): our own pools confirmed in every dialect, plain and
TLS; an HTTPS server, a real MQTT broker and a real XMPP server rejected; limits, exclusions
and the cache; `minewatch probe`; and `scan --confirm` over TLS mining captures."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from corpus.pool import Dialect as PoolDialect
from corpus.pool import Pool, PoolSettings
from minewatch.cli.main import main
from minewatch.model.findings import Activity, Endpoint, Evidence, EvidenceKind, Finding
from minewatch.probe import (
    Bounds,
    Confirmer,
    Dialect,
    LimitSettings,
    Policy,
    ProbeCache,
    Prober,
    ProbeResult,
    Target,
    Transport,
    Verdict,
    parse_exclusions,
)
from minewatch.probe.classify import AnswerKind, classify
from minewatch.probe.greetings import greeting
from minewatch.scan import messages_by_conn
from minewatch.sources.base import EngineOptions
from minewatch.sources.pcap import read_tables
from minewatch.synth.packets import write_pcap
from minewatch.synth.variants import TlsVariant, app_messages, tls_session
from tests.conftest import REAL
from tests.probe_fixtures import (
    Listener,
    connects,
    https_server,
    mosquitto,
    pool_thread,
    prosody,
    self_signed,
)

LOCAL = Policy(allow_private=True)
FAST = Bounds(connect_s=1.5, answer_s=1.5)
QUICK = LimitSettings(rate_per_s=100, burst=20)


def _prober(policy: Policy = LOCAL, limits: LimitSettings = QUICK, cache: ProbeCache | None = None) -> Prober:
    return Prober(policy, limits, FAST, cache)


# -- what an answer means ----------------------------------------------------------------

V1_ANSWER = b'{"id":1,"result":[[["mining.notify","ae68"]],"08000002",4],"error":null}\n'
XMRIG_JOB = (
    b'{"id":1,"jsonrpc":"2.0","error":null,"result":{"id":"a","job":{"blob":"0707aa","job_id":"1","target":"b88d0600","seed_hash":"'
    + b"ab" * 32
    + b'"}}}\n'
)
ES_ANSWER = b'{"id":1,"result":[["mining.notify","ae68","EthereumStratum/1.0.0"],"080c"],"error":null}\n'
JSON_ERROR = b'{"id":1,"result":null,"error":{"code":-32601,"message":"Method not found"}}\n'


@pytest.mark.parametrize(
    ("dialect", "answer", "closed", "kind", "protocol", "words"),
    [
        (Dialect.STRATUM_V1, V1_ANSWER, False, AnswerKind.MINING, "stratum-v1", "extranonce1 08000002"),
        (
            Dialect.ETHEREUM_STRATUM,
            ES_ANSWER,
            False,
            AnswerKind.MINING,
            "ethereum-stratum",
            "EthereumStratum",
        ),
        (Dialect.XMRIG, XMRIG_JOB, False, AnswerKind.MINING, "xmrig", "XMRig login with a job"),
        (
            Dialect.XMRIG,
            b'{"id":1,"jsonrpc":"2.0","error":{"code":-1,"message":"Invalid payment address provided"}}\n',
            False,
            AnswerKind.MINING,
            "xmrig",
            "refused our XMRig login",
        ),
        (
            Dialect.STRATUM_V2,
            b"\x00\x00\x01\x06\x00\x00\x02\x00\x00\x00\x00\x00",
            False,
            AnswerKind.MINING,
            "stratum-v2",
            "Success",
        ),
        (Dialect.STRATUM_V1, bytes(234), False, AnswerKind.MINING, "stratum-v2", "Noise"),
        (Dialect.STRATUM_V1, JSON_ERROR, False, AnswerKind.OTHER, None, "JSON that is not a mining answer"),
        (Dialect.XMRIG, JSON_ERROR, False, AnswerKind.OTHER, None, "Method not found"),
        (
            Dialect.STRATUM_V1,
            b"HTTP/1.1 400 Bad Request\r\n\r\n",
            False,
            AnswerKind.OTHER,
            None,
            "HTTP/1.1 400",
        ),
        (Dialect.STRATUM_V1, b"<?xml version='1.0'?><stream:stream>", False, AnswerKind.OTHER, None, "XMPP"),
        (Dialect.STRATUM_V1, b"\x15\x03\x03\x00\x02\x02\x46", False, AnswerKind.OTHER, None, "TLS"),
        (Dialect.STRATUM_V2, b"", True, AnswerKind.CLOSED, None, "closed"),
        (Dialect.STRATUM_V1, b"", False, AnswerKind.SILENT, None, "nothing"),
    ],
)
def test_answers_are_classified(
    dialect: Dialect, answer: bytes, closed: bool, kind: AnswerKind, protocol: str | None, words: str
) -> None:
    got = classify(greeting(dialect), answer, closed)
    assert (got.kind, got.protocol) == (kind, protocol)
    assert words in got.detail


# -- our own pools -----------------------------------------------------------------------

POOL_DIALECTS = {
    Dialect.STRATUM_V1: PoolDialect.SV1,
    Dialect.ETHEREUM_STRATUM: PoolDialect.ETHSTRATUM,
    Dialect.XMRIG: PoolDialect.XMRIG,
    Dialect.STRATUM_V2: PoolDialect.SV2,
}


async def _probe_pool(settings: PoolSettings, name: str | None) -> tuple[ProbeResult, int]:
    async with Pool(settings) as pool:
        [result] = await _prober().probe_async([Target(pool.host, pool.port, name)])
        return result, connects(pool)


@pytest.mark.parametrize("name", [None, "pool.minewatch.test"])
@pytest.mark.parametrize(
    ("dialect", "tls"),
    [(d, tls) for d in Dialect for tls in (False, True) if not (d == Dialect.STRATUM_V2 and tls)],
)
def test_our_pools_are_confirmed(dialect: Dialect, tls: bool, name: str | None) -> None:
    """Each dialect alone on a port (the pool hangs up on the others), plain and TLS, with
    and without a server name to send as SNI."""
    settings = PoolSettings(tls=tls, dialects=frozenset({POOL_DIALECTS[dialect]}), job_interval_s=3600)
    result, accepted = asyncio.run(_probe_pool(settings, name))
    assert result.verdict == Verdict.POOL, result.detail
    assert result.dialect == dialect
    assert result.strength >= 0.85
    expected = Transport.PLAIN if not tls else Transport.TLS_SNI if name else Transport.TLS
    assert result.transport == expected
    assert result.connections <= LimitSettings().max_connections
    if tls:
        assert result.certificate is not None
        assert result.certificate.subject == "CN=pool.minewatch.test" and result.certificate.self_signed
    assert accepted <= result.connections


def test_a_pool_of_every_dialect_answers_the_first_greeting() -> None:
    result, accepted = asyncio.run(_probe_pool(PoolSettings(job_interval_s=3600), None))
    assert (result.verdict, result.dialect, result.connections, accepted) == (
        Verdict.POOL,
        Dialect.STRATUM_V1,
        1,
        1,
    )
    assert "subscription id and extranonce1" in result.detail


# -- servers that are not pools ----------------------------------------------------------


def test_an_https_server_is_not_a_pool(tmp_path: Path) -> None:
    with https_server(self_signed(tmp_path)) as port:
        [result] = _prober().probe([Target("127.0.0.1", port, "pool.test")])
    assert result.verdict == Verdict.NOT_POOL, result.detail
    assert "HTML" in result.detail and result.transport == Transport.TLS_SNI
    assert result.certificate is not None and result.certificate.subject == "CN=pool.test"


def test_an_mqtt_broker_is_not_a_pool_plain_or_tls(tmp_path: Path) -> None:
    with mosquitto(tmp_path, self_signed(tmp_path)) as (plain, tls):
        results = _prober().probe([Target("127.0.0.1", plain), Target("127.0.0.1", tls)])
    assert [r.verdict for r in results] == [Verdict.NOT_POOL, Verdict.NOT_POOL], [r.detail for r in results]
    assert results[1].certificate is not None, "the TLS listener's handshake was seen"


def test_an_xmpp_server_is_not_a_pool(tmp_path: Path) -> None:
    with prosody(tmp_path) as port:
        [result] = _prober().probe([Target("127.0.0.1", port)])
    assert result.verdict == Verdict.NOT_POOL
    assert "XMPP" in result.detail and result.connections == 1


def test_a_closed_port_is_an_error_and_costs_one_connection() -> None:
    with Listener() as listener:
        port = listener.port
    [result] = _prober().probe([Target("127.0.0.1", port)])
    assert (result.verdict, result.connections) == (Verdict.ERROR, 1)


# -- policy and limits -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "why"),
    [
        (Policy(), "loopback address"),
        (Policy(parse_exclusions(["127.0.0.0/8"]), allow_private=True), "excluded (127.0.0.0/8)"),
    ],
)
def test_refused_addresses_are_never_connected_to(policy: Policy, why: str) -> None:
    with Listener() as listener:
        [result] = _prober(policy).probe([Target("127.0.0.1", listener.port)])
        time.sleep(0.1)
    assert result.verdict == Verdict.NOT_PROBED and why in result.detail
    assert listener.accept_times == []


@pytest.mark.parametrize(
    ("ip", "refused"),
    [
        ("10.1.2.3", "private"),
        ("192.168.0.1", "private"),
        ("169.254.1.1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("203.0.113.5", "excluded"),
        ("8.8.8.8", None),
    ],
)
def test_policy_table(ip: str, refused: str | None) -> None:
    why = Policy(parse_exclusions(["203.0.113.0/24"])).refusal(ip)
    assert (why is None) if refused is None else (why is not None and why.startswith(refused))


def test_exclusions_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "never.txt"
    path.write_text("# ours\n198.51.100.0/24\n2001:db8::/32  # docs\n")
    policy = Policy(parse_exclusions([str(path), "192.0.2.7"]), allow_private=True)
    assert [
        policy.refusal(ip) is None for ip in ("198.51.100.9", "2001:db8::5", "192.0.2.7", "192.0.2.8")
    ] == [
        False,
        False,
        False,
        True,
    ]


def test_one_target_probed_many_times_is_one_connection() -> None:
    with pool_thread(PoolSettings(job_interval_s=3600)) as pool:
        target = Target(pool.host, pool.port)
        prober = _prober()
        first = prober.probe([target, target, target])
        again = [prober.probe([target])[0] for _ in range(3)]
        # With no cache to reuse, the per-target interval still refuses a second probe.
        uncached = _prober(cache=ProbeCache(ttl=timedelta(0)))
        fresh = [uncached.probe([target])[0] for _ in range(3)]
        time.sleep(0.1)
        accepted = connects(pool)
    assert [r.verdict for r in first] == [Verdict.POOL] * 3
    assert all(r.cached and r.measured == first[0].measured for r in again)
    assert fresh[0].verdict == Verdict.POOL
    assert [r.verdict for r in fresh[1:]] == [Verdict.NOT_PROBED] * 2
    assert "one probe per target every 600 s" in fresh[1].detail
    assert accepted == 2, "one connection per prober"


def test_total_rate_and_budget_are_respected() -> None:
    """Eight servers that hang up: each probe takes several connections, all of them from
    one bucket of 10 a second (burst 2), and only six servers fit the run's budget."""
    limits = LimitSettings(rate_per_s=10, burst=2, concurrency=3, max_targets=6, max_connections=3)
    listeners = [Listener() for _ in range(8)]
    for listener in listeners:
        listener.__enter__()
    try:
        results = _prober(limits=limits).probe([Target("127.0.0.1", x.port) for x in listeners])
        times = sorted(t for x in listeners for t in x.accept_times)
    finally:
        for listener in listeners:
            listener.__exit__()
    assert [r.verdict for r in results].count(Verdict.NOT_PROBED) == 2
    assert all("budget of 6" in r.detail for r in results if r.verdict == Verdict.NOT_PROBED)
    assert len(times) == sum(r.connections for r in results) == 18
    # n connections from a bucket of rate r and burst b take at least (n - b) / r seconds.
    assert times[-1] - times[0] >= (len(times) - 2) / 10 - 0.05
    for i in range(len(times)):
        within = [t for t in times[i:] if t - times[i] < 0.5]
        assert len(within) <= 2 + 0.5 * 10 + 1


def test_cache_file_keeps_results_with_their_time(tmp_path: Path) -> None:
    path = tmp_path / "cache.jsonl"
    with pool_thread(PoolSettings(job_interval_s=3600)) as pool:
        target = Target(pool.host, pool.port)
        [first] = _prober(cache=ProbeCache(path)).probe([target])
        [second] = _prober(cache=ProbeCache(path)).probe([target])
        saved = [json.loads(x) for x in path.read_text().splitlines()]
        later = ProbeCache(path, now=lambda: datetime.now(UTC) + timedelta(days=2))
        [expired] = _prober(cache=later).probe([target])
        accepted = connects(pool)
    assert second.cached and second.measured == first.measured and second.verdict == Verdict.POOL
    assert not expired.cached and accepted == 2
    assert [(x["verdict"], x["measured"]) for x in saved] == [("pool", first.to_json()["measured"])]


# -- the command ------------------------------------------------------------------------


def test_probe_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pool_thread(PoolSettings(tls=True, job_interval_s=3600)) as pool:
        code = main(["probe", "--probe-private", "--json", f"localhost:{pool.port}", "127.0.0.1:1"])
    assert code == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [(x["verdict"], x["transport"], x["name"]) for x in lines] == [
        ("pool", "tls-sni", "localhost"),
        ("error", None, None),
    ]
    assert lines[0]["certificate"]["subject"] == "CN=pool.minewatch.test" and lines[0]["measured"]


@pytest.mark.parametrize(
    "argv",
    [["probe", "no-port"], ["probe", "h:99999"], ["probe", "--probe-exclude", "10.0.0.0/40", "h:1"]],
)
def test_probe_usage_errors(argv: list[str]) -> None:
    assert main(argv) == 2


def test_probe_refuses_loopback_without_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["probe", "--json", "127.0.0.1:9"]) == 0
    [line] = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert line["verdict"] == "not-probed" and "--probe-private" in line["detail"]


# -- confirmation of findings --------------------------------------------------------------

NOW = datetime(2026, 11, 27, tzinfo=UTC)


def _finding(*kinds: EvidenceKind) -> Finding:
    pool = Endpoint("203.0.113.9", 443, None)
    evidence = tuple(
        Evidence("10.0.0.5", Activity.MINING, k, 0.5, k.value, NOW, NOW, peer=pool) for k in kinds
    )
    return Finding("10.0.0.5", Activity.MINING, 0.5, NOW, NOW, evidence, pools=(pool,))


class _Answers:
    """A prober that answers every target with one verdict."""

    def __init__(self, verdict: Verdict) -> None:
        self.verdict = verdict
        self.verdicts: dict[str, Verdict] = {}
        self.asked: list[Target] = []

    def probe(self, targets: list[Target]) -> list[ProbeResult]:
        self.asked.extend(targets)
        strength = 0.98 if self.verdict == Verdict.POOL else 0.0
        return [
            ProbeResult(
                t, self.verdicts.get(t.ip, self.verdict), "answered", NOW, Transport.TLS, strength=strength
            )
            for t in targets
        ]


@pytest.mark.parametrize(
    ("kinds", "verdict", "kept", "probe_evidence"),
    [
        ((EvidenceKind.BEHAVIOUR,), Verdict.NOT_POOL, False, False),
        ((EvidenceKind.BEHAVIOUR,), Verdict.NO_ANSWER, True, False),
        ((EvidenceKind.BEHAVIOUR,), Verdict.NOT_PROBED, True, False),
        ((EvidenceKind.BEHAVIOUR,), Verdict.POOL, True, True),
        ((EvidenceKind.INTEL,), Verdict.NOT_POOL, True, False),
        ((EvidenceKind.INTEL, EvidenceKind.BEHAVIOUR), Verdict.NOT_POOL, True, False),
        ((EvidenceKind.INTEL,), Verdict.POOL, True, True),
    ],
)
def test_confirmation_table(
    kinds: tuple[EvidenceKind, ...], verdict: Verdict, kept: bool, probe_evidence: bool
) -> None:
    confirmer = Confirmer(_Answers(verdict))  # type: ignore[arg-type]
    done = confirmer.confirm([_finding(*kinds)])
    assert len(done.findings) == int(kept) and len(done.rejected) == int(not kept)
    if kept:
        [f] = done.findings
        assert (EvidenceKind.PROBE in {e.kind for e in f.evidence}) == probe_evidence
        assert (f.confidence > 0.9) == probe_evidence


def test_dissected_findings_are_not_probed() -> None:
    answers = _Answers(Verdict.NOT_POOL)
    done = Confirmer(answers).confirm([_finding(EvidenceKind.DISSECTOR)])  # type: ignore[arg-type]
    assert answers.asked == [] and len(done.findings) == 1


def test_one_probe_per_server_with_its_name_and_every_pool_must_refuse() -> None:
    named, bare, other = (
        Endpoint("203.0.113.9", 443, "pool.example"),
        Endpoint("203.0.113.9", 443),
        Endpoint("198.51.100.1", 3333),
    )
    base = _finding(EvidenceKind.BEHAVIOUR)
    one = dataclasses.replace(base, pools=(bare,))
    two = dataclasses.replace(base, host="10.0.0.6", pools=(named, other))
    answers = _Answers(Verdict.NOT_POOL)
    answers.verdicts = {"198.51.100.1": Verdict.NO_ANSWER}
    done = Confirmer(answers).confirm([one, two])  # type: ignore[arg-type]
    assert answers.asked == [Target("198.51.100.1", 3333), Target("203.0.113.9", 443, "pool.example")]
    assert [f.host for f in done.findings] == ["10.0.0.6"], "a pool that did not answer keeps the finding"
    assert [r.finding.host for r in done.rejected] == ["10.0.0.5"]


def _tls_capture(path: Path, port: int) -> Path:
    """A real scrypt miner's session, wrapped in TLS, to 127.0.0.1:`port`."""
    _, messages, _ = read_tables(REAL / "sv1_cpuminer_scrypt_t1.pcap", EngineOptions(workers=1))
    [conn] = messages_by_conn(messages)
    packets = tls_session(app_messages(conn), TlsVariant(rtt_s=0.0005, seed=3), server="127.0.0.1", port=port)
    with path.open("wb") as out:
        write_pcap(out, packets)
    return path


def _scan(path: Path, *extra: str) -> list[dict[str, object]]:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["scan", "--json", str(path), *extra]) == 0
    return [json.loads(x) for x in out.getvalue().splitlines()]


def test_scan_confirm_confirms_our_pool_and_rejects_an_https_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    confirm = ["--confirm", "--probe-private", "--probe-cache", str(tmp_path / "cache.jsonl")]
    with pool_thread(PoolSettings(tls=True, job_interval_s=3600)) as pool:
        capture = _tls_capture(tmp_path / "pool.pcap", pool.port)
        [plain] = _scan(capture)
        [confirmed] = _scan(capture, *confirm)
    assert [e["kind"] for e in plain["evidence"]] == ["behaviour"]  # type: ignore[index]
    kinds = [e["kind"] for e in confirmed["evidence"]]  # type: ignore[index]
    assert kinds[0] == "probe" and "behaviour" in kinds
    assert "stratum-v1" in confirmed["evidence"][0]["detail"]  # type: ignore[index]
    assert confirmed["confidence"] > 0.95 > plain["confidence"]  # type: ignore[operator]

    with https_server(self_signed(tmp_path)) as port:
        capture = _tls_capture(tmp_path / "https.pcap", port)
        assert [f["activity"] for f in _scan(capture)] == ["mining"]
        capsys.readouterr()
        assert _scan(capture, *confirm) == []
    assert f"rejected 10.1.0.2 (mining): 127.0.0.1:{port}" in capsys.readouterr().err


def test_detect_confirm_keeps_its_cache_in_the_store(tmp_path: Path) -> None:
    store = tmp_path / "store"
    with pool_thread(PoolSettings(tls=True, job_interval_s=3600)) as pool:
        port = pool.port
        capture = _tls_capture(tmp_path / "pool.pcap", port)
        assert main(["import", str(capture), "--store", str(store)]) == 0
        for _ in range(2):
            assert main(["detect", "--store", str(store), "--confirm", "--probe-private"]) == 0
        accepted = connects(pool)
    [result] = [json.loads(x) for x in (store / "probe-cache.jsonl").read_text().splitlines()]
    assert result["verdict"] == "pool" and result["port"] == port
    # The pool counts TLS sessions: one, as the second detect reused the cached result.
    assert accepted == 1 and result["transport"] == "tls-no-sni"


def test_cache_saves_targets_with_and_without_a_name(tmp_path: Path) -> None:
    cache = ProbeCache(tmp_path / "c.jsonl")
    for name in ("pool.example", None):
        cache.put(ProbeResult(Target("203.0.113.9", 443, name), Verdict.NOT_POOL, "said", datetime.now(UTC)))
    cache.save()
    again = ProbeCache(tmp_path / "c.jsonl")
    assert [again.get(Target("203.0.113.9", 443, n)) is not None for n in (None, "pool.example", "x")] == [
        True,
        True,
        False,
    ]


# -- hostile servers, names and files ------------------------------------------------------


def _hostile_server(answer: bytes) -> tuple[socket.socket, threading.Thread]:
    """A server that answers every connection with `answer`, then hangs up."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.05)
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(1.0)
                try:
                    conn.recv(4096)
                    conn.sendall(answer)
                except OSError:
                    pass

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.stop = stop  # type: ignore[attr-defined]
    return server, thread


@pytest.mark.parametrize(
    "answer",
    [b"[" * 5000 + b"\n", b'{"id":1,"result":' * 3000 + b"\n", b"\xff\xfe\x00" * 4000, b"\n" * 16000],
    ids=["nested-list", "nested-object", "binary", "blank-lines"],
)
def test_a_hostile_answer_costs_its_own_verdict_only(answer: bytes) -> None:
    server, thread = _hostile_server(answer)
    try:
        port = server.getsockname()[1]
        bad, name = Target("127.0.0.1", port, "x" * 70 + ".example"), Target("127.0.0.1", port, "a..b")
        results = _prober().probe([bad, name])
    finally:
        thread.stop.set()  # type: ignore[attr-defined]
        thread.join(5)
        server.close()
    assert [r.verdict for r in results] != [] and all(r.verdict != Verdict.POOL for r in results)


@pytest.mark.parametrize(
    ("ip", "refused"),
    [
        ("::ffff:10.0.0.1", "excluded"),  # IPv4 in IPv6 clothing is still the excluded address
        ("64:ff9b::a00:1", "excluded"),  # and so is its NAT64 form
        ("::ffff:8.8.8.8", None),
    ],
)
def test_exclusions_see_through_ipv6_forms_of_ipv4(ip: str, refused: str | None) -> None:
    policy = Policy(parse_exclusions(["10.0.0.0/8"]), allow_private=True)
    why = policy.refusal(ip)
    assert (why is None) if refused is None else (why is not None and refused in why)


@pytest.mark.parametrize("ip", ["100.64.0.1", "192.0.0.1", "2002:a00:1::1", "::ffff:192.168.1.1"])
def test_non_public_addresses_need_probe_private(ip: str) -> None:
    assert Policy().refusal(ip) is not None
    assert Policy(allow_private=True).refusal(ip) is None


def test_a_cache_file_with_bad_lines_keeps_the_good_ones(tmp_path: Path) -> None:
    good = ProbeResult(Target("203.0.113.9", 3333), Verdict.POOL, "a pool", datetime.now(UTC))
    naive = dict(good.to_json(), port=3334, measured="2026-11-27T00:00:00")
    path = tmp_path / "probe-cache.jsonl"
    lines = [
        b"[]",
        b"null",
        b"\xff\xfe not text",
        b"[" * 3000,
        json.dumps(naive).encode(),
        json.dumps(good.to_json()).encode(),
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    cache = ProbeCache(path)
    assert list(cache.results) == [good.target]
    assert cache.get(good.target) is not None and cache.get(Target("203.0.113.9", 3334)) is None
