"""Commands for cases: `minewatch cases units`, `sync`, `list`, `show`, `step`, `tick`,
`export`. They do what the console and the API do, through the same case service
(`minewatch.cases.service`): the same actions, the same JSON for a case."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from minewatch.cli.options import DbOption, SinceOption, StoreOption, connect_db
from minewatch.errors import NotFound, OptionError
from minewatch.model.findings import Finding
from minewatch.options import DEADLINE, QUIET, Opt, choice, whole

__all__ = ["register"]

err = Console(stderr=True, highlight=False, soft_wrap=True)

STATUS: Opt[str | None] = Opt(
    "--status",
    choice(
        "open", "new", "triaged", "owner_notified", "rectification_ordered", "blocked", "verifying", "closed"
    ),
    None,
    "Only cases in this status (open: any but closed).",
)
VERDICT: Opt[str | None] = Opt(
    "--verdict",
    choice("false_positive", "duplicate", "not_in_jurisdiction", "stopped"),
    None,
    "For close: false_positive, duplicate, not_in_jurisdiction.",
)
LIMIT = Opt("--limit", whole(1, 1_000_000), 1000, "At most this many cases.")
# The store's findings in [since, until) with their owners (`minewatch.cli.main`).
Findings = Callable[[Path, datetime | None, datetime | None], list[Finding]]
CASE = Opt("CASE_ID", whole(1, 2**31 - 1), 0, "The case.")
INTO: Opt[int | None] = Opt("--into", whole(1, 2**31 - 1), None, "For merge: the case to merge into.")
CASE_ID = Annotated[int, typer.Argument(parser=CASE.parse, help=CASE.help)]


def register(app: typer.Typer, attributed_findings: Findings) -> None:
    """Add the `cases` commands; `attributed_findings(store, since, until)` reads the
    store's findings with their owners."""
    cases_app = typer.Typer(no_args_is_help=True, help="Cases under disposal: open, move, verify, export.")
    app.add_typer(cases_app, name="cases")

    @cases_app.command("units")
    def cases_units(
        path: Annotated[Path, typer.Argument(help="CSV: code, name, level, parent_code.")],
        store: StoreOption,
        db: DbOption = None,
    ) -> None:
        """Load the unit tree (province, cities, counties by division code)."""
        from sqlalchemy.orm import Session

        from minewatch.cases.db import load_units

        with Session(connect_db(store, db, create=True)) as session:
            n = load_units(session, path)
            session.commit()
        err.print(f"minewatch: {n} units from {path}", markup=False)

    @cases_app.command("sync")
    def cases_sync(store: StoreOption, db: DbOption = None, since: SinceOption = None) -> None:
        """Open cases from the store's findings (attributed), one per host and activity, or add
        findings to open ones; a case shows its host's windows merged."""
        from sqlalchemy.orm import Session

        from minewatch.cases.db import root_unit
        from minewatch.cases.workflow import open_from_findings

        rows = attributed_findings(store, since, None)
        with Session(connect_db(store, db)) as session:
            touched = open_from_findings(session, rows, datetime.now(UTC), root_unit(session))
            session.commit()
            opened = sum(1 for c in touched if len(c.events) == 1)
        err.print(
            f"minewatch: {len(rows)} findings: {opened} cases opened, {len(touched) - opened} updated",
            markup=False,
        )

    @cases_app.command("list")
    def cases_list(
        store: StoreOption,
        db: DbOption = None,
        status: Annotated[str | None, STATUS.flag()] = STATUS.default,
        limit: Annotated[int, LIMIT.flag()] = LIMIT.default,
        json_lines: Annotated[
            bool, typer.Option("--json", help="One case per line, as the API's CaseSummary.")
        ] = False,
    ) -> None:
        """Cases, most recently changed first."""
        from sqlalchemy.orm import Session

        from minewatch.cases.service import QueueFilter, case_summary, queue

        with Session(connect_db(store, db)) as session:
            _, page = queue(session, None, QueueFilter(status=status), datetime.now(UTC), limit)
            rows = [case_summary(c, n) for c, n in page]
        if json_lines:
            for row in rows:
                sys.stdout.write(row.model_dump_json() + "\n")
            return
        from rich.table import Table

        table = Table("id", "host", "activity", "unit", "severity", "status", "deadline", "findings")
        for r in rows:
            deadline = r.deadline.isoformat()[:16] if r.deadline else ""
            status_text = r.status + (f" ({r.verdict})" if r.verdict else "")
            table.add_row(
                str(r.id), r.host, r.activity, r.unit, r.severity, status_text, deadline, str(r.findings)
            )
        out = Console(highlight=False)
        Console(highlight=False, width=None if out.is_terminal else 132).print(table)

    @cases_app.command("show")
    def cases_show(case_id: CASE_ID, store: StoreOption, db: DbOption = None) -> None:
        """One case as JSON (the API's CaseDetail): evidence, trail, tips."""
        from sqlalchemy.orm import Session

        from minewatch.cases.models import Case
        from minewatch.cases.service import case_detail

        with Session(connect_db(store, db)) as session:
            case = session.get(Case, case_id)
            if case is None:
                raise NotFound(f"case {case_id}", "no such case")
            sys.stdout.write(case_detail(case).model_dump_json(indent=1) + "\n")

    @cases_app.command("step")
    def cases_step(
        case_id: CASE_ID,
        action: Annotated[
            str,
            typer.Argument(
                help="triage, notify, rectify, block, verify, check, close, take, assign, delegate or "
                "merge (the old status names, such as rectification_ordered, also work)."
            ),
        ],
        store: StoreOption,
        actor: Annotated[str, typer.Option("--actor", help="Who does it (for the audit trail).")],
        db: DbOption = None,
        deadline: Annotated[datetime | None, DEADLINE.flag()] = DEADLINE.default,
        verdict: Annotated[str | None, VERDICT.flag()] = VERDICT.default,
        assignee: Annotated[str | None, typer.Option("--assignee", help="For assign: who.")] = None,
        unit: Annotated[str | None, typer.Option("--unit", help="For delegate: the unit's code.")] = None,
        into: Annotated[int | None, INTO.flag()] = INTO.default,
        quiet: Annotated[timedelta, QUIET.flag()] = QUIET.default,
        note: Annotated[str, typer.Option("--note", help="What to record with it.")] = "",
    ) -> None:
        """Do one action to a case, as the console's buttons do."""
        from sqlalchemy.orm import Session

        from minewatch.cases.models import Case
        from minewatch.cases.service import CaseAction, action_name, apply

        name = action_name(action)
        act = CaseAction(name, deadline, verdict, unit, assignee, into, note)
        with Session(connect_db(store, db)) as session:
            case = session.get(Case, case_id)
            target = session.get(Case, into) if into is not None else None
            if case is None or (into is not None and target is None):
                raise NotFound(f"case {case_id if case is None else into}", "no such case")
            done = apply(session, case, act, actor, datetime.now(UTC), quiet, target)
            session.commit()
            err.print(f"minewatch: case {case_id}: {done}", markup=False)

    @cases_app.command("tick")
    def cases_tick(
        store: StoreOption,
        db: DbOption = None,
        quiet: Annotated[timedelta, QUIET.flag()] = QUIET.default,
    ) -> None:
        """Escalate overdue cases and close verified ones (run it from cron)."""
        from sqlalchemy.orm import Session

        from minewatch.cases.workflow import tick

        with Session(connect_db(store, db)) as session:
            escalated, closed = tick(session, datetime.now(UTC), quiet)
            session.commit()
        err.print(f"minewatch: {escalated} escalated, {closed} closed as stopped", markup=False)

    @cases_app.command("recheck")
    def cases_recheck(
        store: StoreOption,
        db: DbOption = None,
        quiet: Annotated[timedelta, QUIET.flag()] = QUIET.default,
        every_open: Annotated[
            bool, typer.Option("--open", help="Re-check every open site case, not only those in verifying.")
        ] = False,
        proxy: Annotated[
            str | None,
            typer.Option("--proxy", help="Fetch through this http:// proxy, outside your own blocking."),
        ] = None,
        allow_private: Annotated[
            bool, typer.Option("--allow-private", help="Also fetch private, loopback and reserved addresses.")
        ] = False,
        limit: Annotated[int, LIMIT.flag()] = LIMIT.default,
    ) -> None:
        """Fetch the sites of site cases again (run it from cron beside tick): in verification,
        a site gone (no such name, nothing listening, 404/410/451) or changed (now
        unrelated) for --quiet closes as stopped; one still serving goes back to
        rectification. Fetch from outside your own blocking (--proxy), or every blocked
        site looks gone."""
        from sqlalchemy.orm import Session

        from minewatch.cases.models import Status
        from minewatch.cases.subjects import recheck_all
        from minewatch.probe.policy import Policy
        from minewatch.sites.fetch import Fetcher

        if proxy is not None and not proxy.startswith("http://"):
            raise OptionError("--proxy", proxy, "an http:// proxy URL such as http://127.0.0.1:3128")
        statuses = [s.value for s in Status if s != Status.CLOSED] if every_open else [Status.VERIFYING.value]
        fetcher = Fetcher(policy=Policy(allow_private=allow_private), proxy=proxy)
        with Session(connect_db(store, db)) as session:
            done = recheck_all(session, fetcher, datetime.now(UTC), quiet, statuses, limit)
            session.commit()
        for r in done:
            closed_now = "closed" if r.closed else ""
            print(f"case {r.case_id}\t{r.subject}\t{r.outcome.value}\t{closed_now}\t{r.detail}")
        closed = sum(r.closed for r in done)
        err.print(f"minewatch: {len(done)} site cases re-checked, {closed} closed as stopped", markup=False)

    @cases_app.command("export")
    def cases_export(
        store: StoreOption,
        out: Annotated[
            Path, typer.Option("--out", help="Folder for the RPZ, nftables, hosts, Suricata, STIX files.")
        ],
        db: DbOption = None,
    ) -> None:
        """Write the enforcement lists of the cases under block (closed cases withdrawn)."""
        from sqlalchemy.orm import Session

        from minewatch.cases.exports import write_exports

        with Session(connect_db(store, db)) as session:
            entries = write_exports(session, out, datetime.now(UTC))
        err.print(f"minewatch: {len(entries)} entries in {out}", markup=False)
