"""What keeps long benign connections from being called mining: protocols the engine
names, a server name's standing, and the amount of evidence behind a score."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from minewatch.detect.behaviour import MIN_MESSAGES, NAMED, eligible
from minewatch.detect.standing import NameStanding, bundled_names, read_names
from minewatch.errors import IntelFileError
from minewatch.scan import ScanOptions, messages_by_conn
from minewatch.sources.base import EngineOptions
from minewatch.sources.pcap import read_tables
from minewatch.synth.packets import write_pcap
from minewatch.synth.variants import AppMessage, TlsVariant, app_messages, rate_variant, tls_session
from tests.conftest import REAL, SHARED, scan_json

NDPI = SHARED / "captures/ndpi/pcap"
ENGINE = EngineOptions(workers=1)


@pytest.mark.parametrize(
    ("capture", "name"),
    [
        ("ssh.pcap", "ssh"),
        ("mqtt.pcap", "mqtt"),
        ("imap.pcap", "imap"),
        ("jabber.pcap", "xmpp"),
        ("rdp.pcap", "rdp"),
        ("smtp.pcap", "smtp"),
        ("pop3.pcap", "pop3"),
    ],
)
def test_the_engine_names_long_lived_protocols(capture: str, name: str) -> None:
    flows, _, _ = read_tables(NDPI / capture, ENGINE)
    tcp = flows.filter(pc.equal(flows["ip_proto"], 6))
    names = Counter(tcp["application"].to_pylist())
    assert names[name] >= 1, names
    assert name in NAMED
    named = tcp.filter(pc.equal(tcp["application"], name))
    assert not any(eligible(named).to_pylist()), "a named protocol is not judged by timing"


def _tls_miner(tmp_path: Path, sni: str | None, messages: int | None = None) -> Path:
    _, table, _ = read_tables(REAL / "sv1_cpuminer_scrypt_t1.pcap", ENGINE)
    [conn] = messages_by_conn(table)
    session: list[AppMessage] = app_messages(conn)[: messages or None]
    path = tmp_path / f"tls-{sni}-{messages}.pcap"
    with path.open("wb") as out:
        write_pcap(out, tls_session(session, TlsVariant(rtt_s=0.04, seed=5, sni=sni)))
    return path


def _mining(path: Path, options: ScanOptions | None = None) -> list[dict[str, object]]:
    return [f for f in scan_json(path, options=options) if f["activity"] == "mining"]


def test_a_server_name_of_standing_weighs_against_timing(tmp_path: Path) -> None:
    assert _mining(_tls_miner(tmp_path, "pool.example.net")), "the TLS miner is found by its timing"
    assert not _mining(_tls_miner(tmp_path, "mtalk.google.com")), "a push service's name has standing"
    allowed = tmp_path / "allowed.csv"
    allowed.write_text("1,google.com\n2,example.net\n")  # Tranco's format
    options = ScanOptions(standing=NameStanding().with_names(read_names(allowed)))
    assert not _mining(_tls_miner(tmp_path, "pool.example.net"), options), "a name the user allows"


def test_no_verdict_from_a_handful_of_messages(tmp_path: Path) -> None:
    # The opening exchange and a few shares: too little to judge, however it moves.
    flows, _, _ = read_tables(_tls_miner(tmp_path, None, messages=2 * MIN_MESSAGES), ENGINE)
    assert flows["c2s_bursts"][0].as_py() < MIN_MESSAGES + 2
    assert eligible(flows).to_pylist() == [False]


def test_standing_matches_a_name_and_the_names_below_it() -> None:
    standing = NameStanding(frozenset({"discord.gg", "qq.com"}))
    assert standing.known("gateway.discord.gg") and standing.known("discord.gg.")
    assert standing.known("WEIXIN.QQ.COM")
    assert not standing.known("notdiscord.gg") and not standing.known("discord.gg.evil.example")
    assert not standing.known(None) and not standing.known("")
    # Hosting domains where anyone can have a name are left out of the bundled list.
    bundled = NameStanding()
    assert bundled.known("mtalk.google.com") and bundled.known("gateway.discord.gg")
    assert not {"amazonaws.com", "cloudfront.net", "herokuapp.com"} & bundled_names()


def test_a_bad_name_list_names_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "names.txt"
    bad.write_text("# ours\nexample.org\nnot a name\n")
    with pytest.raises(IntelFileError, match=r"names.txt:3.*not a domain name"):
        read_names(bad)


@pytest.mark.parametrize("factor", [1, 10, 100, 300])
def test_flow_records_of_busy_rigs_and_proxies_are_found(tmp_path: Path, factor: int) -> None:
    """A real session as one rig's and as a proxy's for up to 300 rigs (the shares and
    their answers repeated; the pool's job pushes as they were), inside TLS to a pool
    port, seen only as flow records: the flow model finds it at every rate."""
    from minewatch.detect.behaviour import FLOW, load_model

    _, table, _ = read_tables(REAL / "sv1_cpuminer_sha256d_t1.pcap", ENGINE)
    [conn] = messages_by_conn(table)
    session = rate_variant(app_messages(conn), factor, seed=factor)
    path = tmp_path / "proxy.pcap"
    with path.open("wb") as out:
        write_pcap(out, tls_session(session, TlsVariant(rtt_s=0.04, seed=factor), port=3333))
    flows, _, _ = read_tables(path, ENGINE)
    export = flows
    for name in ("c2s_bursts", "s2c_bursts", "application"):
        i = export.schema.get_field_index(name)
        export = export.set_column(i, name, pa.nulls(len(export), export.schema.field(name).type))
    judged = export.filter(FLOW.eligible(export))
    assert judged.num_rows == 1
    minutes = (flows["last_seen"][0].value - flows["first_seen"][0].value) / 60e6
    per_minute = (judged["c2s_packets"][0].as_py() + judged["s2c_packets"][0].as_py()) / minutes
    assert per_minute > 10 * factor
    model = load_model("flow")
    assert model.score(FLOW.matrix(judged))[0] >= model.threshold, f"{per_minute:.0f} packets/min"
