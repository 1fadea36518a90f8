"""Imports: media fetched from an http(s) URL becomes an asset, in the background.

``POST /v1/assets/imports`` records an :class:`~reelforge.db.uploads.Import` (``queued``) and
hands it to this process's :class:`ImportRunner`; the fetch (:mod:`reelforge.jobs.fetch`: SSRF
rules of webhook delivery, size and time limits, resumed with Range) writes into the storage's
upload area, then the file goes through the same ingest as an upload (sniff, probe, dedup by
sha256, previews) with ``source: "import"`` and the URL in ``derived_from``. Progress and the
result are events: ``import.progress`` (at most one a second), ``import.succeeded`` (with the
asset's id) and ``import.failed`` (a coarse reason, never the server's answer).

Edits name URLs as sources too (:func:`import_sources`): each URL is imported once per
workspace. A later edit naming it again reuses that asset when the server still answers the
same ``ETag`` (or gives none); a changed file is imported again (and deduplicated by its
content hash if only the ETag changed).

Imports a stopped process left ``queued`` or ``fetching`` are taken up again by the next one
(their partial bytes are kept and continued with Range). A run claims its import with a
conditional UPDATE and a lease (``claimed_by``, ``claimed_until``) renewed while it fetches, so
of several processes only one fetches an import into its ``.part`` file.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import httpx
from sqlalchemy import or_, select

from reelforge.db.events import record_event
from reelforge.db.models import Asset, new_id, utcnow
from reelforge.db.uploads import Import
from reelforge.db.workers import Heartbeat
from reelforge.edit.references import asset_references
from reelforge.jobs.fetch import FetchFailed, FetchLimits, fetch_to_file, url_policy
from reelforge.media.ingest import clean_name
from reelforge.representations import json_ready
from reelforge.webhooks.ssrf import SafeAsyncTransport, UrlPolicy

from . import asset_versions, assets, edits, webhooks
from .audit import SYSTEM_ACTOR
from .context import Services
from .errors import Invalid, NotFound, ServiceError
from .leases import LeasedJobs

__all__ = [
    "MAX_ETAG",
    "PROGRESS_INTERVAL",
    "ImportRunner",
    "bounded_etag",
    "create_import",
    "import_json",
    "import_sources",
    "import_url_sources",
    "names_urls",
    "policy",
    "read_import",
    "runner",
    "wait_for",
]

log = logging.getLogger("reelforge.imports")

PROGRESS_INTERVAL = 1.0
"""Seconds between two ``import.progress`` events of one import."""
_RUNNER = "import_runner"
LEASE = 60.0
"""Seconds an import's claim holds unless renewed (renewed every third of it while fetching):
another process takes the import up only once it lapsed."""
LEASED = LeasedJobs(Import, ("queued", "fetching"), "fetching", LEASE, "import")
MAX_ETAG = 255
"""The longest ETag stored as the server sent it (the column's size)."""


def policy(services: Services) -> UrlPolicy:
    s = services.settings
    return url_policy(
        allow_private=s.imports_allow_private, ports=s.imports_allowed_ports, denied=s.imports_denied_networks
    )


def _limits(services: Services) -> FetchLimits:
    s = services.settings
    return FetchLimits(
        max_bytes=s.max_upload_bytes,
        deadline=s.imports_timeout,
        read_timeout=s.imports_read_timeout,
        attempts=s.imports_attempts,
    )


def import_json(row: Import) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "import",
        "url": row.url,
        "state": row.state,
        "received_bytes": row.received_bytes,
        "total_bytes": row.total_bytes,
        "asset_id": row.asset_id,
        "error": row.error,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def _event(db: Any, row: Import, type: str) -> None:
    record_event(
        db,
        workspace_id=row.workspace_id,
        type=type,
        resource_type="import",
        resource_id=row.id,
        data=json_ready(import_json(row)),
    )


def check_import_url(services: Services, url: str, pointer: str = "#/url") -> str:
    """The URL, if its shape is allowed (422 ``url-not-allowed`` at ``pointer`` otherwise).
    Addresses behind a host name are checked when connecting."""
    return webhooks.allowed_url(url, policy(services), pointer=pointer, prefix="the URL is not allowed: ")


def create_import(
    services: Services,
    workspace_id: str,
    url: str,
    *,
    name: str | None = None,
    tags: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    collections: list[str] | None = None,
    before_commit: Callable[[Any, dict[str, Any]], None] | None = None,
    start: bool = True,
    version_of: str | None = None,
) -> dict[str, Any]:
    """Record an import of ``url`` and start it (in the background); its representation.
    ``version_of``: the fetched file becomes a new version of that asset of the workspace."""
    url = check_import_url(services, url)
    if version_of is not None:
        with services.sessions() as db:
            known = db.scalar(
                select(Asset.id).where(Asset.id == version_of, Asset.workspace_id == workspace_id)
            )
        if known is None:
            raise NotFound(
                f"no asset {version_of}",
                errors=[
                    {
                        "pointer": "#/asset_id",
                        "detail": "no such asset in this workspace",
                        "code": "not_found",
                    }
                ],
            )
    now = utcnow()
    row = Import(
        id=new_id("imp"),
        workspace_id=workspace_id,
        url=url,
        url_sha256=hashlib.sha256(url.encode()).hexdigest(),
        state="queued",
        name=name,
        tags=list(tags or []),
        collections=list(collections or []),
        meta=dict(metadata or {}),
        received_bytes=0,
        attempts=0,
        created_at=now,
        updated_at=now,
        version_of=version_of,
    )
    with services.sessions() as db:
        db.add(row)
        db.flush()
        body = import_json(row)
        _event(db, row, "import.created")
        if before_commit is not None:
            before_commit(db, body)
        db.commit()
    if start:
        runner(services).submit(row.id)
    return body


def read_import(services: Services, workspace_id: str, import_id: str) -> dict[str, Any]:
    with services.sessions() as db:
        row = db.scalar(select(Import).where(Import.id == import_id, Import.workspace_id == workspace_id))
        if row is None:
            raise NotFound(f"no import {import_id}")
        return import_json(row)


# ------------------------------------------------------------------------------ running one


def run_import(services: Services, import_id: str) -> None:
    """Fetch and ingest one import (on a worker thread) if no other run holds it; its row and
    events tell how it went."""
    with LEASED.held(services.sessions, import_id) as taken:
        if taken:
            _run_claimed(services, import_id)


def _run_claimed(services: Services, import_id: str) -> None:
    with services.sessions() as db:
        row = db.get(Import, import_id)
        if row is None:
            return
        url, workspace_id = row.url, row.workspace_id
        name, tags, meta = row.name, list(row.tags or []), dict(row.meta or {})
        collections = list(row.collections or [])
        version_of = row.version_of
    part = services.storage.uploads_dir() / f"{import_id}.part"
    last = [0.0]

    def progress(received: int, total: int | None) -> None:
        now = time.monotonic()
        if now - last[0] < PROGRESS_INTERVAL:
            return
        last[0] = now
        with services.sessions() as db:
            row = db.get(Import, import_id)
            if row is None:
                return
            row.received_bytes, row.total_bytes, row.updated_at = received, total, utcnow()
            _event(db, row, "import.progress")
            db.commit()

    try:
        fetched = asyncio.run(
            fetch_to_file(url, part, policy=policy(services), limits=_limits(services), progress=progress)
        )
    except FetchFailed as exc:
        part.unlink(missing_ok=True)
        _finish(services, import_id, error={"code": exc.code, "reason": exc.reason, "detail": exc.detail})
        return
    except Exception:
        if _RUNNER not in services.extras:
            # The process is stopping: the next one takes the import up (its bytes are kept).
            log.info("import %s interrupted by shutdown", import_id)
            return
        log.exception("import %s failed unexpectedly", import_id)
        part.unlink(missing_ok=True)
        _finish(
            services,
            import_id,
            error={"code": "import-failed", "reason": "internal", "detail": "internal error"},
        )
        return
    etag = bounded_etag(fetched.etag)
    try:
        with services.sessions() as db:
            row = db.get(Import, import_id)
            if row is not None:
                row.received_bytes, row.total_bytes, row.etag = fetched.size, fetched.size, etag
                db.commit()
        display = name or clean_name(httpx.URL(fetched.url).path.rsplit("/", 1)[-1], fallback="import")
        derived = {"url": url, "import": import_id, **({"etag": etag} if etag else {})}
        if version_of is not None:
            version, _created = asset_versions.add_version(
                services,
                workspace_id,
                version_of,
                part,
                name=display,
                sha256=fetched.sha256,
                actor=SYSTEM_ACTOR,
                source="import",
                derived_from=derived,
            )
            body = {"id": version["asset_id"]}
        else:
            body, _created = assets.ingest_upload(
                services,
                workspace_id,
                part,
                name=display,
                sha256=fetched.sha256,
                tags=tags,
                collections=collections,
                metadata=meta,
                source="import",
                derived_from=derived,
            )
    except ServiceError as exc:
        _finish(services, import_id, error={"code": exc.code, "reason": "media", "detail": exc.detail})
        return
    except Exception:
        # Whatever went wrong after the fetch, the import must not stay ``fetching`` (and be
        # fetched again by every process that starts): it fails, the log says why.
        log.exception("import %s failed after the fetch", import_id)
        _finish(
            services,
            import_id,
            error={"code": "import-failed", "reason": "internal", "detail": "internal error"},
        )
        return
    finally:
        part.unlink(missing_ok=True)  # moved into storage, or not needed (deduplicated, refused)
    _finish(services, import_id, asset_id=body["id"])


def bounded_etag(etag: str | None) -> str | None:
    """``etag`` as stored (at most :data:`MAX_ETAG` characters): a longer one is replaced by its
    sha256, which still tells whether the server's ETag changed."""
    if etag is None or len(etag) <= MAX_ETAG:
        return etag
    return "sha256:" + hashlib.sha256(etag.encode()).hexdigest()


def _finish(
    services: Services, import_id: str, *, asset_id: str | None = None, error: dict[str, Any] | None = None
) -> None:
    with services.sessions() as db:
        row = db.get(Import, import_id)
        if row is None:
            return
        row.state = "succeeded" if asset_id else "failed"
        row.asset_id, row.error, row.updated_at = asset_id, error, utcnow()
        row.claimed_by, row.claimed_until = None, None
        _event(db, row, f"import.{row.state}")
        db.commit()


class ImportRunner:
    """This process's imports, a few at a time on worker threads (each runs its own event loop
    for the async fetch)."""

    def __init__(
        self,
        services: Services,
        *,
        concurrency: int | None = None,
        name: str | None = None,
        kind: str = "imports",
        thread_prefix: str = "reelforge-import",
    ):
        self.services = services
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}:{kind}"
        concurrency = concurrency or services.settings.imports_concurrency
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=thread_prefix)
        self._running: dict[str, Future[None]] = {}
        self._lock = threading.Lock()
        self._shut = False
        self._heartbeat = Heartbeat(
            services.sessions,
            self.name,
            kind,
            self.alive,
            interval=services.settings.worker_heartbeat_interval,
            concurrency=concurrency,
        )

    def start(self) -> None:
        """Heartbeat from now on (see :mod:`reelforge.db.workers`)."""
        self._heartbeat.start()

    def alive(self) -> bool:
        return not self._shut

    def submit(self, import_id: str) -> None:
        with self._lock:
            if import_id in self._running:
                return
            future = self._pool.submit(self._run, import_id)
            self._running[import_id] = future

    def work(self, job_id: str) -> None:
        """Run one job (a subclass runs another kind of job with the same machinery)."""
        run_import(self.services, job_id)

    def pending(self) -> list[str]:
        """The jobs a stopped process left unfinished, oldest first."""
        now = utcnow()
        with self.services.sessions() as db:
            return list(
                db.scalars(
                    select(Import.id)
                    .where(
                        Import.state.in_(("queued", "fetching")),
                        or_(Import.claimed_by.is_(None), Import.claimed_until < now),
                    )
                    .order_by(Import.created_at)
                )
            )

    def _run(self, import_id: str) -> None:
        try:
            self.work(import_id)
        except Exception:
            log.exception("%s: the runner failed", import_id)
        finally:
            with self._lock:
                self._running.pop(import_id, None)

    def recover(self) -> int:
        """Take up the jobs a stopped process left unfinished; how many."""
        ids = self.pending()
        for import_id in ids:
            self.submit(import_id)
        return len(ids)

    def shutdown(self) -> None:
        self._heartbeat.stop()
        self._shut = True
        self._pool.shutdown(wait=False, cancel_futures=True)


