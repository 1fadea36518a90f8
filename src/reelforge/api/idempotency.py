"""``Idempotency-Key`` for every POST that creates something (conventions sheet §3).

A route opts in with one dependency and one call::

    def create_render(..., idem: Idempotency = Depends(idempotency)):
        ...                                   # the effect, in ``db``'s transaction
        idem.stage(db, body, status=202, headers={"Location": url})
        db.commit()                           # effect and stored response commit together
        return body

The dependency parses the key, fingerprints the request and claims the key in a transaction of
its own (committed at once, so a concurrent request sees it). A completed key replays its stored
response with ``Idempotent-Replayed: true``; a key held by a running request answers 409 with
``Retry-After: 1``; a key used for another request answers 422. :meth:`Idempotency.stage`
writes the response into the route's own transaction: a middleware could only store it after
the commit, and a crash between the two would run the request twice on retry.

What is not stored, so a retry runs again (the key is released): request validation (400,
413, 415, 422), 401, 403, 429, every 5xx and any exception. Business answers after execution
began (404 of a referenced resource, 409, 410, 412) are stored and replayed like successes.
A route that returns without staging (``dry_run``: nothing was created) releases the key.

Uploads (:func:`idempotency_streamed`) claim the key before the body arrives, so a concurrent
upload with the same key gets 409 at once; their fingerprint covers the parts (the file's
sha256 computed while streaming, the form fields) instead of the raw multipart bytes, whose
boundary a client picks anew for each attempt. A replayed upload is compared at the end.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi import Depends, FastAPI, Header, Request
from fastapi.responses import JSONResponse, Response
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from sqlalchemy import event
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from reelforge import metrics
from reelforge.db import idempotency as store
from reelforge.services.context import Services
from reelforge.services.errors import ServiceError

from .auth import Principal, authenticate
from .deps import services_of
from .openapi_extra import extend_openapi
from .problems import CATALOGUE, ApiError, problem_response
from .responses import json_ready

__all__ = [
    "HEADER",
    "Idempotency",
    "IdempotentReplay",
    "fingerprint",
    "idempotency",
    "idempotency_streamed",
    "install_idempotency",
    "multipart_digest",
    "parse_key",
    "upload_fingerprint",
]

log = logging.getLogger("reelforge.api.idempotency")

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
LOCK = timedelta(seconds=60)
"""How long a claim holds without renewal; a request that died is taken over after this."""
API_VERSION = "v1"
REPLAYED_HEADERS = ("content-type", "location", "etag")
"""The response headers stored and replayed (sheet §3.2.5); the rest belong to each answer."""
NOT_STORED = frozenset({400, 401, 403, 408, 413, 415, 422, 429})
"""4xx statuses that reject the request itself: nothing happened, a retry may succeed."""
DESCRIPTION = (
    "Optional, strongly recommended: a unique value (e.g. a UUID) per intended operation, 1-255 "
    "printable ASCII characters, bare or as a quoted string. A retry with the same key and the same "
    "body replays the first response (with `Idempotent-Replayed: true`) instead of creating again; "
    "the same key with another body answers 422 `idempotency-key-reused`; while the first request "
    "still runs, 409 `idempotency-request-in-progress` with `Retry-After`. Keys are per workspace "
    "and remembered for 24 hours."
)


class IdempotentReplay(Exception):
    """Raised by the dependency to answer with a stored response."""

    def __init__(self, response: store.StoredResponse, body: bytes):
        super().__init__("replay")
        self.response = response
        self.body = body


def parse_key(raw: str) -> str:
    """The key of an ``Idempotency-Key`` header: a bare token or an SF string (one pair of
    quotes stripped), then 1-255 characters of printable ASCII; else 400."""
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if not 1 <= len(value) <= 255 or not all("\x21" <= c <= "\x7e" for c in value):
        metrics.IDEMPOTENCY.labels("invalid").inc()
        raise ApiError(
            "idempotency-key-invalid",
            "the Idempotency-Key must be 1-255 printable ASCII characters without spaces "
            "(e.g. a UUID), bare or in double quotes",
            errors=[{"header": HEADER, "detail": "1-255 characters from ! to ~", "code": "invalid"}],
        )
    return value


def fingerprint(request: Request, body_digest: str) -> str:
    """sha256 over method, route template, path parameters, canonical query, the body's digest
    and the API version (never volatile headers)."""
    route = request.scope.get("route")
    template = getattr(route, "path", request.url.path)
    params = json.dumps(sorted((str(k), str(v)) for k, v in request.path_params.items()))
    query = urlencode(sorted(parse_qsl(request.url.query, keep_blank_values=True)))
    parts = (request.method, template, params, query, body_digest, API_VERSION)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


# ------------------------------------------------------------------ stored bodies holding secrets


def _cipher(services: Services) -> AESGCM:
    key = hmac.new(services.secrets.pepper, b"reelforge idempotency responses v1", hashlib.sha256).digest()
    return AESGCM(key)


def _seal(services: Services, aad: bytes, body: bytes) -> bytes:
    nonce = os.urandom(12)
    return nonce + _cipher(services).encrypt(nonce, body, aad)


def _open(services: Services, aad: bytes, sealed: bytes) -> bytes:
    return _cipher(services).decrypt(sealed[:12], sealed[12:], aad)


# ------------------------------------------------------------------ the per-request handle


class Idempotency:
    """The claim of one request; inert (every call a no-op) when it sent no key."""

    def __init__(
        self,
        services: Services,
        workspace_id: str,
        key: str | None = None,
        token: str | None = None,
        fingerprint: str | None = None,
    ):
        self.services = services
        self.workspace_id = workspace_id
        self.key = key
        self.token = token
        self.fingerprint = fingerprint
        self.staged: store.StoredResponse | None = None
        self._plain: bytes | None = None
        self._renewed = time.monotonic()
        self.pending: store.StoredResponse | None = None
        """An upload's completed row, compared when the body's fingerprint is known."""

    @property
    def active(self) -> bool:
        return self.key is not None and self.token is not None

    def _aad(self) -> bytes:
        return f"{self.workspace_id}\n{self.key}".encode()

    def stage(
        self,
        db: Session,
        body: Mapping[str, Any] | bytes,
        *,
        status: int,
        headers: Mapping[str, str] | None = None,
        secret: bool = False,
    ) -> None:
        """Store the response to replay in ``db``'s transaction; call it right before the route's
        ``db.commit()``. ``body`` is what the route returns (encoded as FastAPI will encode it) or
        the bytes it sends. ``secret``: the body holds a secret shown once; it is stored
        encrypted with a key derived from the server's secrets.

        Raises 409 when the claim was taken over meanwhile (this request ran past its lock): the
        caller's transaction must not commit, and raising makes sure it does not."""
        if not self.active:
            return
        assert self.key is not None and self.token is not None
        content = body if isinstance(body, bytes) else bytes(JSONResponse(json_ready(dict(body))).body)
        kept = {"content-type": "application/json"}
        kept.update({k.lower(): v for k, v in (headers or {}).items() if k.lower() in REPLAYED_HEADERS})
        stored_body = _seal(self.services, self._aad(), content) if secret else content
        response = store.StoredResponse(status, kept, stored_body, secret)
        if not store.complete(db, self.workspace_id, self.key, self.token, self.fingerprint, response):
            metrics.IDEMPOTENCY.labels("in_progress").inc()
            raise ApiError(
                "idempotency-request-in-progress",
                "this request ran past its idempotency lock and another request with the same key "
                "took over; nothing was done here",
                headers={"Retry-After": "1"},
            )
        self.staged = response
        self._plain = bytes(content)

    def stage_at_commit(
        self,
        db: Session,
        build: Callable[[], tuple[int, Mapping[str, Any] | bytes, Mapping[str, str]]],
        *,
        secret: bool = False,
    ) -> None:
        """:meth:`stage` from inside ``db``'s commit, for effects committed by a helper the route
        calls (``build`` returns status, body and headers, reading the session's state). A commit
        that fails and is retried stages again; the first successful commit ends it."""
        if not self.active:
            return

        def before_commit(session: Session) -> None:
            status, body, headers = build()
            self.stage(session, body, status=status, headers=headers, secret=secret)

        def after_commit(session: Session) -> None:
            event.remove(db, "before_commit", before_commit)

        event.listen(db, "before_commit", before_commit)
        event.listen(db, "after_commit", after_commit, once=True)

    def response(self) -> Response:
        """The staged response exactly as stored (for routes that build their own response)."""
        assert self.staged is not None and self._plain is not None
        return Response(self._plain, status_code=self.staged.status, headers=self.staged.headers)

    def staged_body(self) -> Any:
        """The staged body, decoded (for a route that returns a value FastAPI encodes again: the
        same bytes, since it was encoded the same way)."""
        assert self._plain is not None
        return json.loads(self._plain)

    async def store_now(
        self, body: Mapping[str, Any] | bytes, *, status: int, headers: Mapping[str, str] | None = None
    ) -> None:
        """Store a response that had no effect to commit with (a deduplicated upload)."""
        if not self.active or self.staged is not None:
            return

        def run() -> None:
            with self.services.sessions() as db:
                self.stage(db, body, status=status, headers=headers)
                db.commit()

        await run_in_threadpool(run)

    async def keep_alive(self) -> None:
        """Renew the lock while a long request (an upload) runs; cheap to call often."""
        if not self.active or time.monotonic() - self._renewed < LOCK.total_seconds() / 3:
            return
        self._renewed = time.monotonic()
        assert self.key is not None and self.token is not None
        key, token = self.key, self.token

        def run() -> bool:
            with self.services.sessions() as db:
                return store.extend(db, self.workspace_id, key, token, LOCK)

        if not await run_in_threadpool(run):
            raise ApiError(
                "idempotency-request-in-progress",
                "another request with the same idempotency key took this one over",
                headers={"Retry-After": "1"},
            )

    def settle(self, fingerprint: str) -> None:
        """An upload's fingerprint, known once its body was read: replay or refuse a key already
        used (raises), else remember it for :meth:`stage`."""
        if self.key is None:
            return
        if self.pending is not None:
            if fingerprint != self.fingerprint:
                raise _reused()
            raise IdempotentReplay(self.pending, self._open(self.pending))
        if self.fingerprint is not None and self.fingerprint != fingerprint:
            raise _reused()  # a crashed upload's key, taken over, was for other content
        self.fingerprint = fingerprint

    def _open(self, stored: store.StoredResponse) -> bytes:
        return _open(self.services, self._aad(), stored.body) if stored.encrypted else stored.body

    async def _release(self) -> None:
        if not self.active:
            return
        assert self.key is not None and self.token is not None
        key, token = self.key, self.token

        def run() -> None:
            with self.services.sessions() as db:
                store.release(db, self.workspace_id, key, token)

        await run_in_threadpool(run)

    async def _finish(self, request: Request, exc: BaseException | None) -> None:
        """After the route: keep a business answer, release everything else."""
        if not self.active or (exc is None and self.staged is not None):
            return
        # An exception after staging means the commit did not happen (or happened and a later
        # step failed: then the row is completed and neither storing nor releasing touches it).
        self.staged = None
        # A service's error is answered with its code's status, an ApiError with its own.
        status, headers = (
            (exc.status, exc.headers)
            if isinstance(exc, ApiError)
            else (CATALOGUE[exc.code][0], {})
            if isinstance(exc, ServiceError)
            else (0, {})
        )
        if (
            isinstance(exc, ServiceError)
            and 400 <= status < 500
            and status not in NOT_STORED
            and not exc.code.startswith("idempotency-")
        ):
            problem = problem_response(
                request,
                exc.code,
                exc.detail,
                status=status,
                errors=exc.errors,
                headers=headers,
                **exc.extra,
            )
            try:
                await self.store_now(
                    bytes(problem.body),
                    status=status,
                    headers={"content-type": problem.media_type or "application/problem+json"},
                )
                return
            except Exception:  # the answer goes out anyway; without a stored copy a retry reruns
                log.exception("could not store the idempotent response")
        await self._release()


