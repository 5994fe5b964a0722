"""A sensor's push of findings into cases, as one transaction that holds under concurrency.

- Scope: a sensor pushes for its unit and the units below it. A finding placed elsewhere
  (its region code names a unit outside that subtree), or one that would join an open case
  held outside it, is refused on its own; the rest of the batch goes in. A case of its
  units that went up past its deadline (held above; placed within, or opened by a sensor
  of its units) still takes its findings.
- One open case per host and activity: the database's partial unique index
  (`models.ONE_OPEN_CASE`) refuses a second; the losing transaction is rolled back and
  tried again, and then finds the winner's case and joins it.
- Idempotence: each finding has a key (`finding_key`) unique in `case_findings`, so a
  finding sent again is "already stored"; a batch sent with an id is recorded with its
  outcome, and the same id again is answered with that outcome, marked `replayed`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from minewatch.cases.models import ApiToken, Case, CaseEvent, CaseFinding, PushBatch, Unit
from minewatch.cases.workflow import CASE_ACTIVITIES, join_case, open_case, open_case_of, unit_for_code
from minewatch.errors import ServiceBusy
from minewatch.model.document import rfc3339
from minewatch.model.findings import Finding

__all__ = ["PushOutcome", "Refusal", "Sensor", "ServiceBusy", "finding_key", "push"]

log = logging.getLogger(__name__)

# How a sensor signs the events it causes ("sensor:NAME").
SENSOR_ACTOR = "sensor:"
# Tries of the whole push transaction, and the first back-off (doubling, with full jitter).
TRIES = 8
FIRST_WAIT_S = 0.02


@dataclass(frozen=True)
class Sensor:
    """The pushing token, as the push needs it."""

    token_id: int
    name: str
    unit_id: int
    unit_code: str
    units: frozenset[int]  # its unit and every unit below it
    above: frozenset[int] = frozenset()  # the units above its unit


@dataclass(frozen=True)
class Refusal:
    index: int  # the finding's position in the batch, from 0
    host: str
    reason: str


@dataclass(frozen=True)
class PushOutcome:
    """What one push did. `stored` findings went into cases (opening `cases_opened`,
    joining `cases_updated`); `already_stored` were there before; `not_cases` are
    activities that open no case; `refused` were outside the sensor's units."""

    received: int
    cases_opened: int
    cases_updated: int
    not_cases: int
    stored: int = 0
    already_stored: int = 0
    refused: tuple[Refusal, ...] = ()
    batch: str | None = None
    replayed: bool = False

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PushOutcome:
        """From `to_json`, or a service's answer (fields it lacks take their defaults,
        fields a newer service adds are left out)."""
        names = {f.name for f in dataclasses.fields(cls)}
        refused = tuple(Refusal(r["index"], r["host"], r["reason"]) for r in data.get("refused", ()))
        return cls(**{k: v for k, v in data.items() if k in names and k != "refused"}, refused=refused)


def finding_key(f: Finding, sensor: str) -> str:
    """The finding's identity: this sensor's sighting of this host's activity over this
    window. Not a digest of its JSON, which a re-estimate, a newer minewatch's extra field
    or the service's own attribution would change while it is still the same finding."""
    parts = (sensor, f.host, f.activity.value, rfc3339(f.first_seen), rfc3339(f.last_seen))
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def push(
    sessions: Callable[[], Session],
    sensor: Sensor,
    findings: Sequence[Finding],
    batch: str | None,
    now: datetime,
    tries: int = TRIES,
) -> PushOutcome:
    """Store the findings in one transaction, tried again (up to `tries`, with jittered
    back-off) when a concurrent push wins a race for the same case or finding, or the
    database is busy. Raises ServiceBusy when every try failed; nothing is then stored."""
    for attempt in range(tries):
        try:
            with sessions() as session:
                _begin(session)
                outcome = _push_once(session, sensor, findings, batch, now)
                session.commit()
                return outcome
        except (IntegrityError, OperationalError) as e:
            log.info("push by %s, try %d: %s", sensor.name, attempt + 1, type(e.orig).__name__)
            time.sleep(random.uniform(0, FIRST_WAIT_S * 2**attempt))
    raise ServiceBusy(f"sensor {sensor.name}", f"the database stayed busy through {tries} tries")


