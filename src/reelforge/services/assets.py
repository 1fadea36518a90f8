"""Assets: ingesting an upload, reading and listing them, changing their name, tags and
metadata, deleting them, and finding their stored bytes and previews.

Delete policy: **refuse**. Deleting an asset is a 409 ``conflict`` (naming the renders) while a
render that reads it is queued, preparing, rendering or finishing; once those renders end (or
are cancelled) the delete goes through and removes the row, its tags and the stored bytes and
previews at once. Renders that already finished keep their outputs, which are assets of their
own. The check and the delete run in one transaction with the asset row locked, so a render
created at the same moment either sees the asset or not.

Reads run Core statements on a connection: plain rows with just the resource's columns (no ORM
objects), and the tags in the same query, joined with a separator no tag can hold. A list page
reads ids and revisions first and the representations only of the assets it has not encoded at
that revision yet (:class:`~reelforge.services.context.RepresentationCache`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple, cast

from sqlalchemy import ColumnElement, Connection, Select, and_, bindparam, delete, func, or_, select
from sqlalchemy.orm import Session

from reelforge.db.audit import record_audit
from reelforge.db.models import (
    RUNNING_STATES,
    Asset,
    AssetCollection,
    AssetReview,
    AssetTag,
    AssetVersion,
    Render,
    RenderAsset,
)
from reelforge.db.raw import decode_json_fields, raw_datetime_column, raw_json_column
from reelforge.media.ingest import IngestError, ingest_file, remove_empty_dirs
from reelforge.representations import asset_json, record_asset_event

from .audit import Actor
from .context import RepresentationCache, Services
from .errors import Conflict, Invalid, NotFound, Unavailable
from .limits import check_storage_quota
from .retention import expired_at
from .versioning import CommitStager, Staged

__all__ = [
    "ACTIVE_RENDER_STATES",
    "MAX_COLLECTIONS",
    "MAX_METADATA_BYTES",
    "MAX_TAGS",
    "PageRow",
    "collections_of",
    "content_location",
    "delete_asset",
    "download_name",
    "find_asset",
    "ingest_upload",
    "list_collections",
    "list_page",
    "open_content",
    "patch_asset",
    "preview_bytes",
    "read_asset",
    "tags_of",
]

log = logging.getLogger("reelforge.api.assets")

ACTIVE_RENDER_STATES = ("queued", *RUNNING_STATES)
"""Renders in these states still read their assets; an asset they use cannot be deleted."""
MAX_TAGS = 50
MAX_COLLECTIONS = 50
MAX_METADATA_BYTES = 16 * 1024

Precondition = Callable[[dict[str, Any]], None]
"""Checks the caller's condition (``If-Match``) against the asset's representation; raises."""


# ------------------------------------------------------------------------------ reading

_ASSETS = Asset.__table__.c
_TAGS = AssetTag.__table__.c
_COLLECTIONS = AssetCollection.__table__.c
_VERSIONS = AssetVersion.__table__.c
_REVIEWS = AssetReview.__table__.c
_TAG_SEPARATOR = "\x1f"  # tags cannot hold control characters


class AssetRow(NamedTuple):
    """A read row with plain attributes (a SQLAlchemy Row's named access costs ~0.5 µs per field):
    what ``asset_json`` reads, and the tags joined by ``_TAG_SEPARATOR``."""

    id: str
    name: str
    kind: str
    content_type: str
    size_bytes: int
    sha256: str
    media: dict[str, Any]
    meta: dict[str, Any]
    source: str
    derived_from: dict[str, Any]
    created_at: datetime
    thumbnail_key: str | None
    waveform_key: str | None
    previews: str | None
    revision: int
    version: int
    external_system: str | None
    external_id: str | None
    tag_list: str | None
    collection_list: str | None


class PageRow(NamedTuple):
    """An asset of a list page: its place in the order and the revision of its representation.
    ``created_at`` is SQLite's text there (parsed only for the cursor), a datetime elsewhere."""

    id: str
    revision: int
    created_at: Any


_READ_FIELDS = AssetRow._fields[:-2]
_JSON_FIELDS = ("media", "meta", "derived_from")
_JSON_INDEXES = tuple(_READ_FIELDS.index(c) for c in _JSON_FIELDS)
_DATETIME_INDEXES = (_READ_FIELDS.index("created_at"),)
_READ_COLUMNS = (
    *(
        raw_json_column(_ASSETS[c])
        if c in _JSON_FIELDS
        else raw_datetime_column(_ASSETS[c])
        if c == "created_at"
        else _ASSETS[c]
        for c in _READ_FIELDS
    ),
    select(func.aggregate_strings(_TAGS.tag, _TAG_SEPARATOR))
    .where(_TAGS.asset_id == _ASSETS.id)
    .scalar_subquery()
    .label("tag_list"),
    select(func.aggregate_strings(_COLLECTIONS.collection, _TAG_SEPARATOR))
    .where(_COLLECTIONS.asset_id == _ASSETS.id)
    .scalar_subquery()
    .label("collection_list"),
)
_GET_ASSET = select(*_READ_COLUMNS).where(
    _ASSETS.id == bindparam("id"), _ASSETS.workspace_id == bindparam("workspace_id")
)


def _list_query(*, cursor: bool) -> Select[Any]:
    """A page of the workspace's assets (:class:`PageRow`), newest first (keyset pagination)."""
    query = select(_ASSETS.id, _ASSETS.revision, raw_datetime_column(_ASSETS.created_at)).where(
        _ASSETS.workspace_id == bindparam("workspace_id")
    )
    if cursor:
        after = bindparam("after_created", type_=_ASSETS.created_at.type)
        after_id = bindparam("after_id", type_=_ASSETS.id.type)
        query = query.where(
            or_(_ASSETS.created_at < after, and_(_ASSETS.created_at == after, _ASSETS.id < after_id))
        )
    return query.order_by(_ASSETS.created_at.desc(), _ASSETS.id.desc()).limit(bindparam("limit"))


_LIST_FIRST = _list_query(cursor=False)
_LIST_AFTER = _list_query(cursor=True)


def _row_tags(row: AssetRow) -> list[str]:
    return row.tag_list.split(_TAG_SEPARATOR) if row.tag_list else []


def _row_collections(row: AssetRow) -> list[str]:
    return row.collection_list.split(_TAG_SEPARATOR) if row.collection_list else []


def _read_assets(conn: Connection, where: ColumnElement[bool]) -> list[AssetRow]:
    rows = conn.execute(select(*_READ_COLUMNS).where(where)).all()
    return [AssetRow._make(row) for row in decode_json_fields(rows, _JSON_INDEXES, _DATETIME_INDEXES)]


def read_asset(conn: Connection, workspace_id: str, asset_id: str) -> dict[str, Any]:
    """The asset as shown; 404 when the workspace has no such asset."""
    row = conn.execute(_GET_ASSET, {"id": asset_id, "workspace_id": workspace_id}).first()
    if row is None:
        raise NotFound(f"no asset {asset_id}")
    asset = AssetRow._make(decode_json_fields([row], _JSON_INDEXES, _DATETIME_INDEXES)[0])
    return asset_json(cast(Asset, asset), _row_tags(asset), _row_collections(asset))


def list_page(
    conn: Connection,
    workspace_id: str,
    *,
    limit: int,
    after: tuple[datetime, str] | None,
    cache: RepresentationCache,
    encode: Callable[[dict[str, Any]], bytes],
    kind: str | None = None,
    source: str | None = None,
    tags: Sequence[str] = (),
    collection: str | None = None,
    name: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    review_state: str | None = None,
    approved_at: datetime | None = None,
    external_system: str | None = None,
    external_id: str | None = None,
) -> tuple[list[PageRow], dict[str, bytes]]:
    """Up to ``limit + 1`` assets (newest first, after the cursor position ``after``) matching
    every filter given, and the encoded representation of the first ``limit`` by id (an asset
    deleted between the two reads has none)."""
    params: dict[str, Any] = {"workspace_id": workspace_id, "limit": limit + 1}
    if after is not None:
        params["after_created"], params["after_id"] = after
    if (
        kind
        or source
        or tags
        or collection
        or name
        or created_after
        or created_before
        or review_state
        or approved_at
        or external_system
        or external_id
    ):
        built = _list_query(cursor=after is not None)
        if kind:
            built = built.where(_ASSETS.kind == kind)
        if source:
            built = built.where(_ASSETS.source == source)
        for t in tags:
            built = built.where(_ASSETS.id.in_(select(_TAGS.asset_id).where(_TAGS.tag == t)))
        if collection:
            built = built.where(
                _ASSETS.id.in_(select(_COLLECTIONS.asset_id).where(_COLLECTIONS.collection == collection))
            )
        if name:
            built = built.where(_ASSETS.name.icontains(name, autoescape=True))
        if created_after:
            built = built.where(_ASSETS.created_at >= created_after)
        if created_before:
            built = built.where(_ASSETS.created_at < created_before)
        if review_state:
            built = built.where(review_state_filter(review_state))
        if approved_at:
            built = built.where(approved_at_filter(approved_at))
        if external_system:
            built = built.where(_ASSETS.external_system == external_system)
        if external_id:
            built = built.where(_ASSETS.external_id == external_id)
        query: Select[Any] = built
    else:
        query = _LIST_AFTER if after is not None else _LIST_FIRST  # built once: nothing to build or cache-key
    rows = [PageRow._make(row) for row in conn.execute(query, params).all()]
    docs: dict[str, bytes] = {}
    missing = []
    for row in rows[:limit]:
        doc = cache.get(row.id, row.revision)
        if doc is None:
            missing.append(row.id)
        else:
            docs[row.id] = doc
    if missing:  # made once per revision of an asset, then served from the cache
        for asset in _read_assets(conn, _ASSETS.id.in_(missing)):
            docs[asset.id] = encode(asset_json(cast(Asset, asset), _row_tags(asset), _row_collections(asset)))
            cache.put(asset.id, asset.revision, docs[asset.id])
    return rows, docs


def review_state_filter(state: str) -> ColumnElement[bool]:
    """Assets whose newest version is in review state ``state``."""
    return _ASSETS.id.in_(
        select(_VERSIONS.asset_id).where(
            _VERSIONS.asset_id == _ASSETS.id, _VERSIONS.number == _ASSETS.version, _VERSIONS.state == state
        )
    )


def approved_at_filter(at: datetime) -> ColumnElement[bool]:
    """Assets with a version that was approved at time ``at``: the last review of that version
    at or before ``at`` approved it, and that approval had not ended by ``at``."""
    last = (
        select(func.max(_REVIEWS.at))
        .where(_REVIEWS.version_id == _VERSIONS.id, _REVIEWS.at <= at)
        .correlate(AssetVersion.__table__)
        .scalar_subquery()
    )
    return _ASSETS.id.in_(
        select(_VERSIONS.asset_id)
        .join(AssetReview.__table__, _REVIEWS.version_id == _VERSIONS.id)
        .where(
            _REVIEWS.at == last,
            _REVIEWS.state == "approved",
            or_(_REVIEWS.approved_until.is_(None), _REVIEWS.approved_until > at),
        )
    )


def tags_of(db: Session, ids: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {i: [] for i in ids}
    if ids:
        for row in db.execute(select(AssetTag.asset_id, AssetTag.tag).where(AssetTag.asset_id.in_(ids))):
            found[row.asset_id].append(row.tag)
    return found


def collections_of(db: Session, ids: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {i: [] for i in ids}
    if ids:
        query = select(AssetCollection.asset_id, AssetCollection.collection).where(
            AssetCollection.asset_id.in_(ids)
        )
        for row in db.execute(query):
            found[row.asset_id].append(row.collection)
    return found


def list_collections(
    conn: Connection, workspace_id: str, *, limit: int, after: str | None
) -> list[tuple[str, int]]:
    """Up to ``limit + 1`` of the workspace's collections (name, assets), by name, after the
    name ``after``."""
    query = (
        select(_COLLECTIONS.collection, func.count())
        .join(Asset.__table__, _ASSETS.id == _COLLECTIONS.asset_id)
        .where(_ASSETS.workspace_id == workspace_id)
        .group_by(_COLLECTIONS.collection)
        .order_by(_COLLECTIONS.collection)
        .limit(limit + 1)
    )
    if after is not None:
        query = query.where(_COLLECTIONS.collection > after)
    return [(row[0], row[1]) for row in conn.execute(query)]


def set_collections(db: Session, asset_id: str, collections: Sequence[str]) -> list[str]:
    """Replace the asset's collections by ``collections`` (duplicates dropped); the new set."""
    unique = list(dict.fromkeys(collections))
    db.execute(delete(AssetCollection).where(AssetCollection.asset_id == asset_id))
    db.add_all(AssetCollection(asset_id=asset_id, collection=c) for c in unique)
    return unique


def find_asset(db: Session, workspace_id: str, asset_id: str, *, lock: bool = False) -> Asset:
    """The workspace's asset (locked for update with ``lock``); 404 otherwise."""
    query = select(Asset).where(Asset.id == asset_id, Asset.workspace_id == workspace_id)
    asset = db.scalar(query.with_for_update() if lock else query)
    if asset is None:
        raise NotFound(f"no asset {asset_id}")
    return asset


def shown(db: Session, asset: Asset) -> dict[str, Any]:
    """The asset as shown (its tags and collections read)."""
    return asset_json(asset, tags_of(db, [asset.id])[asset.id], collections_of(db, [asset.id])[asset.id])


# ------------------------------------------------------------------------------ ingest


def ingest_upload(
    services: Services,
    workspace_id: str,
    path: Path,
    *,
    name: str,
    sha256: str,
    tags: list[str],
    metadata: dict[str, Any],
    collections: Sequence[str] = (),
    stager: CommitStager | None = None,
    answer: Callable[[dict[str, Any]], Staged] | None = None,
    source: str = "upload",
    derived_from: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], bool]:
    """Make the uploaded file at ``path`` (its ``sha256`` known) an asset of the workspace, or
    find the workspace's asset with the same bytes: its representation, and whether it is new.

    A new asset's previews are made after this returns. ``stager`` stores ``answer(asset)``
    inside the new asset's commit (an idempotent request's response is stored with it).
    ``source`` and ``derived_from`` record where the bytes came from (``import`` and its URL)."""
    with services.sessions() as db:
        if stager is not None and answer is not None:
            respond = answer

            def staged() -> Staged:
                # Inside the new asset's commit: its response is stored with it.
                asset = db.scalar(
                    select(Asset).where(Asset.workspace_id == workspace_id, Asset.sha256 == sha256)
                )
                assert asset is not None
                return respond(shown(db, asset))

            stager.stage_at_commit(db, staged)
        known = db.scalar(select(Asset.id).where(Asset.workspace_id == workspace_id, Asset.sha256 == sha256))
        restoring = known is not None and expired_at(db, known) is not None
        if known is None or restoring:
            # The same bytes again add nothing (never refused by the quota), unless retention
            # removed them: then they are stored again.
            check_storage_quota(db, workspace_id, path.stat().st_size)
        try:
            # Previews (FFmpeg may decode the whole file for a waveform) are made after the answer.
            asset, created = ingest_file(
                db,
                services.storage,
                workspace_id=workspace_id,
                path=path,
                name=name,
                settings=services.settings,
                sha256=sha256,
                tags=tags,
                collections=collections,
                metadata=metadata,
                defer_previews=True,
                source=source,
                derived_from=derived_from,
            )
        except IngestError as exc:
            code = exc.code if exc.code in ("media-unsupported", "content-too-large") else "media-unsupported"
            raise Invalid(
                exc.reason,
                code=code,
                errors=[{"pointer": "#/file", "detail": exc.reason, "code": code.replace("-", "_")}],
            ) from None
        if (created or restoring) and asset.previews == "pending":
            services.previews().submit(asset.id)
        return shown(db, asset), created


# ------------------------------------------------------------------------------ change, delete


def patch_asset(
    db: Session,
    workspace_id: str,
    asset_id: str,
    changes: Mapping[str, Any],
    *,
    precondition: Precondition | None = None,
) -> dict[str, Any]:
    """Replace the ``name``, ``metadata``, ``tags`` and ``collections`` (as a whole) present in
    ``changes``; ``precondition`` sees the asset as it was. Committed; the asset as shown now."""
    asset = find_asset(db, workspace_id, asset_id, lock=True)
    tags = tags_of(db, [asset.id])[asset.id]
    collections = collections_of(db, [asset.id])[asset.id]
    if precondition is not None:
        precondition(asset_json(asset, tags, collections))
    if "name" in changes:
        asset.name = changes["name"]
    if "metadata" in changes:
        asset.meta = changes["metadata"]
    if "tags" in changes:
        tags = list(dict.fromkeys(changes["tags"]))
        db.execute(delete(AssetTag).where(AssetTag.asset_id == asset.id))
        db.add_all(AssetTag(asset_id=asset.id, tag=t) for t in tags)
    if "collections" in changes:
        collections = set_collections(db, asset.id, changes["collections"])
    db.commit()
    return asset_json(asset, tags, collections)


def delete_asset(
    db: Session,
    services: Services,
    workspace_id: str,
    asset_id: str,
    *,
    precondition: Precondition | None = None,
    actor: Actor,
) -> None:
    """Delete the asset, its tags, stored bytes and previews (audited), unless an unfinished
    render reads it: then 409 ``conflict`` listing them in ``renders``. Renders waiting for the
    approval of its transcript fail (``transcript_unavailable``) rather than hold it."""
    from .transcripts import fail_waiting  # transcripts builds on assets

    asset = find_asset(db, workspace_id, asset_id, lock=True)
    if precondition is not None:
        precondition(shown(db, asset))
    # Renders waiting for the approval of its transcript cannot get it any more: they fail
    # (undone by the rollback below if other renders still need the asset).
    fail_waiting(db, asset.workspace_id, asset.id, "the asset was deleted")
    busy = list(
        db.scalars(
            select(Render.id)
            .join(RenderAsset, RenderAsset.render_id == Render.id)
            .where(
                RenderAsset.asset_id == asset.id,
                Render.workspace_id == asset.workspace_id,
                Render.state.in_(ACTIVE_RENDER_STATES),
            )
            .order_by(Render.id)
        )
    )
    if busy:
        db.rollback()
        shown_ids = ", ".join(busy[:10]) + (f" and {len(busy) - 10} more" if len(busy) > 10 else "")
        raise Conflict(
            f"asset {asset.id} is used by renders that have not finished ({shown_ids}); "
            "cancel them or wait until they end",
            renders=busy,
        )
    keys = [k for k in (asset.storage_key, asset.thumbnail_key, asset.waveform_key) if k]
    # Every version's files go too (a restored version shares its bytes with an older one).
    for row in db.execute(
        select(AssetVersion.storage_key, AssetVersion.thumbnail_key, AssetVersion.waveform_key).where(
            AssetVersion.asset_id == asset.id
        )
    ):
        keys.extend(k for k in row if k and k not in keys)
    record_asset_event(db, asset, tags_of(db, [asset.id])[asset.id], "asset.deleted")
    record_audit(
        db,
        workspace_id=asset.workspace_id,
        action="asset.deleted",
        resource_type="asset",
        resource_id=asset.id,
        details={
            "name": asset.name,
            "kind": asset.kind,
            "sha256": asset.sha256,
            "size_bytes": asset.size_bytes,
        },
        **actor,
    )
    db.execute(delete(AssetTag).where(AssetTag.asset_id == asset.id))
    db.delete(asset)
    db.commit()
    # Files go after the commit: a failure here leaves an orphan file, never a row without bytes.
    for key in keys:
        try:
            services.storage.delete(key)
        except OSError as exc:
            log.warning("could not remove %s: %s", key, exc)
    remove_empty_dirs(services.storage, keys)


# ------------------------------------------------------------------------------ stored bytes


def download_name(asset: Asset) -> str:
    """The file name a download suggests: the asset's name, with the stored file's suffix when
    the name has none."""
    suffix = Path(asset.storage_key).suffix
    name = asset.name
    return name if Path(name).suffix or not suffix else name + suffix


def _check_not_expired(services: Services, asset: Asset) -> None:
    with services.sessions() as db:
        expired = expired_at(db, asset.id)
    if expired is not None:
        raise NotFound(
            f"the content of asset {asset.id} expired on {expired.isoformat()} (the workspace's "
            "output retention); render it again, or pin outputs to keep them"
        )


def content_location(services: Services, asset: Asset, disposition: str) -> str | None:
    """Where the client fetches the asset's bytes from the storage itself (a presigned URL, when
    the storage is S3 with redirected downloads); None: the API sends them. 404 as
    :func:`open_content` for expired content."""
    _check_not_expired(services, asset)
    return services.storage.download_url(
        asset.storage_key, disposition=disposition, content_type=asset.content_type
    )


def open_content(services: Services, asset: Asset) -> BinaryIO:
    """The asset's stored bytes, opened; 404 when the file is missing from storage or was
    removed by retention (saying so)."""
    _check_not_expired(services, asset)
    try:
        return services.storage.open(asset.storage_key)
    except FileNotFoundError:
        log.error("asset %s: stored file %s is missing", asset.id, asset.storage_key)
        raise NotFound(f"the content of asset {asset.id} is missing from storage") from None
    except OSError as exc:  # the object store did not answer: not the client's fault
        log.error("asset %s: storage failed: %s", asset.id, exc)
        raise Unavailable("the storage did not answer; try again shortly") from None


def preview_bytes(db: Session, services: Services, workspace_id: str, asset_id: str, which: str) -> bytes:
    """The asset's ``thumbnail`` or ``waveform`` PNG; 404 when it has none or it is missing."""
    asset = find_asset(db, workspace_id, asset_id)
    key = asset.thumbnail_key if which == "thumbnail" else asset.waveform_key
    if not key:
        raise NotFound(f"asset {asset_id} has no {which}")
    try:
        with services.storage.open(key) as fh:
            return fh.read()
    except FileNotFoundError:
        raise NotFound(f"the {which} of asset {asset_id} is missing from storage") from None
    except OSError as exc:
        log.error("asset %s: storage failed: %s", asset_id, exc)
        raise Unavailable("the storage did not answer; try again shortly") from None