def runner(services: Services) -> ImportRunner:
    """This process's import runner (started on first use; it also takes up imports left
    unfinished by a stopped process)."""
    found = services.extras.get(_RUNNER)
    if found is None:
        worker_name = services.settings.worker_name
        name = f"{worker_name}:imports" if worker_name else None
        made = ImportRunner(services, name=name)
        found = services.extras.setdefault(_RUNNER, made)
        if found is made:
            found.start()
            found.recover()
    assert isinstance(found, ImportRunner)
    return found


def wait_for(services: Services, import_id: str, *, timeout: float) -> dict[str, Any]:
    """Block until the import ends (or ``timeout`` passes); its representation then."""
    deadline = time.monotonic() + timeout
    while True:
        with services.sessions() as db:
            row = db.get(Import, import_id)
            if row is None:
                raise NotFound(f"no import {import_id}")
            if row.state in ("succeeded", "failed") or time.monotonic() >= deadline:
                return import_json(row)
        time.sleep(0.05)


# ------------------------------------------------------------------------------ URLs in edits


def _current_etag(services: Services, url: str) -> tuple[bool, str | None]:
    """Whether the server answered a HEAD, and its ETag (checked like any fetch)."""

    async def head() -> tuple[bool, str | None]:
        transport = SafeAsyncTransport(policy(services).addresses)
        async with httpx.AsyncClient(
            transport=transport, follow_redirects=False, trust_env=False, timeout=httpx.Timeout(10.0)
        ) as client:
            response = await client.head(url)
            return response.status_code < 400, response.headers.get("etag")

    try:
        return asyncio.run(head())
    except Exception:
        return False, None


