"""Bad invocations of every command: each gives one line on stderr naming the option or the
file and what was expected, the exit status of `minewatch.errors.EXIT_CODES`, and never a
traceback. Also: the options' text round trip and the case service's one vocabulary."""

from __future__ import annotations

import typing
from datetime import timedelta
from pathlib import Path

import pytest

from minewatch.cases.service import ACTIONS, ALIASES, action_name
from minewatch.cli.main import main
from minewatch.errors import EXIT_CODES, InputError, MinewatchError, OptionError, UsageError, exit_code
from minewatch.options import QUIET, SERVICE, TIMEZONE, TIPS_PER_10MIN, from_text, to_text
from minewatch.web.schemas import ActionIn
from tests.conftest import REAL

CAPTURE = REAL / "xmr_xmrig_rx0_tcp_t1.pcap"

# (command line, exit status, what the one line says). {store} is an empty store,
# {nostore} a folder that does not exist, {missing} a file that does not exist.
BAD = [
    # durations
    ("cases tick --store {store} --quiet abc", 2, "cannot parse --quiet 'abc': expected days"),
    ("serve --store {store} --quiet forever", 2, "cannot parse --quiet 'forever': expected days"),
    ("scan {capture} --idle-timeout abc", 2, "cannot parse --idle-timeout 'abc': expected seconds"),
    ("scan {capture} --active-timeout 0", 2, "cannot parse --active-timeout '0': expected seconds"),
    ("scan -i lo --duration 1y", 2, "cannot parse --duration '1y': expected seconds"),
    ("generate {tmp}/g.pcap --duration 10x", 2, "cannot parse --duration '10x': expected seconds"),
    ("collect --store {store} --window never", 2, "cannot parse --window 'never': expected seconds"),
    ("collect --store {store} --duration -1", 2, "cannot parse --duration '-1': expected seconds"),
    # dates
    ("cases sync --store {store} --since yesterday", 2, "cannot parse --since 'yesterday': expected a time"),
    ("detect --store {store} --until 2026-13-45", 2, "cannot parse --until '2026-13-45': expected a time"),
    ("findings --store {store} --since 7x", 2, "cannot parse --since '7x'"),
    ("report --store {store} --out {tmp}/r --until noon", 2, "cannot parse --until 'noon'"),
    ("meters detect --store {store} --since later", 2, "cannot parse --since 'later'"),
    ("push --store {store} --to http://127.0.0.1:9 --since soon", 2, "cannot parse --since 'soon'"),
    ("cases step 1 rectify --store {store} --actor a --deadline soon", 2, "cannot parse --deadline 'soon'"),
    # numbers and words
    ("serve --store {store} --tips-per-10min 0", 2, "cannot parse --tips-per-10min '0': expected a whole"),
    ("serve --store {store} --workers many", 2, "cannot parse --workers 'many'"),
    (
        "serve --store {store} --timezone Mars/Base",
        2,
        "cannot parse --timezone 'Mars/Base': expected a time zone",
    ),
    ("serve --store {store} --port 70000", 2, "cannot parse --port '70000'"),
    ("generate {tmp}/g.pcap --size big", 2, "cannot parse --size 'big': expected a size"),
    ("generate {tmp}/g.pcap --hosts many", 2, "cannot parse --hosts 'many'"),
    ("scan {capture} --home-net 10.0.0.300/8", 2, "cannot parse --home-net '10.0.0.300/8'"),
    ("scan {capture} --threads 0", 2, "cannot parse --threads '0'"),
    ("scan {capture} --grid-factor 3", 2, "cannot parse --grid-factor '3': expected kg CO2"),
    ("collect --store {store} --listen nowhere", 2, "cannot parse --listen 'nowhere': expected HOST:PORT"),
    ("import {missing} --store {store} --map bad", 2, "cannot parse --map 'bad': expected OURS=THEIRS"),
    ("report --store {store} --out {tmp}/r --lang fr", 2, "cannot parse --lang 'fr': expected one of"),
    ("cases list --store {store} --status pending", 2, "cannot parse --status 'pending'"),
    ("cases list --store {store} --limit 0", 2, "cannot parse --limit '0'"),
    ("cases list --store {store} --db nosuch://x", 2, "cannot parse --db 'nosuch://x'"),
    ("cases list --store {store} --db ://", 2, "cannot parse --db '://'"),
    ("cases step abc triage --store {store} --actor a", 2, "cannot parse CASE_ID 'abc'"),
    ("cases step 1 frobnicate --store {store} --actor a", 2, "'frobnicate': not an action"),
    ("cases step 1 close --store {store} --actor a --verdict maybe", 2, "cannot parse --verdict 'maybe'"),
    ("users add ann --unit 320000 --role boss --store {store}", 2, "cannot parse --role 'boss'"),
    ("meters detect --store {store} --top 0", 2, "cannot parse --top '0'"),
    ("meters detect --store {store} --utc-offset east", 2, "cannot parse --utc-offset 'east'"),
    ("intel update --timeout soon", 2, "cannot parse --timeout 'soon': expected seconds"),
    # usage
    ("scan", 2, "give capture paths or --interface"),
    ("scan --bogus", 2, "No such option: --bogus"),
    ("cases step --store {store}", 2, "Missing argument"),
    ("frobnicate", 2, "No such command"),
    ("users add ann --unit 999999 --store {store}", 2, "--unit 999999: no such unit"),
    ("tokens add s1 --unit 999999 --store {store}", 2, "--unit 999999: no such unit"),
    ("push --store {store} --to http://127.0.0.1:9", 2, "no token"),
    ("meters detect --store {store}", 2, "no meter series"),
    # missing store
    ("cases list --store {nostore}", 2, "no such store directory"),
    ("cases sync --store {nostore}", 2, "no such store directory"),
    ("cases tick --store {nostore}", 2, "no such store directory"),
    ("cases export --store {nostore} --out {tmp}/lists", 2, "no such store directory"),
    ("detect --store {nostore}", 2, "no such store directory"),
    ("findings --store {nostore}", 2, "no such store directory"),
    ("report --store {nostore} --out {tmp}/r", 2, "no such store directory"),
    ("push --store {nostore} --to http://127.0.0.1:9 --token-file {token}", 2, "no such store directory"),
    # missing files: the input cannot be read
    ("scan {missing}", 1, "no such file"),
    ("import {missing} --store {store}", 1, "no such file"),
    ("cases units {missing} --store {store}", 1, "no such file"),
    ("inventory import {missing} --store {store}", 1, "missing.csv"),
    ("meters registry {missing} --store {store}", 1, "no such file"),
    ("meters import {missing} --store {store}", 1, "missing.csv"),
    ("push --store {store} --to http://127.0.0.1:9 --token-file {missing}", 1, "no such file"),
    # refused: understood, but not so
    ("cases step 99 triage --store {store} --actor a", 3, "case 99: no such case"),
    ("cases show 5 --store {store}", 3, "case 5: no such case"),
    ("cases sync --store {store}", 1, "no units yet"),
]


