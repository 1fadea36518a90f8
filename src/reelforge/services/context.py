"""The process's shared resources that every service uses: settings, the database, storage,
secrets, the credential cache, the in-process worker and preview runner."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from reelforge.db.session import make_engine, make_sessionmaker, migrate
from reelforge.media.previews import PreviewRunner
from reelforge.media.s3 import S3Target
from reelforge.media.s3storage import S3Storage
from reelforge.media.storage import LocalStorage, Storage
from reelforge.settings import Settings
from reelforge.tracing import configure_tracing, instrument_engine

from .credentials import CredentialCache, ServerSecrets
from .errors import NotFound
from .limits import SETTINGS_KEY

__all__ = ["RepresentationCache", "Services", "open_services", "open_storage", "owned"]

T = TypeVar("T")

log = logging.getLogger("reelforge")


class RepresentationCache:
    """Encoded representations by id, each kept with the revision it was made from.

    A row's revision changes with every change of what its representation shows (for assets,
    database triggers bump it), so an entry is served only while it is current: there is
    nothing to invalidate, across processes too. When the entries pass ``budget`` bytes, the
    cache starts again empty.
    """

    def __init__(self, budget: int = 32 * 1024 * 1024):
        self._budget = budget
        self._bytes = 0
        self._entries: dict[str, tuple[int, bytes]] = {}

    def get(self, key: str, revision: int) -> bytes | None:
        entry = self._entries.get(key)
        return entry[1] if entry is not None and entry[0] == revision else None

    def put(self, key: str, revision: int, content: bytes) -> None:
        cost = len(content) + len(key) + 100  # the tuple, the dict slot, the objects' headers
        if self._bytes + cost > self._budget:
            # A new dict: a reader iterating the old one is not disturbed.
            self._entries, self._bytes = {}, 0
        old = self._entries.get(key)
        if old is not None:
            self._bytes -= len(old[1]) + len(key) + 100
        self._entries[key] = (revision, content)
        self._bytes += cost


@dataclass
class Services:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    storage: Storage
    secrets: ServerSecrets
    worker: Any = None
    """The in-process render worker, when this process runs one."""
    nudges: Any = None
    """With ``queue=celery``: the messages that tell Celery workers of new work
    (:class:`reelforge.jobs.distributed.CeleryNudges`)."""
    credentials: Any = None
    """Recently verified credentials (:class:`reelforge.api.auth.CredentialCache`)."""
    asset_docs: RepresentationCache = field(default_factory=lambda: RepresentationCache())
    """Assets' encoded representations, for the asset list."""
    extras: dict[str, Any] = field(default_factory=dict)
    _previews: PreviewRunner | None = field(default=None, repr=False)
    _previews_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def issuer(self) -> str:
        return self.settings.public_url.rstrip("/")

    @property
    def audience(self) -> str:
        return self.settings.public_url.rstrip("/") + "/v1"

    def wake_renders(self) -> None:
        """Renders were queued (and committed): tell whoever runs them."""
        if self.worker is not None:
            self.worker.wake()
        if self.nudges is not None:
            try:
                self.nudges.render()
            except Exception:  # the broker is down: a worker's sweep finds the render anyway
                log.warning("could not tell the Celery workers of a new render", exc_info=True)

    def previews(self) -> PreviewRunner | PreviewNudges:
        """This process's runner of deferred previews, started on first use (blocking: it also
        queues the assets a previous process left pending); with ``queue=celery`` the workers
        make them (their first sweep queues those left pending)."""
        if self.nudges is not None:
            return PreviewNudges(self.nudges)
        with self._previews_lock:
            if self._previews is None:
                self._previews = PreviewRunner(self.sessions, self.storage)
                self._previews.recover()
            return self._previews

    def stop_previews(self) -> None:
        """Finish the preview in progress; the rest stay pending for the next process."""
        with self._previews_lock:
            if self._previews is not None:
                self._previews.shutdown()
                self._previews = None


class PreviewNudges:
    """Previews made by Celery workers: :meth:`submit` sends the task."""

    def __init__(self, nudges: Any):
        self._nudges = nudges

    def submit(self, asset_id: str) -> None:
        try:
            self._nudges.preview(asset_id)
        except Exception:  # the asset stays pending: a worker's first sweep queues it
            log.warning("could not queue the previews of asset %s", asset_id, exc_info=True)

    def recover(self) -> int:
        return 0


def owned(db: Session, model: type[T], row_id: str, workspace_id: str, what: str) -> T:
    """Row ``row_id`` of ``model`` (a table with ``workspace_id``) if the workspace owns it;
    404 ``no <what> <id>`` otherwise: another workspace's row does not exist."""
    row = db.get(model, row_id)
    if row is None or cast(Any, row).workspace_id != workspace_id:
        raise NotFound(f"no {what} {row_id}")
    return row


def open_services(settings: Settings) -> Services:
    """Connect to the database (migrating it), storage and secrets."""
    url = settings.resolved_database_url()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate(url)
    engine = make_engine(url)
    if settings.tracing_endpoint:
        configure_tracing(endpoint=settings.tracing_endpoint, service_name=settings.tracing_service_name)
    instrument_engine(engine)  # spans of its statements whenever tracing is configured
    secrets = ServerSecrets.load_or_create(settings.data_dir)
    sessions = make_sessionmaker(engine)
    sessions.configure(info={SETTINGS_KEY: settings})  # the workspaces' default limits
    nudges = None
    if settings.queue == "celery":
        from reelforge.jobs.distributed import CeleryNudges, make_celery

        nudges = CeleryNudges(make_celery(settings), settings)
    return Services(
        settings=settings,
        engine=engine,
        sessions=sessions,
        storage=open_storage(settings),
        secrets=secrets,
        credentials=CredentialCache(secrets.pepper),
        nudges=nudges,
    )


def open_storage(settings: Settings) -> Storage:
    """The storage the settings choose: local files (the default) or an S3 bucket."""
    if settings.storage_backend == "local":
        return LocalStorage(settings.resolved_storage_dir())
    if not settings.s3_bucket:
        raise ValueError("REELFORGE_STORAGE_BACKEND=s3 needs REELFORGE_S3_BUCKET")
    secret = settings.s3_secret_access_key
    token = settings.s3_session_token
    target = S3Target(
        bucket=settings.s3_bucket,
        region=settings.s3_region,
        endpoint_url=settings.s3_endpoint_url,
        access_key_id=settings.s3_access_key_id,
        secret_access_key=secret.get_secret_value() if secret else None,
        session_token=token.get_secret_value() if token else None,
        path_style=settings.s3_path_style,
    )
    return S3Storage(
        target,
        prefix=settings.s3_prefix,
        local_root=settings.resolved_cache_dir(),
        cache_max_bytes=settings.cache_max_bytes,
        presign_seconds=settings.s3_presign_seconds,
        redirect_downloads=settings.s3_download == "redirect",
        multipart_threshold=settings.s3_multipart_threshold,
        multipart_chunk=settings.s3_multipart_chunk,
    )