def _previous_import(services: Services, workspace_id: str, url: str) -> Any:
    """The newest succeeded import of ``url`` in the workspace (``asset_id``, ``etag``), or None."""
    digest = hashlib.sha256(url.encode()).hexdigest()
    with services.sessions() as db:
        return db.execute(
            select(Import.asset_id, Import.etag)
            .join(Asset, Asset.id == Import.asset_id)
            .where(
                Import.workspace_id == workspace_id,
                Import.url_sha256 == digest,
                Import.state == "succeeded",
            )
            .order_by(Import.created_at.desc())
            .limit(1)
        ).first()


def import_sources(
    services: Services,
    workspace_id: str,
    urls: list[str],
    *,
    timeout: float,
    pointers: dict[str, str] | None = None,
) -> dict[str, str]:
    """The asset id for each URL an edit names, importing the ones not imported yet (waiting up
    to ``timeout`` seconds in all); 422 naming the URL when one fails."""
    found: dict[str, str] = {}
    pending: dict[str, str] = {}
    for url in dict.fromkeys(urls):
        checked = check_import_url(services, url, pointer="#/")
        previous = _previous_import(services, workspace_id, checked)
        if previous is not None:
            answered, etag = _current_etag(services, checked)
            if not answered or bounded_etag(etag) == previous.etag:
                found[url] = previous.asset_id
                continue
        pending[url] = create_import(services, workspace_id, checked)["id"]
    deadline = time.monotonic() + timeout
    for url, import_id in pending.items():
        body = wait_for(services, import_id, timeout=max(deadline - time.monotonic(), 0.0))
        if body["state"] != "succeeded":
            error = body.get("error") or {"detail": "the import did not finish in time", "reason": "timeout"}
            raise Invalid(
                f"the source {url} could not be imported: {error.get('detail')}",
                code="import-failed",
                errors=[
                    {
                        "pointer": (pointers or {}).get(url, "#/"),
                        "detail": error.get("detail"),
                        "code": error.get("reason"),
                    }
                ],
            )
        found[url] = body["asset_id"]
    return found


