"""The one exception tree of minewatch, and what each error means to the command line.

    MinewatchError                         exit  HTTP
    ├── InputError                            1        an input could not be read (the run
    │   │                                              goes on without it)
    │   ├── CaptureReadError                           a capture file or interface
    │   ├── IntelFileError                             an indicator list (with line number)
    │   ├── InventoryError                             an inventory or its fallback (ASN, RIR)
    │   ├── UnitsError                                 the unit tree's CSV
    │   ├── MeterFileError                             a meter series file as a whole
    │   ├── RegistryError                              the meter registry
    │   ├── ApkError                                   an APK that cannot be read (not a zip,
    │   │                                              not an APK, past a size bound)
    │   └── FindingFormatError                         a finding's JSON that does not read as
    │                                                  one (the field named)
    ├── UsageError                            2        the caller asked for something impossible
    │   └── OptionError                       2        a command-line value that does not parse
    ├── RefusedError                          3  409   understood, but not done now
    │   ├── WorkflowError                     3  409   a step the case workflow does not allow
    │   ├── Denied                            3  403   the person's role may not
    │   ├── NotFound                          3  404   nothing so named in the person's units
    │   ├── AccountError                      3  409   a user or token that cannot be made
    │   ├── SignInRefused                     3  401   wrong password, or the throttle holds
    │   ├── TipRefused                        3  429   too many tips from one address
    │   └── ServiceBusy                       3  503   the database stayed contended through
    │                                                  every retry of a push; try again
    ├── RemoteError                           4        a minewatch service refused or was not
    │                                                  reached (`push`)
    └── OutputError                           5        an output could not be written
        └── PdfError                          5        no PDF (HTML, JSON and CSV were written)

Exit 0 means the command did all it was asked. `EXIT_CODES` below is the only table from
error to exit status; the CLI (`minewatch.cli.main.main`) prints every error as one line
`minewatch: <source>: <reason>` and returns `exit_code(error)`. Anything else that escapes
is a bug and keeps its traceback.

Every error carries its `source` (a path, an option, a case, a URL) so one line can name it.
"""

from __future__ import annotations

import math
from datetime import timedelta

__all__ = [
    "EXIT_CODES",
    "EXIT_OK",
    "AccountError",
    "ApkError",
    "CaptureReadError",
    "Denied",
    "FindingFormatError",
    "InputError",
    "IntelFileError",
    "InventoryError",
    "MeterFileError",
    "MinewatchError",
    "NotFound",
    "OptionError",
    "OutputError",
    "PdfError",
    "RefusedError",
    "RegistryError",
    "RemoteError",
    "ServiceBusy",
    "SignInRefused",
    "TipRefused",
    "UnitsError",
    "UsageError",
    "WorkflowError",
    "exit_code",
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


class InventoryError(InputError):
    """An inventory file that cannot be used, with where and why."""


class UnitsError(InputError):
    """A units file that cannot be used, with where and why."""


class MeterFileError(InputError):
    """A meter file that cannot be used as a whole, with the file and why."""


class RegistryError(InputError):
    """A registry row that cannot be used, with file and row."""


class ApkError(InputError):
    """An APK (`apps check`) that cannot be read: `source` is the file, `reason` says what
    bound or structure failed (not a zip, no manifest, an entry that inflates too far)."""


class FindingFormatError(InputError):
    """A finding's JSON (a stored row, a pushed finding, a JSON Lines file) with a field
    that is missing or of the wrong kind; `source` names the field."""


class UsageError(MinewatchError):
    """A request that cannot be carried out as asked."""


class OptionError(UsageError):
    """A command-line value that does not parse: `cannot parse --quiet 'abc': expected days`."""

    def __init__(self, option: str, value: str, expected: str) -> None:
        super().__init__(option, f"cannot parse {value!r}: expected {expected}")
        self.args = (f"cannot parse {option} {value!r}: expected {expected}",)
        self.value = value
        self.expected = expected

    def __str__(self) -> str:
        return str(self.args[0])


class RefusedError(MinewatchError):
    """A request understood but not carried out: the rules, the role or the scope say no."""


class WorkflowError(RefusedError):
    """A step the workflow does not allow, with the case and why."""


class Denied(RefusedError):
    """The user's role does not allow the action."""


class NotFound(RefusedError):
    """No such thing in the user's subtree (whether it exists elsewhere is not said)."""


class AccountError(RefusedError):
    """A user or token that cannot be made, with why."""


class SignInRefused(RefusedError):
    """A sign-in refused: `wait` is how long the throttle holds it (zero: wrong password)."""

    def __init__(self, wait: timedelta) -> None:
        self.wait = wait
        reason = f"too many failed sign-ins: wait {self.retry_after} s" if wait else "wrong name or password"
        super().__init__("sign-in", reason)

    @property
    def retry_after(self) -> int:
        """Whole seconds to wait, rounded up (HTTP's Retry-After)."""
        return max(1, math.ceil(self.wait.total_seconds()))


class TipRefused(RefusedError):
    """Too many tips from one address."""


class ServiceBusy(RefusedError):
    """A write that kept meeting concurrent writers (a constraint, a serialization failure,
    a busy SQLite) through all its tries; nothing of it was stored."""


class RemoteError(MinewatchError):
    """A minewatch service that answered with an error, or could not be reached."""


class OutputError(MinewatchError):
    """An output that could not be written."""


class PdfError(OutputError):
    """The PDF could not be made; the reason is for the user."""

    def __init__(self, reason: str, source: str = "PDF") -> None:
        super().__init__(source, reason)


EXIT_OK = 0
# The one table from error to exit status, most specific first (the first match wins).
EXIT_CODES: tuple[tuple[type[MinewatchError], int], ...] = (
    (InputError, 1),
    (UsageError, 2),
    (RefusedError, 3),
    (RemoteError, 4),
    (OutputError, 5),
)


def exit_code(error: MinewatchError) -> int:
    """The exit status for `error` from `EXIT_CODES` (1 for a kind the table lacks)."""
    return next((code for kind, code in EXIT_CODES if isinstance(error, kind)), 1)
