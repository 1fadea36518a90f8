"""Batches: one template filled with many value rows, in several locales, as ordinary renders.

A batch row is the request as it was accepted (template version, locales, outputs, campaign
tags, the rows refused with their problems); each accepted row x locale is a
:class:`BatchItem` pointing at the render that makes it. Items whose merged edit and outputs
are identical share one render (``duplicate_of`` names the item that made it).

The batch's state is never stored: it is computed from its renders' states, so it cannot drift
from them. What is stored is the moment the last render ended (``finished_at``), written by
:func:`settle_batches` in the very transaction that moves a render to a final state, together
with the ``batch.completed`` event. The render worker, the render cancel route and the batch
cancel route all call it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .events import record_event
from .models import RUNNING_STATES, TERMINAL_STATES, Asset, AssetTag, Base, Render, utcnow

__all__ = [
    "BATCH_STATES",
    "Batch",
    "BatchItem",
    "batch_json",
    "batches_json",
    "record_batch_event",
    "settle_batches",
]

# The render states as the batch counts them: the running ones as one.
_TERMINAL = TERMINAL_STATES
_RUNNING = RUNNING_STATES
COUNTED = ("queued", "running", "succeeded", "failed", "cancelled")
BATCH_STATES = ("running", "succeeded", "partially_failed", "failed", "cancelled")


class Batch(Base):
    __tablename__ = "batches"
    __table_args__ = (Index("ix_batches_workspace_created", "workspace_id", "created_at", "id"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    template_id: Mapped[str] = mapped_column(String(40))
    template_version: Mapped[int] = mapped_column(Integer)
    locales: Mapped[list[Any]] = mapped_column(default=list)
    """The locales asked for; ``[]`` renders each row once without a locale."""
    outputs: Mapped[list[Any]] = mapped_column(default=list)
    """The outputs every render gets instead of the template's; ``[]`` keeps the template's."""
    tags: Mapped[list[Any]] = mapped_column(default=list)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    all_or_nothing: Mapped[bool] = mapped_column(Boolean, default=False)
    rows_source: Mapped[str] = mapped_column(String(8), default="json")
    """``json`` (rows numbered by their 0-based index) or ``csv`` (by their 1-based line)."""
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[list[Any]] = mapped_column(default=list)
    """The row x locale combinations refused at creation: ``{row, locale, errors}`` each."""
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class BatchItem(Base):
    """One accepted row x locale, and the render that makes it."""

    __tablename__ = "batch_items"
    __table_args__ = (
        Index("ix_batch_items_batch_row", "batch_id", "row"),
        Index("ix_batch_items_render", "render_id"),
    )
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    """The item's place in the batch: rows in order, each row's locales in the order asked."""
    row: Mapped[int] = mapped_column(Integer)
    locale: Mapped[str | None] = mapped_column(String(35), default=None)
    render_id: Mapped[str] = mapped_column(ForeignKey("renders.id", ondelete="CASCADE"))
    duplicate_of: Mapped[int | None] = mapped_column(Integer, default=None)
    """The position of the earlier item with the identical render, which this item shares."""


# ------------------------------------------------------------------ representation

_ANY = TypeAdapter(Any)


def _counts(db: Session, batch_ids: Sequence[str]) -> dict[str, tuple[dict[str, int], float, int]]:
    """Per batch: renders per counted state, their average progress and how many there are.
    A render shared by duplicate items counts once."""
    renders = (
        select(BatchItem.batch_id, Render.state, Render.progress)
        .join(Render, Render.id == BatchItem.render_id)
        .where(BatchItem.batch_id.in_(batch_ids), BatchItem.duplicate_of.is_(None))
    )
    out: dict[str, tuple[dict[str, int], float, int]] = {}
    totals: dict[str, list[float]] = {}
    for batch_id, state, progress in db.execute(renders):
        counts = out.setdefault(batch_id, ({s: 0 for s in COUNTED}, 0.0, 0))[0]
        counted = "running" if state in _RUNNING else state
        counts[counted] = counts.get(counted, 0) + 1
        # A finished render is done whatever its last progress report said.
        totals.setdefault(batch_id, []).append(100.0 if state in _TERMINAL else float(progress or 0.0))
    for batch_id, values in totals.items():
        out[batch_id] = (out[batch_id][0], round(sum(values) / len(values), 1), len(values))
    return out


def _state(batch: Batch, counts: dict[str, int]) -> str:
    if counts["queued"] or counts["running"]:
        return "running"
    if batch.cancel_requested:
        return "cancelled"
    done = counts["succeeded"]
    if done and not counts["failed"] and not counts["cancelled"]:
        return "succeeded"
    if done:
        return "partially_failed"
    if counts["cancelled"] and not counts["failed"]:
        return "cancelled"  # each of its renders was cancelled one by one
    return "failed"


def _duplicates(db: Session, batch_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    items = db.execute(select(BatchItem).where(BatchItem.batch_id.in_(batch_ids))).scalars().all()
    by_position = {(i.batch_id, i.position): i for i in items}
    out: dict[str, list[dict[str, Any]]] = {}
    for item in sorted(items, key=lambda i: (i.batch_id, i.position)):
        if item.duplicate_of is None:
            continue
        first = by_position.get((item.batch_id, item.duplicate_of))
        out.setdefault(item.batch_id, []).append(
            {
                "row": item.row,
                "locale": item.locale,
                "render_id": item.render_id,
                "same_as": {"row": first.row, "locale": first.locale} if first else None,
            }
        )
    return out


def batches_json(db: Session, batches: Sequence[Batch]) -> list[dict[str, Any]]:
    """The batch resources (with three queries, whatever the number of batches)."""
    ids = [b.id for b in batches]
    counted = _counts(db, ids) if ids else {}
    duplicates = _duplicates(db, ids) if ids else {}
    items = (
        dict(
            db.execute(
                select(BatchItem.batch_id, func.count())
                .where(BatchItem.batch_id.in_(ids))
                .group_by(BatchItem.batch_id)
            ).all()
        )
        if ids
        else {}
    )
    out = []
    for batch in batches:
        counts, progress, renders = counted.get(batch.id, ({s: 0 for s in COUNTED}, 0.0, 0))
        rejected = list(batch.rejected or [])
        out.append(
            {
                "id": batch.id,
                "object": "batch",
                "state": _state(batch, counts),
                "progress": progress if renders else 100.0,
                "counts": counts,
                "template_id": batch.template_id,
                "template_version": batch.template_version,
                "locales": list(batch.locales or []),
                "outputs": list(batch.outputs or []),
                "tags": list(batch.tags or []),
                "all_or_nothing": batch.all_or_nothing,
                "rows": {
                    "source": batch.rows_source,
                    "total": batch.rows_total,
                    "rejected": len({r.get("row") for r in rejected}),
                },
                "items": int(items.get(batch.id, 0)),
                "renders": renders,
                "duplicates": duplicates.get(batch.id, []),
                "rejected": rejected,
                "cancel_requested": batch.cancel_requested,
                "metadata": dict(batch.meta or {}),
                "created_at": batch.created_at,
                "cancelled_at": batch.cancelled_at,
                "finished_at": batch.finished_at,
                "renders_url": f"/v1/batches/{batch.id}/renders",
            }
        )
    return out


def batch_json(db: Session, batch: Batch) -> dict[str, Any]:
    return batches_json(db, [batch])[0]


def record_batch_event(db: Session, batch: Batch, type: str) -> None:
    """Record ``batch.<what>`` with the batch as ``GET`` shows it after this transaction."""
    db.flush()
    record_event(
        db,
        workspace_id=batch.workspace_id,
        type=type,
        resource_type="batch",
        resource_id=batch.id,
        data=_ANY.dump_python(batch_json(db, batch), mode="json"),
    )


# ------------------------------------------------------------------ a render ended


def _tag_outputs(db: Session, render_ids: Iterable[str], tags_by_render: dict[str, list[str]]) -> None:
    """Give a succeeded render's output assets the batch's campaign tags (so ``GET /v1/assets?tag=``
    finds a campaign's videos)."""
    query = select(Render).where(Render.id.in_(list(render_ids)), Render.state == "succeeded")
    for render in db.scalars(query.execution_options(populate_existing=True)):
        tags = tags_by_render.get(render.id) or []
        asset_ids = [
            r["asset_id"] for r in (render.outputs or []) if isinstance(r, dict) and r.get("asset_id")
        ]
        if not tags or not asset_ids:
            continue
        present = {
            (a, t)
            for a, t in db.execute(
                select(AssetTag.asset_id, AssetTag.tag).where(AssetTag.asset_id.in_(asset_ids))
            )
        }
        existing = set(db.scalars(select(Asset.id).where(Asset.id.in_(asset_ids))))
        db.add_all(
            AssetTag(asset_id=a, tag=t)
            for a in asset_ids
            if a in existing
            for t in tags
            if (a, t) not in present
        )


def settle_batches(db: Session, render_ids: Iterable[str]) -> list[str]:
    """Call in the transaction that moved ``render_ids`` to a final state, before its commit.

    Tags the outputs of those that succeeded with their batch's campaign tags, and finishes
    every batch of theirs whose renders have all ended: ``finished_at`` and a
    ``batch.completed`` event, exactly once. Returns the ids of the batches it finished."""
    ids = sorted(set(render_ids))
    if not ids:
        return []
    rows = db.execute(
        select(BatchItem.batch_id, BatchItem.render_id).where(BatchItem.render_id.in_(ids)).distinct()
    ).all()
    if not rows:
        return []
    batch_ids = sorted({b for b, _ in rows})
    finished = []
    for batch_id in batch_ids:
        # Locked, so two renders of the batch ending at once (in two transactions) cannot both
        # see the other still running: the second waits and then sees the first one's end.
        batch = db.scalars(
            select(Batch)
            .where(Batch.id == batch_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one_or_none()
        if batch is None:
            continue
        if batch.tags:
            _tag_outputs(
                db,
                [r for b, r in rows if b == batch_id],
                {r: list(batch.tags) for b, r in rows if b == batch_id},
            )
        if batch.finished_at is not None:
            continue
        pending = db.scalar(
            select(func.count())
            .select_from(BatchItem)
            .join(Render, Render.id == BatchItem.render_id)
            .where(BatchItem.batch_id == batch_id, Render.state.not_in(_TERMINAL))
        )
        if pending:
            continue
        batch.finished_at = utcnow()
        record_batch_event(db, batch, "batch.completed")
        finished.append(batch_id)
    return finished