def _is_url(src: str) -> bool:
    return src[:8].lower().startswith(("http://", "https://"))


def names_urls(document: Any) -> bool:
    """Whether ``document`` (an edit, raw JSON) names an http(s) URL as a file (importing it
    needs the ``assets:write`` scope)."""
    return document is not None and any(_is_url(ref.src) for ref in asset_references(document))


def import_url_sources(
    services: Services,
    workspace_id: str,
    document: Any,
    *,
    pointer_prefix: str = "/edit",
    check_first: bool = True,
    dry_run: bool = False,
) -> Any:
    """``document`` (an edit or a template's edit, raw JSON) with every http(s) URL it names as
    a file replaced by the asset imported from it (see :func:`import_sources`); the document
    itself when it names none. A refused URL is a 422 ``url-not-allowed`` at its pointer.

    ``check_first``: nothing is fetched for an edit that is wrong anyway: its problems (the URLs
    among them, as sources not imported) are answered as ``edit-invalid`` at once.

    ``dry_run``: nothing is fetched or created. Each URL's shape is checked; a URL imported
    before is named by that asset, one never imported is a 422 ``url-not-imported``."""
    refs = [ref for ref in asset_references(document) if _is_url(ref.src)]
    if not refs:
        return document
    for ref in refs:
        check_import_url(services, ref.src, pointer="#" + pointer_prefix + ref.pointer)
    if dry_run:
        return _dry_run_sources(services, workspace_id, document, refs, pointer_prefix)
    if check_first:
        at_urls = {"#" + pointer_prefix + ref.pointer for ref in refs}
        with services.sessions() as db:
            try:
                edits.validate_service_edit(document, db, workspace_id, pointer_prefix=pointer_prefix)
            except Invalid as exc:
                if any(e.get("pointer") not in at_urls for e in exc.errors or []):
                    raise
    ids = import_sources(
        services,
        workspace_id,
        [ref.src for ref in refs],
        timeout=services.settings.imports_edit_wait,
        pointers={ref.src: "#" + pointer_prefix + ref.pointer for ref in reversed(refs)},
    )
    rewritten = copy.deepcopy(document)
    for ref in refs:
        _set_pointer(rewritten, ref.pointer, ids[ref.src])
    return rewritten


def _dry_run_sources(
    services: Services, workspace_id: str, document: Any, refs: list[Any], pointer_prefix: str
) -> Any:
    rewritten = copy.deepcopy(document)
    missing = []
    for ref in refs:
        previous = _previous_import(services, workspace_id, check_import_url(services, ref.src))
        if previous is None:
            missing.append(
                {
                    "pointer": "#" + pointer_prefix + ref.pointer,
                    "detail": "a dry run imports nothing and this URL was never imported",
                    "code": "url_not_imported",
                }
            )
        else:
            _set_pointer(rewritten, ref.pointer, previous.asset_id)
    if missing:
        raise Invalid(
            "a dry run imports nothing: import the URLs first (POST /v1/assets/imports)",
            code="url-not-imported",
            errors=missing,
        )
    return rewritten


def _set_pointer(document: Any, pointer: str, value: str) -> None:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.lstrip("/").split("/")]
    target = document
    for part in parts[:-1]:
        target = target[int(part)] if isinstance(target, list) else target[part]
    last = parts[-1]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