def _reused() -> ApiError:
    metrics.IDEMPOTENCY.labels("mismatch").inc()
    return ApiError(
        "idempotency-key-reused",
        "this Idempotency-Key was already used for a different request (another body, path or "
        "query); use a new key for a new request",
        errors=[{"header": HEADER, "detail": "already used for another request", "code": "reused"}],
    )


def _in_progress() -> ApiError:
    metrics.IDEMPOTENCY.labels("in_progress").inc()
    return ApiError(
        "idempotency-request-in-progress",
        "a request with this Idempotency-Key is still running; retry after it finishes",
        headers={"Retry-After": "1"},
    )


async def _claim(
    request: Request, principal: Principal, raw: str | None, request_fingerprint: str | None
) -> Idempotency:
    services = services_of(request)
    if raw is None:
        return Idempotency(services, principal.workspace_id)
    key = parse_key(raw)

    def run() -> store.Claim:
        with services.sessions() as db:
            return store.claim(db, principal.workspace_id, key, request_fingerprint, LOCK)

    claim = await run_in_threadpool(run)
    # The sheet's outcomes (new, replayed, in_progress, mismatch), for the access log's reader.
    log.info(
        "idempotency key %s",
        claim.outcome,
        extra={"outcome": claim.outcome, "request_id": getattr(request.state, "request_id", None)},
    )
    idem = Idempotency(services, principal.workspace_id, key)
    if claim.outcome == "mismatch":
        raise _reused()
    if claim.outcome == "in_progress":
        raise _in_progress()
    if claim.outcome == "completed":
        assert claim.response is not None
        if request_fingerprint is None:  # an upload: compared once its body was read
            idem.fingerprint, idem.pending = claim.fingerprint, claim.response
            return idem
        raise IdempotentReplay(claim.response, idem._open(claim.response))
    metrics.IDEMPOTENCY.labels("new").inc()
    idem.token, idem.fingerprint = claim.token, claim.fingerprint
    return idem


