"""One module per program: how to start its real server in a cell, and one client session.

Each module defines `PROGRAM`. Client libraries are imported inside the session functions, so
the orchestrator (which only starts servers) does not load them."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from corpus.spec import Cell, Session

__all__ = ["NAMES", "Program", "ServerCommand", "program"]


@dataclass(frozen=True)
class ServerCommand:
    """A server process to run in the server namespace (as USER when not root)."""

    argv: tuple[str, ...]
    user: str = ""


@dataclass(frozen=True)
class Program:
    name: str
    host: str  # the name clients connect to (and send as SNI)
    port_plain: int
    port_tls: int
    server: Callable[[Cell], list[ServerCommand]]
    session: Callable[[Session], Awaitable[None]]

    def port(self, tls: bool) -> int:
        return self.port_tls if tls else self.port_plain


NAMES = ("mqtt", "xmpp", "imap", "ssh", "redis", "postgres", "websocket", "h2poll", "grpc")


def program(name: str) -> Program:
    """The program module NAME's PROGRAM."""
    if name not in NAMES:
        raise KeyError(name)
    mod = importlib.import_module(f"corpus.programs.{name}")
    return mod.PROGRAM  # type: ignore[no-any-return]
