"""Entry point for the servers that are Python libraries (websockets, hypercorn, grpcio):
`python -m corpus.serve PROGRAM --ip IP --port PORT --cert C --key K`, in the server namespace."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from pathlib import Path

from corpus.spec import Cell


def command(program: str, cell: Cell) -> tuple[str, ...]:
    """The argv that serves PROGRAM for CELL."""
    return (
        sys.executable,
        "-m",
        "corpus.serve",
        program,
        "--ip",
        cell.ip,
        "--port",
        str(cell.port),
        "--cert",
        str(cell.cert),
        "--key",
        str(cell.key),
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("program")
    ap.add_argument("--ip", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cert", type=Path, required=True)
    ap.add_argument("--key", type=Path, required=True)
    a = ap.parse_args()
    mod = importlib.import_module(f"corpus.programs.{a.program}")
    asyncio.run(mod.serve(a.ip, a.port, a.cert, a.key))


if __name__ == "__main__":
    main()