KeyHeader = Annotated[
    str | None,
    Header(alias=HEADER, description=DESCRIPTION, examples=["8e03978e-40d5-43e8-bc93-6894a57f9324"]),
]


def multipart_digest(body: bytes, content_type: str) -> str | None:
    """A digest of a multipart body's parts (names, file names, sha256 of each part's bytes), the
    same whatever boundary the client chose; None when the body does not parse."""
    media_type, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if media_type != b"multipart/form-data" or not boundary:
        return None
    parts: list[dict[str, str]] = []
    header: dict[str, bytes] = {}
    field = bytearray()
    value = bytearray()
    data = hashlib.sha256()

    def on_header_field(buf: bytes, start: int, end: int) -> None:
        field.extend(buf[start:end])

    def on_header_value(buf: bytes, start: int, end: int) -> None:
        value.extend(buf[start:end])

    def on_header_end() -> None:
        header[bytes(field).lower().decode("latin-1")] = bytes(value)
        field.clear()
        value.clear()

    def on_part_data(buf: bytes, start: int, end: int) -> None:
        data.update(buf[start:end])

    def on_part_end() -> None:
        nonlocal data
        _, disposition = parse_options_header(header.get("content-disposition", b""))
        parts.append(
            {
                "name": disposition.get(b"name", b"").decode("utf-8", "replace"),
                "filename": disposition.get(b"filename", b"").decode("utf-8", "replace"),
                "sha256": data.hexdigest(),
            }
        )
        header.clear()
        data = hashlib.sha256()

    callbacks: Any = {
        "on_header_field": on_header_field,
        "on_header_value": on_header_value,
        "on_header_end": on_header_end,
        "on_part_data": on_part_data,
        "on_part_end": on_part_end,
    }
    try:
        parser = MultipartParser(boundary, callbacks)
        parser.write(body)
        parser.finalize()
    except (FormParserError, ValueError):
        return None
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