def _begin(session: Session) -> None:
    """On SQLite, take the write lock first: a deferred transaction that reads and then
    writes fails at once (SQLITE_BUSY_SNAPSHOT under WAL) when another wrote meanwhile,
    while BEGIN IMMEDIATE waits its turn (busy_timeout) and then reads the latest."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")


@dataclass
class _Tally:
    opened: set[int] = field(default_factory=set)
    updated: set[int] = field(default_factory=set)
    stored: int = 0
    already: int = 0
    not_cases: int = 0
    refused: list[Refusal] = field(default_factory=list)


def _push_once(
    session: Session, sensor: Sensor, findings: Sequence[Finding], batch: str | None, now: datetime
) -> PushOutcome:
    if batch is not None:
        done = session.scalar(
            select(PushBatch.result).where(PushBatch.token_id == sensor.token_id, PushBatch.batch == batch)
        )
        if done is not None:
            return dataclasses.replace(PushOutcome.from_json(json.loads(done)), replayed=True)
    keys = [finding_key(f, sensor.name) for f in findings]
    seen = set(session.scalars(select(CaseFinding.finding_key).where(CaseFinding.finding_key.in_(set(keys)))))
    tally, places = _Tally(), _Places(session)
    home = session.get_one(Unit, sensor.unit_id)
    # Host order: concurrent pushes then take their locks in one order and do not deadlock.
    for i in sorted(range(len(findings)), key=lambda i: (findings[i].host, findings[i].activity.value)):
        f, key = findings[i], keys[i]
        if f.activity.value not in CASE_ACTIVITIES:
            tally.not_cases += 1
        elif key in seen:
            tally.already += 1
        else:
            _file(session, sensor, f, key, i, now, places, home, tally)
            seen.add(key)
    outcome = _outcome(tally, len(findings), batch)
    _record(session, sensor, outcome, now)
    session.flush()
    return outcome


def _file(
    session: Session,
    sensor: Sensor,
    f: Finding,
    key: str,
    index: int,
    now: datetime,
    places: _Places,
    home: Unit,
    tally: _Tally,
) -> None:
    """Open or join the finding's case, or refuse it when that is outside the sensor's units."""
    code = f.attribution.region_code if f.attribution else None
    place = places.unit(code)
    if place is not None and place.id not in sensor.units:
        reason = f"placed in {code}, outside this sensor's unit {sensor.unit_code}"
        tally.refused.append(Refusal(index, f.host, reason))
        return
    case: Case | None = open_case_of(session, f.host, f.activity.value, lock=True)
    outside = case is not None and case.unit_id not in sensor.units
    if case is not None and outside and not _escalated_from(session, case, sensor, places):
        # Which unit holds it is not said: that is another unit's business.
        reason = f"its open case is held outside this sensor's unit {sensor.unit_code}"
        tally.refused.append(Refusal(index, f.host, reason))
        return
    actor = SENSOR_ACTOR + sensor.name
    if case is None:
        case = open_case(session, f, place or home, now, actor, key)
        session.flush()  # the case's id, and the unique index's verdict, now
        tally.opened.add(case.id)
    else:
        join_case(session, case, f, now, actor, key)
        if case.id not in tally.opened:
            tally.updated.add(case.id)
    tally.stored += 1


def _escalated_from(session: Session, case: Case, sensor: Sensor, places: _Places) -> bool:
    """Whether the case is one of the sensor's units' that went up past its deadline: held
    by a unit above the sensor's, and placed in the sensor's units, or (placed nowhere)
    opened by a sensor of the sensor's units. Its findings still come from the sensor that
    watches the host; a sibling's, or a case the unit above opened itself, are not its."""
    if case.unit_id not in sensor.above:
        return False
    try:
        code = json.loads(case.attribution or "{}").get("region_code")
    except (ValueError, AttributeError):
        code = None
    place = places.unit(code if isinstance(code, str) else None)
    if place is not None:
        return place.id in sensor.units
    opener = session.scalar(
        select(CaseEvent.actor)
        .where(CaseEvent.case_id == case.id, CaseEvent.action == "opened")
        .order_by(CaseEvent.id)
        .limit(1)
    )
    if opener is None or not opener.startswith(SENSOR_ACTOR):
        return False
    unit_id = session.scalar(select(ApiToken.unit_id).where(ApiToken.name == opener[len(SENSOR_ACTOR) :]))
    return unit_id in sensor.units


class _Places:
    """Region code to unit, looked up once per push."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.known: dict[str | None, Unit | None] = {}

    def unit(self, code: str | None) -> Unit | None:
        if code not in self.known:
            self.known[code] = unit_for_code(self.session, code)
        return self.known[code]


def _outcome(tally: _Tally, received: int, batch: str | None) -> PushOutcome:
    return PushOutcome(
        received=received,
        cases_opened=len(tally.opened),
        cases_updated=len(tally.updated),
        not_cases=tally.not_cases,
        stored=tally.stored,
        already_stored=tally.already,
        refused=tuple(sorted(tally.refused, key=lambda r: r.index)),
        batch=batch,
    )


def _record(session: Session, sensor: Sensor, outcome: PushOutcome, now: datetime) -> None:
    pushed = ApiToken.pushed + outcome.received
    session.execute(update(ApiToken).where(ApiToken.id == sensor.token_id).values(pushed=pushed))
    # A batch with refusals is not kept: sent again, its stored findings are found stored
    # (by their keys) and its refused ones judged afresh (the case in the way may be closed).
    if outcome.batch is not None and not outcome.refused:
        result = json.dumps(outcome.to_json(), ensure_ascii=False)
        session.add(PushBatch(token_id=sensor.token_id, batch=outcome.batch, at=now, result=result))
