"""Versioned resources: a row whose every change writes a new numbered version of its content.

Projects (revisions of an edit), templates (versions of a template document) and brand kits
(versions of a kit) work alike, so they share this code. The row's current number is its ETag
(``"3"``). Changes are conditional-required: a change and a restore need the caller's
``If-Match`` (428 without it, 412 when stale), so two editors cannot overwrite each other; a
delete takes it when given. The check and the bump are one ``UPDATE … WHERE <number> =
:expected``; whoever updates zero rows lost the race and gets 412, whatever the timing. The
history is never rewritten: a restore makes an old version's content current again as a new
version.

A resource is described once by a :class:`Versioned` (its two tables, the column names that
differ, and how it is shown). The caller passes the ``If-Match`` value it received (None when
there was none); nothing here knows HTTP.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar, cast

from sqlalchemy import CursorResult, Select, and_, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from reelforge.db.models import new_id, utcnow

from .errors import Invalid, NotFound, PreconditionFailed, PreconditionRequired

__all__ = [
    "STAR_RETRIES",
    "Change",
    "CommitStager",
    "Precondition",
    "Staged",
    "Versioned",
    "entity_tags",
    "etag",
    "name_contains",
    "none_match",
    "stale",
]

STAR_RETRIES = 5
"""``If-Match: *`` means "whatever is current": on a lost race, re-read and try again."""

Content = dict[str, Any]
Change = tuple[Content, str, str | None]
"""What a change makes: the new content, the version's message, and a new name (None: keep it)."""

Row = TypeVar("Row")
"""The resource's row (``Project``, ``Template``, ``BrandKit``)."""
VersionRow = TypeVar("VersionRow")
"""One of its versions (``ProjectRevision``, ``TemplateVersion``, ``BrandKitVersion``)."""

Staged = tuple[int, Mapping[str, Any] | bytes, Mapping[str, str]]


class CommitStager(Protocol):
    """Something that stores a response inside a session's commit (the API's idempotency claim):
    ``build`` gives its status, body and headers from the committed state."""

    def stage_at_commit(self, db: Session, build: Callable[[], Staged], *, secret: bool = False) -> None: ...


# ---------------------------------------------------------------- conditional requests


def etag(number: int) -> str:
    return f'"{number}"'


_TAG = re.compile(r'^(W/)?"([^"]*)"$')


def entity_tags(value: str, header: str) -> list[tuple[bool, str]] | None:
    """``*`` -> None; else [(weak, opaque)]. A malformed list is a client bug, so say so (400)
    rather than answer 412 to an ETag without its quotes forever."""
    if value.strip() == "*":
        return None
    tags: list[tuple[bool, str]] = []
    for item in value.split(","):
        match = _TAG.match(item.strip())
        if match is None:
            raise Invalid(
                f'{header} must be * or quoted ETags such as "3"',
                code="invalid-request",
                errors=[
                    {
                        "header": header,
                        "detail": f"not an entity tag: {item.strip()!r}",
                        "code": "invalid_etag",
                    }
                ],
            )
        tags.append((match.group(1) is not None, match.group(2)))
    return tags


class Precondition:
    """What ``If-Match`` (``if_match``, None when absent) asks of a change to a resource at
    number ``current``: ``star`` whether any current number will do (``*``, or no header where
    it is optional); 428/412 otherwise."""

    def __init__(self, if_match: str | None, current: int, *, required: bool, what: str, unit: str):
        self.star = False
        if if_match is None:
            if required:
                raise PreconditionRequired(
                    f"changing a {what} needs If-Match with its ETag (from GET), so concurrent "
                    "editors cannot overwrite each other; If-Match: * to overwrite whatever is there",
                    errors=[{"header": "If-Match", "detail": "this header is required", "code": "missing"}],
                )
            self.star = True
            return
        tags = entity_tags(if_match, "If-Match")
        if tags is None:
            self.star = True
            return
        # Strong comparison (RFC 9110 §13.1.1): a weak tag never matches If-Match.
        if not any(not weak and opaque == str(current) for weak, opaque in tags):
            raise stale(current, if_match, what=what, unit=unit)

    @property
    def retries(self) -> int:
        return STAR_RETRIES if self.star else 1


def stale(current: int | None, sent: str | None, *, what: str, unit: str) -> PreconditionFailed:
    """412 ``precondition-failed``, with the current ETag when the resource still exists."""
    now = f"it is now at {unit} {current}" if current is not None else "it changed"
    return PreconditionFailed(
        f"the {what} changed since you read it ({now}); GET it again, re-apply your change "
        "and send the new ETag in If-Match",
        errors=[
            {"header": "If-Match", "detail": f"{sent} does not match the current ETag", "code": "stale_etag"}
        ],
        etag=etag(current) if current is not None else None,
    )


def none_match(if_none_match: str | None, current: int) -> bool:
    """Whether ``If-None-Match`` (None when absent) matches number ``current`` (a GET answers 304)."""
    if if_none_match is None:
        return False
    tags = entity_tags(if_none_match, "If-None-Match")
    # Weak comparison for If-None-Match (RFC 9110 §13.1.2).
    return tags is None or any(opaque == str(current) for _, opaque in tags)


