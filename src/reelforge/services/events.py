"""Reading the event outbox (:mod:`reelforge.db.events`): one event, the filters of the list,
and the tail the live stream reads (events after a sequence number, for one workspace, with
sequence gaps remembered for a while), and the snapshot of one render its progress stream sends.

On PostgreSQL a sequence number is taken at insert, so a transaction that commits late can make
an event with a lower ``seq`` visible after higher ones. :class:`Tail` therefore keeps the
numbers it has not seen yet (``seq`` is global, so gaps are tracked over all workspaces) and
looks for them again for ``GAP_GRACE_SECONDS`` before giving them up as rolled back.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Collection
from typing import Any

from sqlalchemy import ColumnElement, Select, false, or_, select
from sqlalchemy.orm import Session

from reelforge.db.events import Event
from reelforge.representations import json_ready

from . import renders
from .context import Services
from .errors import Invalid, NotFound

__all__ = [
    "BATCH",
    "GAP_GRACE_SECONDS",
    "READ_SCOPES",
    "Tail",
    "event",
    "events",
    "read_scope",
    "readable_families",
    "render_snapshot",
    "type_filter",
]

GAP_GRACE_SECONDS = 30.0
BATCH = 200

_TYPE = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*)?$|^\*$")


READ_SCOPES = {
    "render": "renders:read",
    "asset": "assets:read",
    "upload": "assets:read",
    "import": "assets:read",
    "transcript": "assets:read",
    "project": "projects:read",
    "template": "templates:read",
    "batch": "batches:read",
    "brand_kit": "brand_kits:read",
    "webhook_endpoint": "webhooks:read",
    "webhook_message": "webhooks:read",
    "delivery": "renders:read",
}
"""The scope that reads each resource family an event can be about (an event's ``data`` is the
resource as its own routes show it, so it needs the same scope). A family not listed here is
shown to ``admin`` only, so a new kind of event leaks nothing until it is given a scope."""


def read_scope(family: str) -> str:
    """The scope needed to see events (and webhook messages) about ``family`` (``render``, …)."""
    return READ_SCOPES.get(family, "admin")


def readable_families(scopes: Collection[str]) -> list[str] | None:
    """The families whose events a reader holding ``scopes`` sees; None: every family (admin)."""
    if "admin" in scopes:
        return None
    return sorted(family for family, scope in READ_SCOPES.items() if scope in scopes)


def type_filter(types: list[str] | None) -> tuple[list[str], ColumnElement[bool] | None]:
    """The types asked for (validated, sorted) and the SQL condition they make."""
    if not types:
        return [], None
    wanted = sorted({t.strip() for t in types})
    bad = [t for t in wanted if not _TYPE.match(t)]
    if bad:
        raise Invalid(
            f"not an event type or prefix: {bad[0]!r}",
            errors=[
                {
                    "parameter": "type",
                    "code": "invalid",
                    "detail": "an event type like `render.succeeded`, a prefix like `render.*`, or `*`",
                }
            ],
        )
    if "*" in wanted:
        return wanted, None
    conditions = [
        Event.type.startswith(t[:-1], autoescape=True) if t.endswith(".*") else Event.type == t
        for t in wanted
    ]
    return wanted, or_(*conditions)


def _type_matcher(wanted: list[str]) -> Callable[[str], bool]:
    if not wanted or "*" in wanted:
        return lambda _: True
    exact = {t for t in wanted if not t.endswith(".*")}
    prefixes = tuple(t[:-1] for t in wanted if t.endswith(".*"))
    return lambda t: t in exact or t.startswith(prefixes)


def event(db: Session, workspace_id: str, event_id: str, scopes: Collection[str]) -> Event:
    """One event, 404 also when the reader (``scopes``) may not read its resource family: to it,
    as in the list, the event is not there."""
    row = db.scalar(select(Event).where(Event.id == event_id, Event.workspace_id == workspace_id))
    if row is None or read_scope(row.resource_type) not in scopes:
        raise NotFound(f"no event {event_id}")
    return row


def events(workspace_id: str, scopes: Collection[str]) -> Select[Any]:
    """The workspace's events a reader holding ``scopes`` may see (see :data:`READ_SCOPES`)."""
    query = select(Event).where(Event.workspace_id == workspace_id)
    families = readable_families(scopes)
    if families is not None:
        query = query.where(Event.resource_type.in_(families))
    return query