@pytest.mark.parametrize(("line", "status", "says"), BAD, ids=[b[0] for b in BAD])
def test_bad_invocation(
    line: str, status: int, says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "store").mkdir()
    (tmp_path / "token").write_text("not-a-token\n")
    places = {
        "store": tmp_path / "store",
        "nostore": tmp_path / "nostore",
        "missing": tmp_path / "missing.csv",
        "tmp": tmp_path,
        "token": tmp_path / "token",
        "capture": CAPTURE,
    }
    argv = [word.format(**places) for word in line.split()]
    assert main(argv) == status
    out, err = capsys.readouterr()
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert "Traceback" not in err + out
    assert lines and lines[0].startswith("minewatch: ") and says in lines[0], err
    if status != 1:  # an unreadable input is named and the run goes on; everything else stops
        assert len(lines) == 1, err


def test_no_arguments_show_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert main(["cases"]) == 2
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (InputError("x.pcap", "truncated"), 1),
        (UsageError("scan", "no paths"), 2),
        (OptionError("--quiet", "abc", "days"), 2),
    ],
)
def test_exit_code_table(error: MinewatchError, status: int) -> None:
    assert exit_code(error) == status
    assert len({code for _, code in EXIT_CODES}) == len(EXIT_CODES), "one status per kind"


def test_option_error_reads_as_one_line() -> None:
    assert str(OptionError("--quiet", "abc", "days")) == "cannot parse --quiet 'abc': expected days"


@pytest.mark.parametrize(
    ("values"),
    [
        {},
        {"quiet": timedelta(hours=36), "timezone": "Europe/Berlin", "tips_per_10min": 50},
        {"quiet": timedelta(0), "secure_cookies": True},
    ],
)
def test_service_settings_go_to_workers_as_text(values: dict[str, object]) -> None:
    back = from_text(SERVICE, to_text(SERVICE, values))
    assert back == {o.name: values.get(o.name, o.default) for o in SERVICE}


@pytest.mark.parametrize(
    ("opt", "text", "value"),
    [(QUIET, "7", timedelta(days=7)), (QUIET, "12h", timedelta(hours=12)), (TIPS_PER_10MIN, "3", 3)]
    + [(TIMEZONE, "UTC", "UTC")],
)
def test_declared_option_parses(opt: typing.Any, text: str, value: object) -> None:
    assert opt.parse(text) == value


@pytest.mark.parametrize(
    ("word", "action"),
    [("triage", "triage"), ("triaged", "triage"), ("owner_notified", "notify")]
    + [
        ("rectification_ordered", "rectify"),
        ("blocked", "block"),
        ("verifying", "verify"),
        ("close", "close"),
    ],
)
def test_old_status_names_are_aliases(word: str, action: str) -> None:
    assert action_name(word) == action
    assert set(ALIASES.values()) <= set(ACTIONS)


def test_api_and_service_share_the_actions() -> None:
    literal = typing.get_args(ActionIn.model_fields["action"].annotation)
    assert set(literal) == set(ACTIONS)