class _LostRace(Exception):
    pass


def name_contains(text: str) -> str:
    """A ``LIKE`` pattern (escape ``\\``) matching names that contain ``text`` literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# ---------------------------------------------------------------- the resource


@dataclass(frozen=True)
class Versioned(Generic[Row, VersionRow]):
    """One kind of versioned resource: ``row`` holds the current number in column ``counter``;
    ``versions`` rows point at it by ``owner`` and hold the content in ``content``."""

    row: type[Row]
    versions: type[VersionRow]
    counter: str
    """The row's column with the current number (``revision``, ``version``)."""
    owner: str
    """The version's column naming its row (``project_id``, ...)."""
    content: str
    """The version's column with the content (``edit``, ``document``, ``body``)."""
    id_prefix: str
    version_prefix: str
    what: str
    """The resource in messages: ``project``, ``brand kit``."""
    unit: str
    """A version in messages: ``revision`` or ``version``."""
    versions_list: str
    owner_filter: str
    """The version list's cursor filters: ``{"list": versions_list, owner_filter: <id>}``."""
    show: Callable[[Row, Content], dict[str, Any]]
    """The resource as the API shows it with the given content."""
    show_version: Callable[[VersionRow], dict[str, Any]]
    on_update: Callable[[Session, Row, int, str | None, datetime, str], None] | None = None
    """Records the event of a new version (number, new name, time, message), in its transaction."""

    # ------------------------------------------------------------ reading

    def number(self, row: Row) -> int:
        return cast(int, getattr(row, self.counter))

    def _number_now(self, db: Session, row_id: str) -> int | None:
        table: Any = self.row
        return db.scalar(select(getattr(table, self.counter)).where(table.id == row_id))

    def current(self, db: Session, workspace_id: str, row_id: str) -> tuple[Row, VersionRow]:
        """The row and its current version; another workspace's resource does not exist."""
        table: Any = self.row
        versions: Any = self.versions
        found = db.execute(
            select(table, versions)
            .join(
                versions,
                and_(
                    getattr(versions, self.owner) == table.id, versions.number == getattr(table, self.counter)
                ),
            )
            .where(table.id == row_id, table.workspace_id == workspace_id)
        ).first()
        if found is None:
            raise NotFound(f"no {self.what} {row_id}")
        return found[0], found[1]

    def version(
        self, db: Session, row: Row, number: int | None = None, where: str | None = None
    ) -> VersionRow:
        """Version ``number`` (None: the current one); 404 naming the body's ``where`` if given."""
        row_any: Any = row
        versions: Any = self.versions
        number = self.number(row) if number is None else number
        found = db.scalar(
            select(versions).where(getattr(versions, self.owner) == row_any.id, versions.number == number)
        )
        if found is None:
            errors = (
                [{"pointer": where, "code": "not_found", "detail": f"no {self.unit} {number}"}]
                if where
                else None
            )
            raise NotFound(
                f"{self.what} {row_any.id} has no {self.unit} {number} (the latest is {self.number(row)})",
                errors=errors,
            )
        return cast(VersionRow, found)

    def content_of(self, version: VersionRow) -> Content:
        return cast(Content, getattr(version, self.content))

    def current_contents(self, db: Session, rows: Sequence[Row]) -> dict[str, Content]:
        """The current content of each row, by id (in one query)."""
        if not rows:
            return {}
        table: Any = self.row
        versions: Any = self.versions
        owner = getattr(versions, self.owner)
        found = db.execute(
            select(owner, getattr(versions, self.content))
            .join(table, and_(table.id == owner, getattr(table, self.counter) == versions.number))
            .where(owner.in_([cast(Any, r).id for r in rows]))
        )
        return {row[0]: row[1] for row in found}

    def list_query(self, workspace_id: str, name: str | None = None) -> Select[Any]:
        """The workspace's resources (a list pages them, newest first); ``name``: only those
        whose name contains it (case-insensitive)."""
        table: Any = self.row
        query = select(table).where(table.workspace_id == workspace_id)
        if name:
            query = query.where(table.name.ilike(name_contains(name), escape="\\"))
        return query

    def shown(self, db: Session, rows: Sequence[Row]) -> list[dict[str, Any]]:
        """``rows`` as shown, each with its current content; a resource deleted meanwhile (it
        has no content left) is left out."""
        contents = self.current_contents(db, rows)
        return [self.show(r, contents[cast(Any, r).id]) for r in rows if cast(Any, r).id in contents]

    def versions_query(self, row: Row) -> tuple[Select[Any], Mapping[str, Any]]:
        """The row's versions (paged newest first by ``number``) and the list's cursor filters."""
        versions: Any = self.versions
        row_id = cast(Any, row).id
        return (
            select(versions).where(getattr(versions, self.owner) == row_id),
            {"list": self.versions_list, self.owner_filter: row_id},
        )

    # ------------------------------------------------------------ writing

    def create(self, db: Session, workspace_id: str, name: str, content: Content, message: str) -> Row:
        """A new resource at number 1 (added and flushed; the caller commits)."""
        table: Any = self.row
        versions: Any = self.versions
        now = utcnow()
        row = table(
            id=new_id(self.id_prefix),
            workspace_id=workspace_id,
            name=name,
            created_at=now,
            updated_at=now,
            **{self.counter: 1},
        )
        db.add(row)
        db.flush()
        db.add(
            versions(
                id=new_id(self.version_prefix),
                number=1,
                message=message,
                created_at=now,
                **{self.owner: row.id, self.content: content},
            )
        )
        return cast(Row, row)

    def _new_version(
        self, db: Session, row: Row, expected: int, content: Content, message: str, name: str | None
    ) -> None:
        """Make number ``expected + 1`` current, only if the row is still at ``expected``.

        The UPDATE's WHERE is the check: a writer that waited for the row lock (PostgreSQL) or
        the write lock (SQLite) re-reads the number there and updates nothing once someone else
        won.
        """
        table: Any = self.row
        versions: Any = self.versions
        row_id = cast(Any, row).id
        now = utcnow()
        counter = getattr(table, self.counter)
        values: dict[str, Any] = {self.counter: counter + 1, "updated_at": now}
        if name is not None:
            values["name"] = name
        result = cast(
            CursorResult[Any],
            db.execute(
                update(table)
                .where(table.id == row_id, counter == expected)
                .values(**values)
                .execution_options(synchronize_session=False)
            ),
        )
        if result.rowcount != 1:
            db.rollback()
            raise _LostRace
        db.add(
            versions(
                id=new_id(self.version_prefix),
                number=expected + 1,
                message=message,
                created_at=now,
                **{self.owner: row_id, self.content: content},
            )
        )
        if self.on_update is not None:
            self.on_update(db, row, expected + 1, name, now, message)
        try:
            db.commit()
        except IntegrityError:
            # The unique (row, number) is a second guard; losing there is the same lost race.
            db.rollback()
            raise _LostRace from None
        db.refresh(row)

    def update(
        self,
        db: Session,
        workspace_id: str,
        row_id: str,
        make: Callable[[Row, VersionRow], Change],
        *,
        if_match: str | None,
    ) -> tuple[Row, Content]:
        """Read, check ``if_match`` (required), build the new content with ``make`` (which
        validates), write it as a new version; returns the row and the new content.

        With ``If-Match: *`` a lost race is retried on the newer version (the client asked for
        "whatever is current"); with an ETag it is a 412.
        """
        attempts = 1
        while True:
            row, current = self.current(db, workspace_id, row_id)
            condition = Precondition(
                if_match, self.number(row), required=True, what=self.what, unit=self.unit
            )
            content, message, name = make(row, current)
            try:
                self._new_version(db, row, self.number(row), content, message, name)
            except _LostRace:
                if attempts < condition.retries:
                    attempts += 1
                    continue
                raise stale(self._number_now(db, row_id), if_match, what=self.what, unit=self.unit) from None
            return row, content

    def restore_version(
        self,
        db: Session,
        workspace_id: str,
        row_id: str,
        number: int,
        message: str | None,
        check: Callable[[Content], None],
        *,
        if_match: str | None,
        stager: CommitStager | None = None,
    ) -> tuple[Row, Content]:
        """Make version ``number``'s content current again as a new version (``if_match``
        required); ``check`` validates it again (an asset it names may be gone since). The
        answer (200, the resource, its ETag) is staged with ``stager`` inside the new version's
        commit."""
        restored: dict[str, Content] = {}

        def make(row: Row, current: VersionRow) -> Change:
            content = self.content_of(self.version(db, row, number))
            check(content)
            restored["content"] = copy.deepcopy(content)
            return (
                restored["content"],
                message if message is not None else f"restored {self.unit} {number}",
                None,
            )

        def staged() -> Staged:
            # Inside the new version's commit: the response as it will be sent.
            row = db.get(self.row, row_id, populate_existing=True)
            assert row is not None
            return 200, self.show(row, restored["content"]), {"ETag": etag(self.number(row))}

        if stager is not None:
            stager.stage_at_commit(db, staged)
        return self.update(db, workspace_id, row_id, make, if_match=if_match)

    def remove(self, db: Session, row: Row, *, if_match: str | None) -> None:
        """Delete the row (its versions cascade) if ``if_match``, when given, is current; 404 if
        it is gone, 412 if it changed. The caller records what it must and commits."""
        table: Any = self.row
        row_id = cast(Any, row).id
        counter = getattr(table, self.counter)
        condition = Precondition(if_match, self.number(row), required=False, what=self.what, unit=self.unit)
        query = delete(table).where(table.id == row_id).execution_options(synchronize_session=False)
        if not condition.star:
            query = query.where(counter == self.number(row))
        if cast(CursorResult[Any], db.execute(query)).rowcount != 1:
            db.rollback()
            current = self._number_now(db, row_id)
            if current is None:
                raise NotFound(f"no {self.what} {row_id}")
            raise stale(current, if_match, what=self.what, unit=self.unit)
