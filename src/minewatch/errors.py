"""The one exception tree of minewatch.

    MinewatchError
    ├── InputError            an input could not be read (the run goes on without it)
    │   ├── CaptureReadError  a capture file or interface
    │   ├── IntelFileError    an indicator list (with line number)
    │   └── FindingFormatError  a finding's JSON that does not read as one (field named)
    └── UsageError            the caller asked for something impossible

Every error carries its `source` (a path, an interface, a URL) so one line can name it.
"""

from __future__ import annotations

__all__ = [
    "CaptureReadError",
    "FindingFormatError",
    "InputError",
    "IntelFileError",
    "MinewatchError",
    "UsageError",
]


class MinewatchError(Exception):
    """Base of every error minewatch raises on purpose."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class InputError(MinewatchError):
    """An input that cannot be read; other inputs are still processed."""


class CaptureReadError(InputError):
    """A capture file or live interface that cannot be read."""


class IntelFileError(InputError):
    """An indicator list with a problem at a given line."""

    def __init__(self, source: str, reason: str, line: int | None = None) -> None:
        where = f"{source}:{line}" if line is not None else source
        super().__init__(where, reason)
        self.line = line


class FindingFormatError(InputError):
    """A finding's JSON (a stored row, a pushed finding, a JSON Lines file) with a field
    that is missing or of the wrong kind; `source` names the field."""


class UsageError(MinewatchError):
    """A request that cannot be carried out as asked."""