async def idempotency(
    request: Request, idempotency_key: KeyHeader = None, principal: Principal = Depends(authenticate)
) -> AsyncIterator[Idempotency]:
    """The dependency for routes that create something from a body of bounded size (JSON, or a
    small multipart form, whose parts are compared rather than its boundary-dependent bytes)."""
    request_fingerprint = None
    if idempotency_key is not None:
        raw = await request.body()
        digest = (
            multipart_digest(raw, request.headers.get("content-type", "")) or hashlib.sha256(raw).hexdigest()
        )
        request_fingerprint = fingerprint(request, digest)
    async with _finishing(
        request, await _claim(request, principal, idempotency_key, request_fingerprint)
    ) as idem:
        yield idem


async def idempotency_streamed(
    request: Request, idempotency_key: KeyHeader = None, principal: Principal = Depends(authenticate)
) -> AsyncIterator[Idempotency]:
    """The dependency for streamed uploads: claimed before the body is read; the route calls
    :meth:`Idempotency.settle` with :func:`upload_fingerprint` once it has read it."""
    async with _finishing(request, await _claim(request, principal, idempotency_key, None)) as idem:
        yield idem


@asynccontextmanager
async def _finishing(request: Request, idem: Idempotency) -> AsyncIterator[Idempotency]:
    """The claim for the route's run; then stored, or released on an exception (see the module)."""
    try:
        yield idem
    except BaseException as exc:
        await idem._finish(request, exc)
        raise
    await idem._finish(request, None)


def upload_fingerprint(request: Request, file_sha256: str, fields: Mapping[str, Any]) -> str:
    """An upload's fingerprint: the file's content hash and the form fields, canonically."""
    parts = json.dumps({"file_sha256": file_sha256, "fields": fields}, sort_keys=True, default=str)
    return fingerprint(request, hashlib.sha256(parts.encode()).hexdigest())


# ------------------------------------------------------------------ wiring and documentation


def _replay_response(exc: IdempotentReplay) -> Response:
    metrics.IDEMPOTENCY.labels("replayed").inc()
    headers = {k: v for k, v in exc.response.headers.items() if k.lower() in REPLAYED_HEADERS}
    headers[REPLAYED] = "true"
    return Response(exc.body, status_code=exc.response.status, headers=headers)


def install_idempotency(app: FastAPI) -> None:
    """Answer replays, and document the header's answers on every operation that takes it."""

    @app.exception_handler(IdempotentReplay)
    async def _replay(request: Request, exc: IdempotentReplay) -> Response:
        return _replay_response(exc)

    extend_openapi(app, "reelforge.api.examples_idempotency")
