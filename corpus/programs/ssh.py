"""OpenSSH: sshd in the server namespace, `ssh` clients with ServerAliveInterval. Sessions
are an idle shell, a person typing commands at human speed, or a `top`-like loop printing
every few seconds. The remote commands are harmless (date, uptime, echo, ls /)."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from pathlib import Path

from corpus.programs import Program, ServerCommand
from corpus.spec import Cell, Session

COMMANDS = ("date", "uptime", "pwd", "ls /", "echo done", "cat /proc/loadavg", "whoami", "ls /usr")


def server(cell: Cell) -> list[ServerCommand]:
    # sshd's privilege-separation chroot; Debian's package makes it at boot, not at install.
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    keys = cell.dir / "ssh"
    keys.mkdir(exist_ok=True)
    hostkey, userkey = keys / "host_ed25519", keys / "id_ed25519"
    for k in (hostkey, userkey):
        if not k.exists():
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(k)], check=True)
    (keys / "authorized_keys").write_text(userkey.with_suffix(".pub").read_text())
    conf = keys / "sshd_config"
    conf.write_text(
        f"""ListenAddress {cell.ip}:22
HostKey {hostkey}
PidFile {keys}/sshd.pid
AuthorizedKeysFile {keys}/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PrintMotd no
MaxStartups 200
MaxSessions 50
ClientAliveInterval 0
"""
    )
    return [ServerCommand(("/usr/sbin/sshd", "-D", "-e", "-f", str(conf)))]


def _keystrokes(s: Session, line: str) -> list[tuple[float, bytes]]:
    """(delay, byte) pairs: 80-250 ms between keys, a longer think before Enter."""
    out = [(s.rng.uniform(0.08, 0.25), ch.encode()) for ch in line]
    return [*out, (s.rng.uniform(0.2, 0.8), b"\n")]


async def session(s: Session) -> None:
    key = s.dir / "ssh" / "id_ed25519"
    remote = "bash --noprofile --norc -i"
    if s.setting.role == "top":
        period = max(1.0, s.setting.mean_s)
        remote = (
            f"while sleep {period:.1f}; do clear; date; cat /proc/loadavg; ps -eo pid,comm | head -25; done"
        )
    argv = [
        "ssh",
        "-tt",
        "-i",
        str(key),
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "BatchMode=yes",
        "-o",
        f"ServerAliveInterval={int(s.keepalive())}",
        "-o",
        "LogLevel=ERROR",
        "-p",
        str(s.port),
        f"root@{s.host}",
        remote,
    ]
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert proc.stdin is not None
    try:
        if s.setting.role == "typing":
            async for _ in s.ticks():
                for delay, key_ in _keystrokes(s, s.rng.choice(COMMANDS)):
                    await asyncio.sleep(delay)
                    proc.stdin.write(key_)
                    await proc.stdin.drain()
        else:
            await asyncio.sleep(s.duration)
        with contextlib.suppress(ConnectionError):
            proc.stdin.write(b"exit\n" if s.setting.role != "top" else b"\x03")
            await proc.stdin.drain()
        await asyncio.wait_for(proc.wait(), 5)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


PROGRAM = Program("ssh", "ssh.corpus.test", 22, 22, server, session)
