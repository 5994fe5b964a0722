"""dovecot (IMAPS 993) with imapclient: a client selects INBOX and sits in IDLE, renewing it
at the keepalive (RFC 2177 asks for < 29 min; phones use 5-28); new mail lands in the
Maildir at random times, as a delivery agent would put it there, and IDLE reports it."""

from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from pathlib import Path

from corpus.programs import Program, ServerCommand
from corpus.spec import Cell, Session

PASSWORD = "corpus-pw"


def server(cell: Cell) -> list[ServerCommand]:
    home = cell.dir / "mail"
    home.mkdir(exist_ok=True)
    shutil.chown(home, "dovecot", "dovecot")
    run = cell.dir / "dovecot-run"
    run.mkdir(exist_ok=True)
    conf = cell.dir / "dovecot.conf"
    conf.write_text(
        f"""protocols = imap
listen = {cell.ip}
base_dir = {run}
instance_name = corpus{cell.ip.replace(".", "")}
state_dir = {run}/state
log_path = {cell.dir}/dovecot.log
ssl = required
ssl_cert = <{cell.cert}
ssl_key = <{cell.key}
disable_plaintext_auth = no
auth_mechanisms = plain
default_process_limit = 300
default_client_limit = 1000
mail_location = maildir:~/Maildir
imap_idle_notify_interval = 2 mins
first_valid_uid = 1
passdb {{
  driver = static
  args = password={PASSWORD}
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={home}/%u
}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = 993
    ssl = yes
  }}
  process_min_avail = 2
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""
    )
    return [ServerCommand(("dovecot", "-F", "-c", str(conf)))]


def _deliver(maildir: Path, s: Session) -> None:
    new = maildir / "new"
    body = s.text(200, 4000)
    msg = f"From: a{s.rng.randrange(99)}@corpus.test\r\nTo: u{s.slot}@corpus.test\r\n"
    msg_id = uuid.UUID(int=s.rng.getrandbits(128))
    msg += f"Subject: {s.text(5, 40)}\r\nMessage-ID: <{msg_id}@corpus.test>\r\n\r\n"
    tmp = maildir / "tmp" / f"{time.time():.6f}.{s.slot}.{s.rng.getrandbits(32)}"
    tmp.write_text(msg + body + "\r\n")
    shutil.chown(tmp, "dovecot", "dovecot")
    tmp.rename(new / tmp.name)


def _run(s: Session) -> None:
    from imapclient import IMAPClient

    user = f"u{s.slot}"
    maildir = s.dir / "mail" / user / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
        shutil.chown(maildir / sub, "dovecot", "dovecot")
    for p in (maildir, maildir.parent):
        shutil.chown(p, "dovecot", "dovecot")
    c = IMAPClient(s.host, port=s.port, ssl=True, ssl_context=s.tls_context(), timeout=60)
    c.login(user, PASSWORD)
    c.select_folder("INBOX")
    renew = s.keepalive()
    arrivals = iter(s.gaps())
    start = time.monotonic()
    next_mail = start + next(arrivals, 1e9)
    end = start + s.duration
    while (now := time.monotonic()) < end:
        c.idle()
        idle_until = min(end, now + renew)
        while (now := time.monotonic()) < idle_until:
            if now >= next_mail:
                _deliver(maildir, s)
                next_mail = now + next(arrivals, 1e9)
            wait = max(0.1, min(idle_until, next_mail) - now)
            if c.idle_check(timeout=wait):
                break  # new mail: leave IDLE and read it, as a mail app does
        c.idle_done()
        unseen = c.search(["UNSEEN"])
        if unseen:
            c.fetch(unseen, ["ENVELOPE", "BODY.PEEK[]"])
            c.add_flags(unseen, [b"\\Seen"])
        else:
            c.noop()
    c.logout()


async def session(s: Session) -> None:
    await asyncio.to_thread(_run, s)


PROGRAM = Program("imap", "imap.corpus.test", 143, 993, server, session)