def filtered(
    query: Select[Any], types: list[str] | None, resource_id: str | None
) -> tuple[Select[Any], list[str]]:
    """``query`` limited to event types (exact or ``prefix.*``) and a resource; and the types
    asked for, validated and sorted (as the list's cursor records them)."""
    wanted, type_condition = type_filter(types)
    if type_condition is not None:
        query = query.where(type_condition)
    if resource_id is not None:
        query = query.where(Event.resource_id == resource_id)
    return query, wanted


class Tail:
    """Reads events after ``last`` for one workspace, remembering sequence gaps for a while;
    only those of families a reader holding ``scopes`` may read."""

    def __init__(
        self, services: Services, workspace_id: str, wanted: list[str], last: int, scopes: Collection[str]
    ):
        self.services = services
        self.workspace_id = workspace_id
        self.matches = _type_matcher(wanted)
        self.scopes = frozenset(scopes)
        self.last = last
        self.gaps: dict[int, float] = {}
        self.more = False
        """The last read hit ``BATCH``: read again at once rather than wait."""

    def read(self) -> list[Event]:
        now = time.monotonic()
        self.gaps = {seq: since for seq, since in self.gaps.items() if now - since < GAP_GRACE_SECONDS}
        gap_condition = Event.seq.in_(list(self.gaps)) if self.gaps else false()
        with self.services.sessions() as db:
            heads = db.execute(
                select(Event.seq, Event.workspace_id, Event.type, Event.resource_type)
                .where(or_(Event.seq > self.last, gap_condition))
                .order_by(Event.seq)
                .limit(BATCH)
            ).all()
            self.more = len(heads) == BATCH
            if not heads:
                return []
            for head in heads:
                self.gaps.pop(head.seq, None)
            fresh = [h.seq for h in heads if h.seq > self.last]
            if fresh:
                expected = self.last + 1
                for seq in fresh:
                    for missing in range(expected, min(seq, expected + BATCH)):
                        self.gaps.setdefault(missing, now)
                    expected = seq + 1
                self.last = fresh[-1]
            mine = [
                h.seq
                for h in heads
                if h.workspace_id == self.workspace_id
                and self.matches(h.type)
                and read_scope(h.resource_type) in self.scopes
            ]
            if not mine:
                return []
            return list(db.scalars(select(Event).where(Event.seq.in_(mine)).order_by(Event.seq)))

    def start_after(self, last_event_id: str | None) -> None:
        """Resume after the event the client saw last (its ``evt_`` id or its sequence number),
        or start at the newest event now."""
        with self.services.sessions() as db:
            if last_event_id is None:
                self.last = int(db.scalar(select(Event.seq).order_by(Event.seq.desc()).limit(1)) or 0)
                return
            if re.fullmatch(r"[0-9]{1,18}", last_event_id):
                self.last = int(last_event_id)
                return
            seq = db.scalar(
                select(Event.seq).where(Event.id == last_event_id, Event.workspace_id == self.workspace_id)
            )
        if seq is None:
            raise Invalid(
                f"Last-Event-ID {last_event_id!r} is no event of this workspace",
                errors=[
                    {
                        "header": "Last-Event-ID",
                        "code": "unknown",
                        "detail": "an event id (evt_…) or sequence number this stream sent",
                    }
                ],
            )
        self.last = int(seq)


def render_snapshot(services: Services, workspace_id: str, render_id: str) -> dict[str, Any] | None:
    """The render as ``GET /v1/renders/{id}`` shows it, by the very read that route makes (None:
    no such render here), on a connection of its own (a stream holds none between looks)."""
    with services.engine.connect() as conn:
        try:
            body: dict[str, Any] = json_ready(renders.read_render(conn, workspace_id, render_id))
        except NotFound:
            return None
        return body
