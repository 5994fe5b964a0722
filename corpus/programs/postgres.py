"""PostgreSQL over TLS with LISTEN/NOTIFY (psycopg): a listener holds its connection open with
TCP keepalives; a notifier connection of the same app sends NOTIFY at the session's times."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
from pathlib import Path

from corpus.programs import Program, ServerCommand
from corpus.spec import Cell, Session


def _bin() -> str:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    if not found:
        raise FileNotFoundError("PostgreSQL is not installed (scripts/setup installs it)")
    return str(found[-1])


def server(cell: Cell) -> list[ServerCommand]:
    data = cell.dir / "pgdata"
    shutil.chown(cell.dir, "postgres")
    subprocess.run(
        [
            "runuser",
            "-u",
            "postgres",
            "--",
            f"{_bin()}/initdb",
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ],
        check=True,
        capture_output=True,
    )
    # Trust is safe: the server exists only inside this cell's namespaces, for one run.
    (data / "pg_hba.conf").write_text("hostssl all all 10.98.0.0/16 trust\nhost all all 10.98.0.0/16 trust\n")
    for name, src in (("server.crt", cell.cert), ("server.key", cell.key)):
        shutil.copy(src, data / name)
        shutil.chown(data / name, "postgres")
        (data / name).chmod(0o600)
    return [
        ServerCommand(
            (
                f"{_bin()}/postgres",
                "-D",
                str(data),
                "-c",
                f"listen_addresses={cell.ip}",
                "-c",
                "port=5432",
                "-c",
                "ssl=on",
                "-c",
                "ssl_cert_file=server.crt",
                "-c",
                "ssl_key_file=server.key",
                "-c",
                f"unix_socket_directories={cell.dir}",
                "-c",
                "max_connections=400",
                "-c",
                "fsync=off",
                "-c",
                "shared_buffers=16MB",
                "-c",
                "log_min_messages=error",
            ),
            user="postgres",
        )
    ]


async def session(s: Session) -> None:
    import psycopg

    ka = int(s.keepalive())
    dsn = (
        f"host={s.host} port={s.port} user=postgres dbname=postgres sslmode=verify-full "
        f"sslrootcert={s.ca} keepalives=1 keepalives_idle={ka} keepalives_interval=10 "
        f"application_name=corpus-{s.slot}"
    )
    channel = f"jobs_{s.slot}"
    listener = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
    notifier = None
    try:
        await listener.execute(f"LISTEN {channel}")

        async def receive() -> None:
            async for _ in listener.notifies():
                pass

        task = asyncio.create_task(receive())
        if s.setting.pattern.value != "idle":
            notifier = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
        async for _ in s.ticks():
            assert notifier is not None
            await notifier.execute("SELECT pg_notify(%s, %s)", (channel, s.text(10, 300)))
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, psycopg.Error):
            await task
    finally:
        await listener.close()
        if notifier is not None:
            await notifier.close()


PROGRAM = Program("postgres", "postgres.corpus.test", 5432, 5432, server, session)
