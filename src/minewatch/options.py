"""Options declared once: name, kind (parser and what it expects), default and help.

The command line's flags (`Opt.flag()`), the library's defaults (`EngineOptions`,
`CollectOptions`, the service's `ServiceSettings`) and the settings handed to worker
processes (`to_text`/`from_text`) all come from these declarations, so a default or a unit
is changed in one place. A value that does not parse raises `OptionError`, which reads
`cannot parse --quiet 'abc': expected days` (after mitmproxy's options).

Only the standard library is imported here: the engine and the service import this module
too, and the command-line machinery (click, Typer) is loaded only by `flag()`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from minewatch.errors import OptionError
from minewatch.model.sampling import MAX_RATE

if TYPE_CHECKING:
    from typer.models import OptionInfo

__all__ = [
    "ACTIVE_TIMEOUT",
    "DEADLINE",
    "IDLE_TIMEOUT",
    "LIVE_DURATION",
    "PROBE_CONCURRENCY",
    "PROBE_INTERVAL",
    "PROBE_MAX",
    "PROBE_RATE",
    "PROBE_TIMEOUT",
    "PROBE_TTL",
    "QUIET",
    "SECURE_COOKIES",
    "SERVICE",
    "SINCE",
    "TIMEZONE",
    "TIPS_PER_10MIN",
    "UNTIL",
    "WINDOW",
    "WORKERS",
    "Kind",
    "Opt",
    "duration_s",
    "from_text",
    "to_text",
]

T = TypeVar("T")
K = TypeVar("K", covariant=True)

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?|\.\d+)\s*([smhd]?)\s*", re.IGNORECASE)


def duration_s(text: str, unit: str = "s") -> float:
    """Seconds in `text`: a number in `unit` (s, m, h or d), or one with its own unit
    (90m, 24h, 7d). Raises ValueError."""
    m = _DURATION.fullmatch(text)
    if m is None:
        raise ValueError(text)
    return float(m.group(1)) * _UNITS[(m.group(2) or unit).lower()]


@dataclass(frozen=True)
class Kind(Generic[K]):
    """A kind of value: how text becomes one (raising ValueError), what the text should
    look like (for the message), and how one is written back as text."""

    expects: str
    parse: Callable[[str], K]
    show: Callable[[Any], str] = str


def _positive_seconds(text: str) -> float:
    value = duration_s(text)
    if not value > 0:
        raise ValueError(text)
    return value


def _days(text: str) -> timedelta:
    return timedelta(seconds=duration_s(text, "d"))


def _ago(text: str) -> datetime:
    """An RFC 3339 / ISO time (UTC if it names no zone), or an age before now (24h, 7d)."""
    if _DURATION.fullmatch(text) and text.strip()[-1:].isalpha():
        return datetime.now(UTC) - timedelta(seconds=duration_s(text))
    t = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _ahead(text: str) -> datetime:
    """A time, or a delay after now (7d, 36h; a bare number is days)."""
    if _DURATION.fullmatch(text):
        return datetime.now(UTC) + timedelta(seconds=duration_s(text, "d"))
    return _ago(text)


def _zone(text: str) -> str:
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(text) from None
    return text


def _flag(text: str) -> bool:
    if text.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if text.strip().lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(text)


def whole(low: int, high: int) -> Kind[int]:
    """A whole number in [low, high]."""

    def parse(text: str) -> int:
        value = int(text)
        if not low <= value <= high:
            raise ValueError(text)
        return value

    return Kind(f"a whole number from {low} to {high}", parse)


def number(low: float, high: float, unit: str) -> Kind[float]:
    """A number in [low, high], in `unit`."""

    def parse(text: str) -> float:
        value = float(text)
        if not low <= value <= high:
            raise ValueError(text)
        return value

    return Kind(f"{unit} from {low:g} to {high:g}", parse)


def choice(*values: str) -> Kind[str]:
    """One of `values`, as written."""

    def parse(text: str) -> str:
        if text not in values:
            raise ValueError(text)
        return text

    return Kind("one of " + ", ".join(values), parse)


SECONDS = Kind("seconds", _positive_seconds, lambda v: f"{v:g}")
DAYS = Kind("days", _days, lambda v: f"{v.total_seconds() / 86400:g}")
TIME = Kind("a time (2026-11-24T18:00Z) or an age (24h, 7d)", _ago, datetime.isoformat)
LATER = Kind("a time (2026-11-24T18:00Z) or a delay (7d, 36h)", _ahead, datetime.isoformat)
ZONE = Kind("a time zone such as Asia/Shanghai", _zone)
FLAG = Kind("yes or no", _flag, lambda v: "yes" if v else "no")


@dataclass(frozen=True)
class Opt(Generic[T]):
    """One option: its flag (`--quiet`), kind, default and help."""

    flag_name: str
    kind: Kind[T]
    default: T
    help: str

    @property
    def name(self) -> str:
        """The Python name: `--tips-per-10min` -> `tips_per_10min`."""
        return self.flag_name.lstrip("-").replace("-", "_")

    def parse(self, text: str, flag: str | None = None) -> T:
        """The value of `text`, or OptionError naming `flag` (default: this option's)."""
        if not isinstance(text, str):  # a default, already a value
            return text
        try:
            return self.kind.parse(text)
        except (ValueError, OverflowError):
            raise OptionError(flag or self.flag_name, text, self.kind.expects) from None

    def flag(self, *other_names: str, **extra: Any) -> OptionInfo:
        """The Typer option: `value: Annotated[float, IDLE_TIMEOUT.flag()] = IDLE_TIMEOUT.default`."""
        import typer

        if self.kind is FLAG:  # a switch: present or not
            info: OptionInfo = typer.Option(self.flag_name, *other_names, help=self.help, **extra)
            return info
        shown = False if self.default is None else self.kind.show(self.default)
        info = typer.Option(
            self.flag_name, *other_names, parser=self.parse, help=self.help, show_default=shown, **extra
        )
        return info


IDLE_TIMEOUT = Opt("--idle-timeout", SECONDS, 300.0, "Seconds before an idle flow ends.")
ACTIVE_TIMEOUT = Opt("--active-timeout", SECONDS, 3600.0, "Seconds before a long flow is cut.")
LIVE_DURATION = Opt("--duration", SECONDS, 60.0, "Seconds to capture live.")
WINDOW = Opt("--window", SECONDS, 60.0, "Seconds of evidence fused into one finding.")
SINCE: Opt[datetime | None] = Opt("--since", TIME, None, "From this time or age (24h, 7d).")
UNTIL: Opt[datetime | None] = Opt("--until", TIME, None, "Up to this time or age.")
ENGINE = Opt(
    "--engine",
    choice("duckdb", "spark"),
    "duckdb",
    "Where detection over the store runs: DuckDB in this process, or Apache Spark (--master).",
)
DEADLINE: Opt[datetime | None] = Opt(
    "--deadline", LATER, None, "For rectification: a time, or a delay such as 7d."
)

# The service's settings: `minewatch serve` flags, `ServiceSettings` defaults, and what
# worker processes receive.
QUIET = Opt("--quiet", DAYS, timedelta(days=7), "Days a host must be quiet to close as stopped.")
TIMEZONE = Opt("--timezone", ZONE, "Asia/Shanghai", "The offices' time zone, for pages and deadlines.")
TIPS_PER_10MIN = Opt("--tips-per-10min", whole(1, 10_000), 5, "Tips one address may send in 10 minutes.")
SECURE_COOKIES = Opt("--secure-cookies", FLAG, False, "Mark cookies Secure (behind a TLS proxy).")
WORKERS = Opt(
    "--workers",
    whole(1, 64),
    1,
    "Processes; with more than one, run `minewatch cases tick` from cron (sign-in and tip "
    "limits then count per process).",
)
SERVICE: tuple[Opt[Any], ...] = (QUIET, TIMEZONE, TIPS_PER_10MIN, SECURE_COOKIES)

# Active confirmation (`minewatch probe`, `--confirm`): how hard it may push.
PROBE_RATE = Opt(
    "--probe-rate", number(0.01, 1000, "connections per second"), 2.0, "Probe connections per second, in all."
)
PROBE_CONCURRENCY = Opt("--probe-concurrency", whole(1, 256), 8, "Servers probed at once.")
PROBE_INTERVAL = Opt("--probe-interval", SECONDS, 600.0, "Seconds between two probes of one server.")
PROBE_TIMEOUT = Opt("--probe-timeout", SECONDS, 5.0, "Seconds to connect, and to wait for an answer.")
PROBE_TTL = Opt("--probe-ttl", SECONDS, 86400.0, "Seconds a probe's result is reused.")
SAMPLING_RATE = Opt(
    "--sampling-rate",
    whole(1, MAX_RATE),
    1,
    "N for routers that sample 1 in N packets without saying so: their packets and bytes are "
    "scaled by N, as nfcapd's -s N. collect: exporters with no v5 header interval and no "
    "v9/IPFIX sampler options (yet). scan and import: flow logs without a rate (nfdump files, "
    "CSV/Parquet without sampling_rate or with empty cells; not Zeek); not for nfcapd files "
    "nfcapd already scaled.",
)
PROBE_MAX = Opt("--probe-max", whole(1, 1_000_000), 256, "Servers probed at most per run (or window).")


def to_text(options: tuple[Opt[Any], ...], values: Mapping[str, Any]) -> dict[str, str]:
    """`values` (by option name) as the text each option parses, for another process."""
    return {o.name: o.kind.show(values[o.name]) for o in options if o.name in values}


def from_text(options: tuple[Opt[Any], ...], given: Mapping[str, str]) -> dict[str, Any]:
    """The values of `given` (text by option name), defaults for the rest."""
    return {o.name: o.parse(given[o.name]) if o.name in given else o.default for o in options}
