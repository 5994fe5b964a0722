"""prosody (XMPP c2s, STARTTLS required on 5222) with slixmpp clients: presence, roster,
XEP-0199 pings at the session's keepalive, chat messages to the other users of the cell."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from corpus.programs import Program, ServerCommand
from corpus.spec import Cell, Session

DOMAIN = "xmpp.corpus.test"
USERS = 400  # accounts u0..u399; a slot's sessions log in as u<slot>
PASSWORD = "corpus-pw"


def _accounts(data: Path) -> None:
    # prosody's internal_plain store is one Lua file per account; writing them directly is
    # instant where `prosodyctl register` takes a second each.
    acc = data / DOMAIN.replace(".", "%2e") / "accounts"
    acc.mkdir(parents=True, exist_ok=True)
    for i in range(USERS):
        (acc / f"u{i}.dat").write_text(f'return {{\n\t["password"] = "{PASSWORD}";\n}};\n')


def server(cell: Cell) -> list[ServerCommand]:
    data = cell.dir / "prosody-data"
    _accounts(data)
    key = cell.dir / "xmpp.key"
    shutil.copy(cell.key, key)
    shutil.chown(key, "prosody")
    key.chmod(0o600)
    shutil.chown(data, "prosody")
    for p in data.rglob("*"):
        shutil.chown(p, "prosody")
    conf = cell.dir / "prosody.cfg.lua"
    conf.write_text(
        f"""pidfile = "{data}/prosody.pid"
data_path = "{data}"
daemonize = false
interfaces = {{ "{cell.ip}" }}
c2s_ports = {{ 5222 }}
s2s_ports = {{ }}
c2s_require_encryption = true
authentication = "internal_plain"
plugin_paths = {{ }}
modules_enabled = {{ "roster"; "saslauth"; "tls"; "disco"; "ping"; "presence"; "posix"; }}
modules_disabled = {{ "s2s"; "http"; }}
log = {{ info = "{data}/prosody.log"; }}
ssl = {{ certificate = "{cell.cert}"; key = "{key}"; }}
c2s_timeout = 600
VirtualHost "{DOMAIN}"
ssl = {{ certificate = "{cell.cert}"; key = "{key}"; }}
"""
    )
    conf.chmod(0o644)
    return [ServerCommand(("prosody", "--config", str(conf), "-F"), user="prosody")]


async def session(s: Session) -> None:
    import slixmpp

    xmpp = slixmpp.ClientXMPP(f"u{s.slot % USERS}@{DOMAIN}/r{s.index}", PASSWORD)
    xmpp.ca_certs = str(s.ca)  # type: ignore[assignment]  # a Path is taken for a list of them
    xmpp.register_plugin("xep_0030")
    xmpp.register_plugin("xep_0199", {"keepalive": True, "interval": s.keepalive(), "timeout": 30})
    started = asyncio.Event()

    def on_start(_event: object) -> None:
        xmpp.send_presence()
        xmpp.get_roster()
        started.set()

    xmpp.add_event_handler("session_start", on_start)
    xmpp.connect(host=s.host, port=s.port)
    await asyncio.wait_for(started.wait(), 30)
    async for _ in s.ticks():
        peer = f"u{s.rng.randrange(8)}@{DOMAIN}"  # the first slots are online in every cell
        xmpp.send_message(mto=slixmpp.JID(peer), mbody=s.text(5, 250), mtype="chat")
    xmpp.disconnect()
    await asyncio.sleep(0.5)


PROGRAM = Program("xmpp", DOMAIN, 5222, 5222, server, session)
