"""The console's pages: server-rendered HTML (Jinja2) with htmx for partial updates.

Every page resolves the signed-in session to the API's :class:`Principal` and calls the same
services the API routers call, with the same scope checks (:func:`reelforge.api.auth.check_scope`);
a refusal is an HTML page with the API's status and detail instead of problem+json.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson
from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy import Connection
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from reelforge.edit.template_model import Variable
from reelforge.media.ingest import clean_name
from reelforge.representations import key_json
from reelforge.services import (
    accounts,
    assets,
    batches,
    events,
    keys,
    projects,
    renders,
    sso,
    template_stills,
    templates,
    transcripts,
    uploads,
    webhooks,
)
from reelforge.services.credentials import SCOPES, Principal
from reelforge.services.errors import NotFound, ServiceError
from reelforge.services.template_stills import TemplateForm

from ..audit import audit_actor
from ..auth import check_scope, principal_for
from ..deps import services_of
from ..idempotency import Idempotency
from ..multipart import receive_upload
from ..numbers import BIGINT_MAX, INTEGER_MAX, ascii_number
from ..pagination import decode_cursor, encode_cursor
from ..problems import CATALOGUE, ApiError
from ..ranges import file_response
from ..responses import json_bytes, json_ready, read_db
from ..sessions import clear_session_cookie, set_session_cookie
from .sessions import (
    COOKIE,
    LOGIN_COOKIE,
    ConsoleAccess,
    LoginNonces,
    access_for,
    csrf_matches,
    request_access,
)

__all__ = ["router"]

HERE = Path(__file__).parent
jinja = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(prefix="/console", include_in_schema=False)

KINDS = ("video", "image", "audio", "subtitles", "font", "lut")
PAGE_SIZE = 24


def nonces_of(request: Request) -> LoginNonces:
    nonces: LoginNonces = request.app.state.console_nonces
    return nonces


@dataclass
class Visitor:
    """The signed-in caller of a console request."""

    principal: Principal
    session: ConsoleAccess

    def can(self, scope: str) -> bool:
        return scope in self.principal.scopes


async def visitor_of(request: Request) -> Visitor | None:
    """The caller, when the cookie names a live session that may act now (a person still a
    member of a workspace; a key neither revoked nor expired)."""
    access = await request_access(request)
    return Visitor(access.principal, access) if access is not None else None


def page(request: Request, name: str, visitor: Visitor | None, status: int = 200, **context: Any) -> Response:
    response = jinja.TemplateResponse(
        request, name, {"visitor": visitor, "csrf": visitor.session.csrf if visitor else "", **context}
    )
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def is_htmx(request: Request) -> bool:
    """Whether htmx sent the request (it swaps the answer into the page it came from)."""
    return request.headers.get("hx-request") == "true"


def _page_to_reload(request: Request) -> str:
    # The console page the request came from (htmx names it; a form's post has its referrer),
    # kept only as a path of this console (its host dropped): never a link to another site.
    parts = urlsplit(request.headers.get("hx-current-url") or request.headers.get("referer") or "")
    if parts.path == "/console" or parts.path.startswith("/console/"):
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return "/console"


def problem_of(request: Request, exc: ServiceError) -> dict[str, Any]:
    """What a page or fragment shows of a refusal: its status and title, its detail, the scope
    it lacks, its errors with their pointers, and whether the form's CSRF token was stale."""
    status = getattr(exc, "status", None) or CATALOGUE.get(exc.code, (400,))[0]
    errors = [{**e, "detail": str(e.get("detail", ""))} for e in exc.errors or []]
    return {
        "status": status,
        "code": exc.code,
        "title": CATALOGUE.get(exc.code, (status, "Refused"))[1],
        "detail": exc.detail,
        "errors": errors,
        "required_scope": exc.extra.get("required_scope"),
        "stale_csrf": any(e.get("code") == "csrf" for e in errors),
        "reload": _page_to_reload(request),
    }


def error_page(request: Request, visitor: Visitor | None, exc: ServiceError) -> Response:
    """The refusal as a page of its own, or, for htmx, as a fragment it swaps in place of what
    it asked for (whichever part of the answer the element selects: the fragment is all of it)."""
    problem = problem_of(request, exc)
    if is_htmx(request):
        response = page(request, "problem.html", visitor, status=problem["status"], problem=problem)
        response.headers["HX-Reswap"] = "innerHTML"
        response.headers["HX-Reselect"] = ".problem"
        return response
    return page(request, "error.html", visitor, status=problem["status"], problem=problem)


def _to_sign_in(request: Request) -> Response:
    """The sign-in page, with the path to return to. htmx would follow a redirect and swap the
    sign-in page into the element that asked: it is told to load the page itself instead
    (``HX-Redirect``), returning afterwards to the page the request came from."""
    if is_htmx(request):
        back = _page_to_reload(request)
        target = "/console/sign-in"
        if back != "/console":
            target += "?" + urlencode({"next": back})
        return Response(status_code=401, headers={"HX-Redirect": target, "Cache-Control": "no-store"})
    target = "/console/sign-in"
    if request.method == "GET" and request.url.path != "/console":
        target += "?" + urlencode({"next": request.url.path})
    return RedirectResponse(target, status_code=303)


Handler = Callable[[Visitor], Awaitable[Response]]


async def signed_in(request: Request, handler: Handler, *, scope: str | None = None) -> Response:
    """``handler``'s page for the signed-in caller holding ``scope``; the sign-in page for a
    visitor without a session; an HTML error page for what the services refuse."""
    visitor = await visitor_of(request)
    if visitor is None:
        return _to_sign_in(request)
    try:
        if scope is not None:
            check_scope(visitor.principal, scope)
        return await handler(visitor)
    except ServiceError as exc:
        return error_page(request, visitor, exc)


def check_csrf(visitor: Visitor, given: str | None) -> None:
    if not csrf_matches(visitor.session.csrf, given):
        raise ApiError(
            "forbidden",
            "the form's CSRF token is missing or stale: reload the page and try again",
            errors=[{"field": "csrf", "detail": "does not match the session", "code": "csrf"}],
        )


# ------------------------------------------------------------------------------ sign-in


def _safe_next(target: str | None) -> str:
    # Only a console path: never an open redirect to another site.
    if target and target.startswith("/console/") and "//" not in target and "\\" not in target:
        return target
    return "/console/assets"


@router.get("", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    visitor = await visitor_of(request)
    return RedirectResponse("/console/assets" if visitor else "/console/sign-in", status_code=303)


def _sign_in_form(
    request: Request, status: int = 200, error: str | None = None, email: str = "", next: str | None = None
) -> Response:
    nonces = nonces_of(request)
    nonce = request.cookies.get(LOGIN_COOKIE) or ""
    if nonces.unsign(nonce) is None:
        nonce = nonces.fresh()
    target = _safe_next(next if next is not None else request.query_params.get("next"))
    response = page(
        request,
        "sign_in.html",
        None,
        status=status,
        login_csrf=nonce,
        error=error,
        email=email,
        next=target,
        sso_url="/auth/sso/start?" + urlencode({"next": target})
        if sso.enabled(services_of(request))
        else None,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        nonce,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/console",
    )
    return response


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_page(request: Request) -> Response:
    if await visitor_of(request) is not None:
        return RedirectResponse("/console/assets", status_code=303)
    return _sign_in_form(request)


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _password_session(request: Request, email: str, password: str) -> str:
    """The new session's cookie value for a person's e-mail address and password."""
    services = services_of(request)
    with services.sessions() as db:
        user = accounts.sign_in(db, services, email, password, _client_address(request))
        if not accounts.user_memberships(db, user.id):
            raise accounts.SignInRefused(
                "You are not a member of any workspace (yet): ask an admin for an invitation.",
                code="forbidden",
            )
        return accounts.create_session(db, services, user, "password")[1]


async def _key_session(request: Request, credential: str) -> str:
    """The new session's cookie value for an API key (verified as the API verifies it)."""
    services = services_of(request)
    principal = await principal_for(credential, services)
    if principal.kind != "api_key":
        raise ApiError("unauthenticated", "only an API key (rf_...) signs in here")

    def open_session() -> str:
        with services.sessions() as db:
            return accounts.create_key_session(db, services, principal.credential_id)[1]

    return await run_in_threadpool(open_session)


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in(
    request: Request,
    email: str = Form("", max_length=320),
    password: str = Form("", max_length=1024),
    api_key: str = Form("", max_length=512),
    csrf: str = Form("", max_length=512),
    next: str = Form("", max_length=2048),
) -> Response:
    """A person's e-mail address and password, or (the second way in) an API key."""
    nonce = request.cookies.get(LOGIN_COOKIE)
    if nonces_of(request).unsign(nonce) is None or not csrf_matches(nonce or "", csrf):
        return _sign_in_form(request, 403, "The form expired: sign in again.", email, next)
    credential = api_key.strip()
    try:
        if credential:
            token = await _key_session(request, credential)
        elif email.strip() and password:
            token = await run_in_threadpool(_password_session, request, email, password)
        else:
            return _sign_in_form(request, 422, "Enter your e-mail address and password.", email, next)
    except accounts.SignInRefused as refused:
        status = {"rate-limited": 429, "forbidden": 403}.get(refused.code, 401)
        return _sign_in_form(request, status, refused.detail, email, next)
    except ServiceError as exc:
        return _sign_in_form(request, 401, f"Not signed in: {exc.detail}.", email, next)
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_session_cookie(request, response, token, services_of(request).settings.session_absolute_timeout)
    response.delete_cookie(LOGIN_COOKIE, path="/console")
    return response


@router.post("/sign-out")
async def sign_out(
    request: Request, csrf: str = Form("", max_length=512), everywhere: str = Form("", max_length=8)
) -> Response:
    """Ends this session; with ``everywhere``, every session of the person."""

    async def run(visitor: Visitor) -> Response:
        check_csrf(visitor, csrf)
        services = services_of(request)
        user_id = visitor.session.user_id

        def end() -> None:
            with services.sessions() as db:
                if everywhere and user_id is not None:
                    accounts.end_sessions_everywhere(db, user_id)
                else:
                    accounts.end_session(db, visitor.session.session_id)

        await run_in_threadpool(end)
        response = RedirectResponse("/console/sign-in", status_code=303)
        clear_session_cookie(request, response)
        return response

    return await signed_in(request, run)


@router.post("/workspace")
async def switch_workspace(
    request: Request,
    csrf: str = Form("", max_length=512),
    workspace_id: str = Form("", max_length=40),
) -> Response:
    """The workspace the signed-in person acts in from now on (one of theirs)."""

    async def run(visitor: Visitor) -> Response:
        check_csrf(visitor, csrf)
        user_id = visitor.session.user_id
        if user_id is None:
            raise ApiError(
                "forbidden",
                "a session opened with an API key stays in the key's workspace",
                errors=[{"field": "workspace_id", "detail": "not switchable with an API key"}],
            )
        services = services_of(request)

        def choose() -> None:
            with services.sessions() as db:
                accounts.choose_workspace(db, visitor.session.session_id, user_id, workspace_id)

        await run_in_threadpool(choose)
        return RedirectResponse("/console/assets", status_code=303)

    return await signed_in(request, run)


# ------------------------------------------------------------------------------ assets


def _day(name: str, text: str | None, end: bool = False) -> datetime | None:
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ApiError(
            "validation-error",
            f"`{name}` must be a date (YYYY-MM-DD)",
            errors=[{"parameter": name, "detail": "not a date (YYYY-MM-DD)", "code": "date"}],
        ) from None
    if end:  # "until" a day includes that day: the exclusive bound is the next midnight
        day = date.fromordinal(day.toordinal() + 1)
    return datetime.combine(day, time.min, UTC)


@dataclass
class AssetFilters:
    kind: str | None
    tag: str | None
    name: str | None
    since: str | None
    until: str | None
    limit: int

    @classmethod
    def of(cls, request: Request) -> AssetFilters:
        q = request.query_params
        kind = q.get("kind") or None
        if kind is not None and kind not in KINDS:
            raise ApiError(
                "validation-error",
                f"`kind` must be one of {', '.join(KINDS)}",
                errors=[{"parameter": "kind", "detail": "unknown kind", "code": "enum"}],
            )
        tag = (q.get("tag") or "").strip()[:100] or None
        name = (q.get("name") or "").strip()[:255] or None
        limit = ascii_number(q.get("limit") or str(PAGE_SIZE), 1, 100)
        if limit is None:
            raise ApiError(
                "validation-error",
                "`limit` must be a whole number from 1 to 100",
                errors=[{"parameter": "limit", "detail": "not in 1..100", "code": "range"}],
            )
        return cls(kind, tag, name, q.get("since") or None, q.get("until") or None, limit)

    def cursor_filters(self) -> dict[str, Any]:
        return {"console": 1, "kind": self.kind, "tag": self.tag, "name": self.name,
                "since": self.since, "until": self.until, "limit": self.limit}  # fmt: skip

    def query(self, **extra: str) -> str:
        values = {
            k: v for k, v in {**self.__dict__, **extra}.items() if v and not (k == "limit" and v == PAGE_SIZE)
        }
        return urlencode(values)


@router.get("/assets", response_class=HTMLResponse)
async def asset_grid(request: Request) -> Response:
    async def run(visitor: Visitor) -> Response:
        services = services_of(request)
        filters = AssetFilters.of(request)
        after_date = _day("since", filters.since)
        before_date = _day("until", filters.until, end=True)
        cursor = request.query_params.get("cursor")
        after = (
            decode_cursor(services.secrets.cursor_key, cursor, filters.cursor_filters()) if cursor else None
        )

        def read(conn: Connection) -> tuple[list[assets.PageRow], dict[str, bytes]]:
            return assets.list_page(
                conn,
                visitor.principal.workspace_id,
                limit=filters.limit,
                after=after,
                cache=services.asset_docs,
                encode=json_bytes,
                kind=filters.kind,
                tags=[filters.tag] if filters.tag else [],
                name=filters.name,
                created_after=after_date,
                created_before=before_date,
            )

        rows, docs = await read_db(request, read)
        shown = [orjson.loads(docs[row.id]) for row in rows[: filters.limit] if row.id in docs]
        more = None
        if len(rows) > filters.limit:
            last = rows[filters.limit - 1]
            created = last.created_at
            if isinstance(created, str):  # SQLite's text
                created = datetime.fromisoformat(created)
            if created.tzinfo is None:
                created = created.replace(tzinfo=UTC)
            token = encode_cursor(services.secrets.cursor_key, created, last.id, filters.cursor_filters())
            more = "/console/assets?" + filters.query(cursor=token)
        return page(
            request,
            "assets.html",
            visitor,
            assets=shown,
            filters=filters,
            kinds=KINDS,
            more=more,
            can_upload=visitor.can("assets:write"),
            tus_chunk=min(TUS_CHUNK_BYTES, services.settings.max_upload_patch_bytes),
        )

    return await signed_in(request, run, scope="assets:read")


@router.get("/assets/{asset_id}", response_class=HTMLResponse)
async def asset_detail(asset_id: str, request: Request) -> Response:
    async def run(visitor: Visitor) -> Response:
        asset = await read_db(
            request, lambda conn: assets.read_asset(conn, visitor.principal.workspace_id, asset_id)
        )
        media = asset.get("media") or {}
        spoken: list[dict[str, Any]] = []
        if asset.get("kind") in transcripts.TRANSCRIBABLE:
            spoken = await run_in_threadpool(
                transcripts.list_transcripts, services_of(request), visitor.principal.workspace_id, asset_id
            )
        return page(
            request,
            "asset.html",
            visitor,
            asset=asset,
            transcripts=spoken,
            can_transcribe=visitor.can("assets:write") and asset.get("kind") in transcripts.TRANSCRIBABLE,
            media_json=orjson.dumps(media, option=orjson.OPT_INDENT_2).decode(),
            provenance_json=orjson.dumps(
                json_ready(asset.get("derived_from") or {}), option=orjson.OPT_INDENT_2
            ).decode(),
            metadata_json=orjson.dumps(asset.get("metadata") or {}, option=orjson.OPT_INDENT_2).decode(),
        )

    return await signed_in(request, run, scope="assets:read")


@router.get("/assets/{asset_id}/content")
async def asset_content(asset_id: str, request: Request) -> Response:
    async def run(visitor: Visitor) -> Response:
        services = services_of(request)

        def answer() -> Response:
            with services.sessions() as db:
                asset = assets.find_asset(db, visitor.principal.workspace_id, asset_id)
            return file_response(
                request,
                lambda: assets.open_content(services, asset),
                etag=f'"{asset.sha256}"',
                filename=assets.download_name(asset),
                media_type=asset.content_type,
                locate=lambda disposition: assets.content_location(services, asset, disposition),
            )

        return await run_in_threadpool(answer)

    return await signed_in(request, run, scope="assets:read")


@router.get("/assets/{asset_id}/{which}.png")
async def asset_preview(asset_id: str, which: str, request: Request) -> Response:
    async def run(visitor: Visitor) -> Response:
        if which not in ("thumbnail", "waveform"):
            raise NotFound(f"no preview {which!r}")
        services = services_of(request)

        def read() -> bytes:
            with services.sessions() as db:
                return assets.preview_bytes(db, services, visitor.principal.workspace_id, asset_id, which)

        data = await run_in_threadpool(read)
        etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
        return Response(
            data, media_type="image/png", headers={"ETag": etag, "Cache-Control": "private, max-age=60"}
        )

    return await signed_in(request, run, scope="assets:read")


@router.post("/assets/upload")
async def asset_upload(request: Request) -> Response:
    """The upload form's XHR target: the file as multipart (the CSRF token in ``X-CSRF-Token``);
    JSON with the new asset's id and page, or problem+json as the API answers."""
    visitor = await visitor_of(request)
    if visitor is None:
        raise ApiError("unauthenticated", "sign in to the console first")
    check_csrf(visitor, request.headers.get("x-csrf-token"))
    principal = check_scope(visitor.principal, "assets:write")
    services = services_of(request)
    async with receive_upload(
        request,
        fields=("name", "tags"),
        limit=services.settings.max_upload_bytes,
        temp_dir=services.storage.temp_dir(),
        idem=Idempotency(services, principal.workspace_id),
    ) as received:
        tags = [
            t.strip() for t in received.fields.get("tags", bytearray()).decode("utf-8", "replace").split(",")
        ]
        tags = [t[:100] for t in tags if t][: assets.MAX_TAGS]
        body, created = await run_in_threadpool(
            lambda: assets.ingest_upload(
                services,
                principal.workspace_id,
                received.path,
                name=clean_name(received.filename),
                sha256=received.sha256,
                tags=tags,
                metadata={},
            )
        )
    return JSONResponse(
        {
            "id": body["id"],
            "name": body["name"],
            "deduplicated": not created,
            "page": f"/console/assets/{body['id']}",
        },
        status_code=201 if created else 200,
    )


# ------------------------------------------------------------------------------ renders

RENDER_STATES = ("queued", "preparing", "rendering", "finishing", "succeeded", "failed", "cancelled")
FINISHED = ("succeeded", "failed", "cancelled")
PROGRESS_POLL_SECONDS = 0.25
"""How soon a progress stream looks again after a change (it waits longer while nothing moves)."""
QUIET_POLL_SECONDS = 2.0


@router.get("/renders", response_class=HTMLResponse)
async def render_list(request: Request) -> Response:
    async def run(visitor: Visitor) -> Response:
        services = services_of(request)
        state = request.query_params.get("state") or None
        if state is not None and state not in RENDER_STATES:
            raise ApiError(
                "validation-error",
                f"`state` must be one of {', '.join(RENDER_STATES)}",
                errors=[{"parameter": "state", "detail": "unknown state", "code": "enum"}],
            )
        filters = {"console": 1, "state": state}
        cursor = request.query_params.get("cursor")
        before = decode_cursor(services.secrets.cursor_key, cursor, filters) if cursor else None

        def read(conn: Connection) -> tuple[list[dict[str, Any]], str | None]:
            rows = renders.list_renders(
                conn,
                visitor.principal.workspace_id,
                state=state,  # type: ignore[arg-type]
                before=before,
                limit=PAGE_SIZE + 1,
            )
            more = None
            if len(rows) > PAGE_SIZE:
                last = rows[PAGE_SIZE - 1]
                token = encode_cursor(services.secrets.cursor_key, _aware(last.created_at), last.id, filters)
                more = "/console/renders?" + urlencode(
                    {k: v for k, v in {"state": state, "cursor": token}.items() if v}
                )
            return renders.represent(conn, rows[:PAGE_SIZE]), more

        shown, more = await read_db(request, read)
        return page(
            request, "renders.html", visitor, renders=shown, states=RENDER_STATES, state=state, more=more
        )

    return await signed_in(request, run, scope="renders:read")


def _aware(moment: Any) -> datetime:
    if isinstance(moment, str):  # SQLite's text
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@router.get("/renders/{render_id}", response_class=HTMLResponse)
async def render_detail(render_id: str, request: Request) -> Response:
    async def run(visitor: Visitor) -> Response:
        render = await read_db(
            request, lambda conn: renders.read_render(conn, visitor.principal.workspace_id, render_id)
        )
        return page(
            request,
            "render.html",
            visitor,
            render=render,
            finished=render["state"] in FINISHED,
            can_cancel=visitor.can("renders:write") and render["state"] not in FINISHED,
            can_see_outputs=visitor.can("assets:read"),
        )

    return await signed_in(request, run, scope="renders:read")


@router.post("/renders/{render_id}/cancel")
async def render_cancel(render_id: str, request: Request, csrf: str = Form("", max_length=512)) -> Response:
    async def run(visitor: Visitor) -> Response:
        check_csrf(visitor, csrf)
        check_scope(visitor.principal, "renders:write")
        services = services_of(request)

        def cancel() -> None:
            with services.sessions() as db:
                renders.cancel_render(db, visitor.principal.workspace_id, render_id)

        await run_in_threadpool(cancel)
        return RedirectResponse(f"/console/renders/{render_id}", status_code=303)

    return await signed_in(request, run, scope="renders:read")


@router.get("/renders/{render_id}/progress")
async def render_progress(render_id: str, request: Request) -> Response:
    """The render's state, progress and ETA as Server-Sent Events (``event: render``, JSON), sent
    when they change, until it finishes or the session's credential stops being valid."""
    visitor = await visitor_of(request)
    if visitor is None:
        raise ApiError("unauthenticated", "sign in to the console first")
    check_scope(visitor.principal, "renders:read")
    services = services_of(request)
    workspace_id = visitor.principal.workspace_id
    first = await run_in_threadpool(events.render_snapshot, services, workspace_id, render_id)
    if first is None:
        raise NotFound(f"no render {render_id}")
    token = request.cookies.get(COOKIE)

    async def messages() -> AsyncIterator[ServerSentEvent]:
        body: dict[str, Any] | None = first
        previous: dict[str, Any] | None = None
        wait = PROGRESS_POLL_SECONDS
        while body is not None:
            shown = {k: body.get(k) for k in ("state", "progress", "eta_seconds", "error", "queue_position")}
            if shown != previous:
                yield ServerSentEvent(orjson.dumps(json_ready(shown)).decode(), event="render")
                previous, wait = shown, PROGRESS_POLL_SECONDS
            else:
                wait = min(wait * 1.5, QUIET_POLL_SECONDS)
            if shown["state"] in FINISHED:
                return
            await asyncio.sleep(wait)
            access = await access_for(services, token)  # the session ended, or its rights changed
            if access is None:
                return
            now = access.principal
            if now.workspace_id != workspace_id or "renders:read" not in now.scopes:
                return
            body = await run_in_threadpool(events.render_snapshot, services, workspace_id, render_id)

    return EventSourceResponse(messages(), ping=15, headers={"Cache-Control": "no-store"})


# ------------------------------------------------------------------------------ batches


@router.get("/batches", response_class=HTMLResponse)
async def batch_list(request: Request) -> Response:
    async def run(visitor: Visitor) -> Response:
        services = services_of(request)

        def read() -> list[dict[str, Any]]:
            with services.sessions() as db:
                return batches.recent(db, visitor.principal.workspace_id, 100)

        return page(request, "batches.html", visitor, batches=await run_in_threadpool(read))

    return await signed_in(request, run, scope="batches:read")


@router.get("/batches/{batch_id}", response_class=HTMLResponse)
async def batch_detail(batch_id: str, request: Request) -> Response:
    async def run(visitor: Visitor) -> Response:
        check_scope(visitor.principal, "renders:read")  # its renders, as the API asks
        services = services_of(request)

        def read() -> batches.Matrix:
            with services.sessions() as db:
                return batches.matrix(db, visitor.principal.workspace_id, batch_id)

        found = await run_in_threadpool(read)
        return page(
            request,
            "batch.html",
            visitor,
            batch=found.batch,
            rows=found.rows,
            locales=found.locales,
            cells=found.cells,
            outputs=found.batch["outputs"],
            finished=found.batch["finished_at"] is not None,
            can_see_outputs=visitor.can("assets:read"),
        )

    return await signed_in(request, run, scope="batches:read")


# ------------------------------------------------------------------------------ templates


def _field(name: str) -> str:
    return f"v.{name}"


def form_values(form: TemplateForm, raw: Mapping[str, str]) -> dict[str, Any]:
    """The values a template form sent, typed by each variable (an empty field is not given:
    the default applies); 422 with the pointer ``#/values/<name>`` (``#/values/<list>/<row>/<field>``
    for a list's rows) for a field that is not its type.

    A list variable comes as rows of fields named ``v.<list>.<row>.<field>``, in row order; when
    every field of every row is empty, the list is not given."""
    values: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    for variable in form.variables:
        if variable.type == "list":
            rows = _list_rows(variable, raw, errors)
            if rows is not None:
                values[variable.name] = rows
            continue
        given = _typed(variable, raw.get(_field(variable.name), ""), f"#/values/{variable.name}", errors)
        if given is not _EMPTY:
            values[variable.name] = given
    if errors:
        raise ApiError(
            "validation-error", f"{len(errors)} field(s) of the form are not their type", errors=errors
        )
    return values


_EMPTY = object()


def _typed(variable: Variable, text: str, pointer: str, errors: list[dict[str, Any]]) -> Any:
    if variable.type == "boolean":
        return text == "on"
    if not text.strip():
        return _EMPTY
    try:
        if variable.type == "number":
            return float(text)
        if variable.type == "integer":
            return int(text)
        if variable.type == "duration":
            return float(text) if _is_number(text) else text.strip()
    except ValueError:
        errors.append({"pointer": pointer, "detail": f"not a {variable.type}", "code": "type"})
        return _EMPTY
    return text


def _list_rows(variable: Variable, raw: Mapping[str, str], errors: list[dict[str, Any]]) -> list[Any] | None:
    prefix = _field(variable.name) + "."
    row_keys = {k[len(prefix) :].split(".", 1)[0] for k in raw if k.startswith(prefix)}
    # A key no form makes ("x", "²", a 5000-digit number) is not a row.
    numbered = (ascii_number(k, 0, 999_999) for k in row_keys)
    numbers = sorted({n for n in numbered if n is not None})[:1000]
    rows: list[dict[str, Any]] = []
    anything = False
    for position, number in enumerate(numbers):
        row: dict[str, Any] = {}
        for part in variable.fields:
            text = raw.get(f"{prefix}{number}.{part.name}", "")
            if part.type != "boolean" and text.strip():
                anything = True
            given = _typed(part, text, f"#/values/{variable.name}/{position}/{part.name}", errors)
            if given is not _EMPTY:
                row[part.name] = given
        rows.append(row)
    return rows if anything else None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _locale(form: TemplateForm, raw: Mapping[str, str]) -> str | None:
    return raw.get("locale") or None


def _moment(raw: Mapping[str, str]) -> float:
    text = raw.get("at", "") or "0"
    try:
        at = float(text)
    except ValueError:
        at = -1.0
    if not 0 <= at <= 86_400:
        raise ApiError(
            "validation-error",
            "the preview's moment must be a number of seconds",
            errors=[{"pointer": "#/at", "detail": "not a number of seconds from 0", "code": "type"}],
        )
    return at


async def _form_post(request: Request, max_fields: int = 500) -> dict[str, str]:
    data = await request.form(max_files=0, max_fields=max_fields)
    return {k: v for k, v in data.items() if isinstance(v, str)}


@router.get("/templates", response_class=HTMLResponse)
async def template_list(request: Request) -> Response:
    async def run(visitor: Visitor) -> Response:
        found = await run_in_threadpool(
            template_stills.recent_templates, services_of(request), visitor.principal.workspace_id, 100
        )
        return page(request, "templates.html", visitor, templates=found)

    return await signed_in(request, run, scope="templates:read")


@router.get("/templates/{template_id}", response_class=HTMLResponse)
async def template_page(template_id: str, request: Request) -> Response:
    async def run(visitor: Visitor) -> Response:
        form = await run_in_threadpool(
            template_stills.template_form, services_of(request), visitor.principal.workspace_id, template_id
        )
        return page(
            request,
            "template.html",
            visitor,
            form=form,
            field=_field,
            can_render=visitor.can("renders:write"),
            can_pick_assets=visitor.can("assets:read"),
        )

    return await signed_in(request, run, scope="templates:read")


@router.post("/templates/{template_id}/stills", response_class=HTMLResponse)
async def template_preview(template_id: str, request: Request) -> Response:
    """The form's values as stills per aspect ratio (an HTML fragment for htmx), or the
    problems with their pointers (422)."""
    visitor = await visitor_of(request)
    if visitor is None:
        return _to_sign_in(request)
    raw = await _form_post(request)
    services = services_of(request)
    try:
        check_csrf(visitor, raw.get("csrf"))
        check_scope(visitor.principal, "templates:read")
        form = await run_in_threadpool(
            template_stills.template_form, services, visitor.principal.workspace_id, template_id
        )
        values = form_values(form, raw)
        stills, check = await run_in_threadpool(
            lambda: template_stills.checked_stills(
                services,
                visitor.principal.workspace_id,
                template_id,
                values,
                _locale(form, raw),
                at=_moment(raw),
            )
        )
    except ServiceError as exc:
        problem = problem_of(request, exc)
        problem["errors"] = list(
            {(e.get("pointer"), e["detail"]): e for e in map(_on_form, problem["errors"])}.values()
        )
        return page(request, "stills.html", visitor, status=problem["status"], stills=[], problem=problem)
    shown = [
        {"ratio": s.aspect_ratio, "width": s.width, "height": s.height,
         "src": "data:image/jpeg;base64," + base64.b64encode(s.jpeg).decode(),
         "zone": check.zones.get(i),
         "findings": [f for f in check.findings if f["output"] in (i, None)]}
        for i, s in enumerate(stills)
    ]  # fmt: skip
    return page(request, "stills.html", visitor, stills=shown, problem=None, check=check)


def _on_form(error: Mapping[str, Any]) -> dict[str, Any]:
    # A still's moment is the form's `at` field, whichever output the engine names.
    pointer = str(error.get("pointer", ""))
    if pointer.startswith("#/outputs/") and pointer.endswith("/time"):
        pointer = "#/at"
    return {**error, "pointer": pointer, "detail": str(error.get("detail", ""))}


@router.post("/templates/{template_id}/render")
async def template_render(template_id: str, request: Request) -> Response:
    async def run(visitor: Visitor) -> Response:
        raw = await _form_post(request)
        check_csrf(visitor, raw.get("csrf"))
        check_scope(visitor.principal, "renders:write")
        services = services_of(request)
        workspace_id = visitor.principal.workspace_id
        form = await run_in_threadpool(template_stills.template_form, services, workspace_id, template_id)
        values = form_values(form, raw)

        def queue() -> str:
            with services.sessions() as db:
                made = templates.prepare_render(
                    db,
                    workspace_id,
                    template_id,
                    values,
                    _locale(form, raw),
                    None,
                    None,
                    {},
                    max_metadata_bytes=16384,
                )
                render = renders.enqueue_render(
                    db,
                    services,
                    visitor.principal,
                    dict(made.prepared.document),
                    prepared=made.prepared,
                    pointer_prefix="",
                    template_id=made.template.id,
                    template_version=made.version,
                    locale=made.locale,
                )
                return render.id

        render_id = await run_in_threadpool(queue)
        return RedirectResponse(f"/console/renders/{render_id}", status_code=303)

    return await signed_in(request, run, scope="templates:read")


# ------------------------------------------------------------------------------ API keys

ROLL_GRACE = timedelta(days=1)
"""How long a rolled key keeps working (the API's default), so deployed clients can switch."""


async def _key_page(request: Request, visitor: Visitor, status: int = 200, **shown: Any) -> Response:
    services = services_of(request)

    def read() -> list[dict[str, Any]]:
        with services.sessions() as db:
            return [key_json(k) for k in keys.workspace_keys(db, visitor.principal.workspace_id)]

    return page(
        request,
        "keys.html",
        visitor,
        status=status,
        keys=await run_in_threadpool(read),
        grantable=[s for s in SCOPES if s in visitor.principal.scopes],
        can_write=visitor.can("keys:write"),
        **shown,
    )


@router.get("/keys", response_class=HTMLResponse)
async def key_list(request: Request) -> Response:
    async def run(visitor: Visitor) -> Response:
        return await _key_page(request, visitor)

    return await signed_in(request, run, scope="keys:read")


@router.post("/keys", response_class=HTMLResponse)
async def key_create(request: Request) -> Response:
    async def run(visitor: Visitor) -> Response:
        form = await request.form(max_files=0, max_fields=100)
        check_csrf(visitor, str(form.get("csrf") or ""))
        check_scope(visitor.principal, "keys:write")
        name = str(form.get("name") or "").strip()
        scopes = [str(s) for s in form.getlist("scopes")]
        problems = []
        if len(name) > 200 or any(ord(c) < 32 for c in name):
            problems.append({"field": "name", "detail": "at most 200 characters, no control characters"})
        if not scopes:
            problems.append({"field": "scopes", "detail": "choose at least one scope"})
        try:
            scopes = keys.known_scopes(scopes)
        except ValueError as exc:
            problems.append({"field": "scopes", "detail": str(exc)})
        if problems:
            raise ApiError("validation-error", "the key's form has problems", errors=problems)
        services = services_of(request)
        actor = audit_actor(visitor.principal, request)

        def create() -> dict[str, Any]:
            keys.check_grant(visitor.principal.scopes, scopes)
            with services.sessions() as db:
                key, token = keys.create_key(
                    db, services, visitor.principal.workspace_id, name, scopes, actor=actor
                )
                return key_json(key, token)

        made = await run_in_threadpool(create)
        return await _key_page(request, visitor, status=201, created=made)

    return await signed_in(request, run, scope="keys:read")


@router.post("/keys/{key_id}/roll", response_class=HTMLResponse)
async def key_roll(key_id: str, request: Request, csrf: str = Form("", max_length=512)) -> Response:
    async def run(visitor: Visitor) -> Response:
        check_csrf(visitor, csrf)
        check_scope(visitor.principal, "keys:write")
        services = services_of(request)
        actor = audit_actor(visitor.principal, request)

        def roll() -> dict[str, Any]:
            with services.sessions() as db:
                _, new, token = keys.roll(
                    db, services, visitor.principal.workspace_id, key_id, ROLL_GRACE,
                    held=visitor.principal.scopes, actor=actor,
                )  # fmt: skip
                db.commit()
                services.credentials.clear()
                return key_json(new, token)

        made = await run_in_threadpool(roll)
        return await _key_page(request, visitor, status=201, created=made, rolled=key_id)

    return await signed_in(request, run, scope="keys:read")


@router.post("/keys/{key_id}/revoke")
async def key_revoke(key_id: str, request: Request, csrf: str = Form("", max_length=512)) -> Response:
    async def run(visitor: Visitor) -> Response:
        check_csrf(visitor, csrf)
        check_scope(visitor.principal, "keys:write")
        services = services_of(request)
        actor = audit_actor(visitor.principal, request)

        def revoke() -> None:
            with services.sessions() as db:
                keys.revoke(
                    db,
                    services,
                    visitor.principal.workspace_id,
                    key_id,
                    held=visitor.principal.scopes,
                    actor=actor,
                )

        await run_in_threadpool(revoke)
        return RedirectResponse("/console/keys", status_code=303)

    return await signed_in(request, run, scope="keys:read")


# ------------------------------------------------------------------------------ webhooks

LOG_SIZE = 50
"""Messages shown in an endpoint's delivery log (the newest)."""


@router.get("/webhooks", response_class=HTMLResponse)
async def webhook_list(request: Request) -> Response:
    async def run(visitor: Visitor) -> Response:
        services = services_of(request)

        def read() -> list[dict[str, Any]]:
            with services.sessions() as db:
                return webhooks.endpoints_shown(db, visitor.principal.workspace_id)

        return page(request, "webhooks.html", visitor, endpoints=await run_in_threadpool(read))

    return await signed_in(request, run, scope="webhooks:read")


@router.get("/webhooks/{endpoint_id}", response_class=HTMLResponse)
async def webhook_log(endpoint_id: str, request: Request) -> Response:
    async def run(visitor: Visitor) -> Response:
        services = services_of(request)

        def read() -> tuple[dict[str, Any], list[dict[str, Any]]]:
            with services.sessions() as db:
                return webhooks.delivery_log(
                    db, visitor.principal.workspace_id, endpoint_id, visitor.principal.scopes, LOG_SIZE
                )

        endpoint, messages = await run_in_threadpool(read)
        for message in messages:
            message["payload_text"] = orjson.dumps(
                json_ready(message["payload"]), option=orjson.OPT_INDENT_2
            ).decode()
        return page(
            request,
            "webhook.html",
            visitor,
            endpoint=endpoint,
            messages=messages,
            can_write=visitor.can("webhooks:write"),
        )

    return await signed_in(request, run, scope="webhooks:read")


@router.post("/webhooks/{endpoint_id}/test")
async def webhook_test(endpoint_id: str, request: Request, csrf: str = Form("", max_length=512)) -> Response:
    async def run(visitor: Visitor) -> Response:
        check_csrf(visitor, csrf)
        check_scope(visitor.principal, "webhooks:write")
        services = services_of(request)

        def send() -> None:
            with services.sessions() as db:
                webhooks.send_test(db, visitor.principal.workspace_id, endpoint_id)
                db.commit()
            webhooks.wake(services)

        await run_in_threadpool(send)
        return RedirectResponse(f"/console/webhooks/{endpoint_id}", status_code=303)

    return await signed_in(request, run, scope="webhooks:read")


@router.post("/webhooks/{endpoint_id}/messages/{message_id}/retry")
async def webhook_retry(
    endpoint_id: str, message_id: str, request: Request, csrf: str = Form("", max_length=512)
) -> Response:
    async def run(visitor: Visitor) -> Response:
        check_csrf(visitor, csrf)
        check_scope(visitor.principal, "webhooks:write")
        services = services_of(request)

        def again() -> None:
            with services.sessions() as db:
                webhooks.retry(
                    db, visitor.principal.workspace_id, endpoint_id, message_id, visitor.principal.scopes
                )
                db.commit()
            webhooks.wake(services)

        await run_in_threadpool(again)
        return RedirectResponse(f"/console/webhooks/{endpoint_id}", status_code=303)

    return await signed_in(request, run, scope="webhooks:read")


# ------------------------------------------------------------------------------ projects

HISTORY_SIZE = 100
"""Revisions shown on a project's page (the newest)."""


def _pretty(value: Any) -> str:
    return orjson.dumps(json_ready(value), option=orjson.OPT_INDENT_2).decode()


def _revision_number(name: str, text: str | None, where: str = "parameter") -> int:
    number = ascii_number(text)
    if number is None:
        raise ApiError(
            "validation-error",
            f"`{name}` must be a revision number (1 to {INTEGER_MAX})",
            errors=[{where: name, "detail": f"not a revision number (1 to {INTEGER_MAX})", "code": "type"}],
        )
    return number


def _fragment_problems(request: Request, visitor: Visitor, exc: ServiceError, heading: str) -> Response:
    problem = problem_of(request, exc)
    return page(
        request, "checks.html", visitor, status=problem["status"], heading=heading, problem=problem, plan=None
    )


@router.get("/projects", response_class=HTMLResponse)
async def project_list(request: Request) -> Response:
    async def run(visitor: Visitor) -> Response:
        name = (request.query_params.get("name") or "").strip()[:200] or None

        services = services_of(request)

        def read() -> list[dict[str, Any]]:
            with services.sessions() as db:
                found = projects.recent_projects(db, visitor.principal.workspace_id, 100, name)
                return [
                    {"id": p.id, "name": p.name, "revision": p.revision, "updated_at": _aware(p.updated_at)}
                    for p in found
                ]

        shown = await run_in_threadpool(read)
        return page(request, "projects.html", visitor, projects=shown, search=name or "")

    return await signed_in(request, run, scope="projects:read")


@router.get("/projects/{project_id}", response_class=HTMLResponse)
async def project_page(project_id: str, request: Request) -> Response:
    async def run(visitor: Visitor) -> Response:
        services = services_of(request)

        def read() -> tuple[dict[str, Any], list[dict[str, Any]]]:
            with services.sessions() as db:
                project, history = projects.revision_history(
                    db, visitor.principal.workspace_id, project_id, HISTORY_SIZE
                )
                current = next((r for r in history if r.number == project.revision), None)
                shown = {
                    "id": project.id,
                    "name": project.name,
                    "revision": project.revision,
                    "updated_at": _aware(project.updated_at),
                    "edit": _pretty(current.edit if current else {}),
                }
                revisions = [
                    {"number": r.number, "message": r.message, "created_at": _aware(r.created_at)}
                    for r in history
                ]
                return shown, revisions

        project, revisions = await run_in_threadpool(read)
        return page(
            request,
            "project.html",
            visitor,
            project=project,
            revisions=revisions,
            can_write=visitor.can("projects:write"),
            can_plan=visitor.can("renders:write"),
        )

    return await signed_in(request, run, scope="projects:read")


@router.get("/projects/{project_id}/diff", response_class=HTMLResponse)
async def project_diff(project_id: str, request: Request) -> Response:
    """What changed between two revisions (``from``, ``to``): a page, or the fragment htmx asks."""

    async def run(visitor: Visitor) -> Response:
        old = _revision_number("from", request.query_params.get("from"))
        new = _revision_number("to", request.query_params.get("to"))
        services = services_of(request)

        def read() -> list[dict[str, Any]]:
            with services.sessions() as db:
                return projects.revision_diff(db, visitor.principal.workspace_id, project_id, old, new)

        changes = await run_in_threadpool(read)
        for change in changes:
            for side in ("before", "after"):
                if side in change:
                    change[side + "_text"] = _pretty(change[side])
        fragment = request.headers.get("hx-request") == "true"
        return page(
            request,
            "diff.html",
            visitor,
            project_id=project_id,
            old=old,
            new=new,
            changes=changes,
            fragment=fragment,
        )

    return await signed_in(request, run, scope="projects:read")


@router.post("/projects/{project_id}/revisions/{number}/restore")
async def project_restore(project_id: str, number: str, request: Request) -> Response:
    """The revision's edit as the next revision, if the project is still at the revision the
    page showed (``revision``, sent as the API's ``If-Match``): 412 when someone changed it."""

    async def run(visitor: Visitor) -> Response:
        raw = await _form_post(request)
        check_csrf(visitor, raw.get("csrf"))
        check_scope(visitor.principal, "projects:write")
        restored = _revision_number("number", number)
        seen = _revision_number("revision", raw.get("revision"), where="field")
        message = (raw.get("message") or "").strip()[:500] or None
        services = services_of(request)

        def restore() -> None:
            with services.sessions() as db:
                projects.restore_revision(
                    db, visitor.principal.workspace_id, project_id, restored, message, if_match=f'"{seen}"'
                )
                db.commit()

        await run_in_threadpool(restore)
        return RedirectResponse(f"/console/projects/{project_id}", status_code=303)

    return await signed_in(request, run, scope="projects:read")


@router.post("/projects/{project_id}/validate", response_class=HTMLResponse)
async def project_validate(project_id: str, request: Request) -> Response:
    """The current revision checked as a render would check it (the edit's rules, its assets,
    their approval): an htmx fragment saying so, or the problems with their pointers (422)."""
    visitor = await visitor_of(request)
    if visitor is None:
        return _to_sign_in(request)
    raw = await _form_post(request)
    services = services_of(request)
    try:
        check_csrf(visitor, raw.get("csrf"))
        check_scope(visitor.principal, "projects:read")

        def check() -> int | None:
            with services.sessions() as db:
                return renders.render_request(
                    db, visitor.principal.workspace_id, project_id=project_id, revision=None, edit=None,
                    metadata={}, purpose="publication" if services.settings.require_approved_media else "draft",
                ).revision  # fmt: skip

        revision = await run_in_threadpool(check)
    except ServiceError as exc:
        return _fragment_problems(request, visitor, exc, "Validation")
    return page(
        request, "checks.html", visitor, heading="Validation", detail=f"Revision {revision} is valid.",
        problem=None, plan=None,
    )  # fmt: skip


@router.post("/projects/{project_id}/plan", response_class=HTMLResponse)
async def project_plan(project_id: str, request: Request) -> Response:
    """A dry run of rendering the current revision (what ``POST /v1/renders`` with ``dry_run``
    answers, so ``renders:write`` as there): its outputs and estimate, or the problems."""
    visitor = await visitor_of(request)
    if visitor is None:
        return _to_sign_in(request)
    raw = await _form_post(request)
    services = services_of(request)
    try:
        check_csrf(visitor, raw.get("csrf"))
        check_scope(visitor.principal, "renders:write")
        check_scope(visitor.principal, "projects:read")
        workspace_id = visitor.principal.workspace_id

        def plan() -> dict[str, Any]:
            with services.sessions() as db:
                asked = renders.render_request(
                    db, workspace_id, project_id=project_id, revision=None, edit=None, metadata={},
                    purpose="publication" if services.settings.require_approved_media else "draft",
                )  # fmt: skip
                return renders.plan_request(db, services, workspace_id, asked)

        found = await run_in_threadpool(plan)
    except ServiceError as exc:
        return _fragment_problems(request, visitor, exc, "Plan")
    findings = (found.get("brand") or {}).get("findings") or []
    return page(
        request, "checks.html", visitor, heading="Plan", detail=f"Revision {found['revision']} plans as:",
        problem=None, plan=found, findings=findings,
    )  # fmt: skip


# ------------------------------------------------------------------------------ transcripts


@router.post("/assets/{asset_id}/transcripts")
async def transcript_create(
    asset_id: str, request: Request, csrf: str = Form("", max_length=512)
) -> Response:
    async def run(visitor: Visitor) -> Response:
        check_csrf(visitor, csrf)
        check_scope(visitor.principal, "assets:write")
        made = await run_in_threadpool(
            lambda: transcripts.create_transcript(
                services_of(request), visitor.principal.workspace_id, asset_id, language=None
            )
        )
        return RedirectResponse(f"/console/assets/{asset_id}/transcripts/{made['id']}", status_code=303)

    return await signed_in(request, run, scope="assets:read")


async def _transcript_page(
    request: Request, visitor: Visitor, asset_id: str, transcript_id: str, status: int = 200, **shown: Any
) -> Response:
    services = services_of(request)
    workspace_id = visitor.principal.workspace_id
    asset = await read_db(request, lambda conn: assets.read_asset(conn, workspace_id, asset_id))
    transcript, cues = await run_in_threadpool(
        transcripts.review_cues, services, workspace_id, asset_id, transcript_id
    )
    return page(
        request,
        "transcript.html",
        visitor,
        status=status,
        asset=asset,
        transcript=transcript,
        cues=cues,
        finished=transcript["state"] in ("succeeded", "failed"),
        can_correct=visitor.can("assets:write") and transcript["state"] == "succeeded",
        can_approve=visitor.can("assets:approve") and transcript["state"] == "succeeded",
        **shown,
    )


@router.get("/assets/{asset_id}/transcripts/{transcript_id}", response_class=HTMLResponse)
async def transcript_review(asset_id: str, transcript_id: str, request: Request) -> Response:
    """The transcript's cues next to the asset's player: a cue plays from its start, the cue
    playing is marked, and its words can be corrected (then approved)."""

    async def run(visitor: Visitor) -> Response:
        return await _transcript_page(request, visitor, asset_id, transcript_id)

    return await signed_in(request, run, scope="assets:read")


@router.post("/assets/{asset_id}/transcripts/{transcript_id}/correct", response_class=HTMLResponse)
async def transcript_correct(asset_id: str, transcript_id: str, request: Request) -> Response:
    """The cues' texts, in order, as the transcript's new text (changed words are re-timed, as
    ``PATCH`` with ``text`` does), if it is still at the revision the page showed (409 otherwise)."""

    async def run(visitor: Visitor) -> Response:
        raw = await _form_post(request, max_fields=20_000)
        check_csrf(visitor, raw.get("csrf"))
        check_scope(visitor.principal, "assets:write")
        revision = ascii_number(raw.get("revision"), 0)  # a transcript starts at revision 0
        if revision is None:
            raise ApiError(
                "validation-error",
                "the form's `revision` must be the transcript's revision number",
                errors=[
                    {
                        "field": "revision",
                        "detail": f"not a revision number (0 to {INTEGER_MAX})",
                        "code": "type",
                    }
                ],
            )
        cues = {k: ascii_number(k[4:], 0) for k in raw if k.startswith("cue.")}
        wrong = sorted(k for k, n in cues.items() if n is None)
        if wrong:
            raise ApiError(
                "validation-error",
                f"the form's `{wrong[0]}` is not a cue: cues are `cue.<n>`, n from 0 to {INTEGER_MAX}",
                errors=[{"field": k, "detail": "not a cue number", "code": "type"} for k in wrong[:10]],
            )
        numbered = sorted((cues[k], v) for k, v in raw.items() if k in cues)
        text = " ".join(" ".join(v.split()) for _, v in numbered).strip()
        if len(text) > transcripts.MAX_TEXT_CHARS:
            raise ApiError(
                "validation-error",
                f"at most {transcripts.MAX_TEXT_CHARS} characters of text",
                errors=[{"field": "cue", "detail": "too long", "code": "too_long"}],
            )
        await run_in_threadpool(
            lambda: transcripts.correct_transcript(
                services_of(request),
                visitor.principal.workspace_id,
                asset_id,
                transcript_id,
                text=text,
                revision=revision,
            )
        )
        return RedirectResponse(f"/console/assets/{asset_id}/transcripts/{transcript_id}", status_code=303)

    return await signed_in(request, run, scope="assets:read")


@router.post("/assets/{asset_id}/transcripts/{transcript_id}/approve")
async def transcript_approve(
    asset_id: str, transcript_id: str, request: Request, csrf: str = Form("", max_length=512)
) -> Response:
    async def run(visitor: Visitor) -> Response:
        check_csrf(visitor, csrf)
        check_scope(visitor.principal, "assets:approve")
        await run_in_threadpool(
            transcripts.approve_transcript,
            services_of(request),
            visitor.principal.workspace_id,
            asset_id,
            transcript_id,
        )
        return RedirectResponse(f"/console/assets/{asset_id}/transcripts/{transcript_id}", status_code=303)

    return await signed_in(request, run, scope="assets:read")


# ------------------------------------------------------------------------------ resumable uploads

TUS_CHUNK_BYTES = 4 * 2**20
"""The size of each PATCH the console's script sends (less when ``max_upload_patch_bytes`` is
smaller): progress shows, and a broken connection costs at most one chunk, resumed from the
server's offset. The PATCH takes the tus body limit, as ``/v1/uploads`` does (api/middleware.py)."""


async def _tus_visitor(request: Request) -> Visitor:
    """The caller of a console tus request: a session, its CSRF token in ``X-CSRF-Token``,
    ``assets:write``, and ``Tus-Resumable: 1.0.0`` (as ``/v1/uploads`` asks)."""
    visitor = await visitor_of(request)
    if visitor is None:
        raise ApiError("unauthenticated", "sign in to the console first")
    check_csrf(visitor, request.headers.get("x-csrf-token"))
    check_scope(visitor.principal, "assets:write")
    if request.headers.get("tus-resumable") != uploads.TUS_VERSION:
        raise ApiError(
            "tus-version-unsupported",
            f"send Tus-Resumable: {uploads.TUS_VERSION}",
            headers={"Tus-Version": uploads.TUS_VERSION},
            errors=[{"header": "Tus-Resumable", "detail": f"must be {uploads.TUS_VERSION}"}],
        )
    return visitor


def _tus_integer(request: Request, name: str) -> int:
    number = ascii_number(request.headers.get(name), 0, BIGINT_MAX)
    if number is None:
        raise ApiError(
            "invalid-request",
            f"{name} must be a non-negative integer",
            errors=[{"header": name, "detail": f"required, an integer from 0 to {BIGINT_MAX}"}],
        )
    return number


def _tus_headers(view: uploads.UploadView) -> dict[str, str]:
    headers = {
        "Tus-Resumable": uploads.TUS_VERSION,
        "Upload-Offset": str(view.offset),
        "Cache-Control": "no-store",
    }
    if view.length is not None:
        headers["Upload-Length"] = str(view.length)
    if view.asset_id:
        headers["Reelforge-Asset-Id"] = view.asset_id
    if view.error:
        headers["Reelforge-Upload-Error"] = str(view.error.get("detail") or view.error.get("code") or "")[
            :200
        ]
    return headers


@router.post("/uploads")
async def tus_create(request: Request) -> Response:
    """A resumable upload (tus creation) for the console's script: ``Upload-Length`` and
    ``Upload-Metadata`` as on ``POST /v1/uploads``; its ``Location`` is the console's."""
    visitor = await _tus_visitor(request)
    services = services_of(request)
    length = _tus_integer(request, "Upload-Length")
    raw_metadata = request.headers.get("upload-metadata")
    view = await run_in_threadpool(
        lambda: uploads.create_upload(
            services, visitor.principal.workspace_id, length=length, raw_metadata=raw_metadata
        )
    )
    view = await uploads.ensure_complete(services, view)  # Upload-Length: 0
    return Response(
        status_code=201, headers={**_tus_headers(view), "Location": f"/console/uploads/{view.id}"}
    )


@router.head("/uploads/{upload_id}")
async def tus_head(upload_id: str, request: Request) -> Response:
    """Where a resumed upload goes on: ``Upload-Offset``, and its asset once finished."""
    visitor = await _tus_visitor(request)
    services = services_of(request)
    view = await run_in_threadpool(uploads.read_upload, services, visitor.principal.workspace_id, upload_id)
    view = await uploads.ensure_complete(services, view)
    return Response(status_code=200, headers=_tus_headers(view))


@router.patch("/uploads/{upload_id}")
async def tus_patch(upload_id: str, request: Request) -> Response:
    """Bytes at ``Upload-Offset`` (``application/offset+octet-stream``); the last PATCH's answer
    names the new asset in ``Reelforge-Asset-Id``."""
    visitor = await _tus_visitor(request)
    if (
        request.headers.get("content-type", "").split(";")[0].strip().lower()
        != "application/offset+octet-stream"
    ):
        raise ApiError(
            "unsupported-media-type",
            "send the bytes as application/offset+octet-stream",
            errors=[{"header": "Content-Type", "detail": "must be application/offset+octet-stream"}],
        )
    offset = _tus_integer(request, "Upload-Offset")
    services = services_of(request)

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in request.stream():
                yield chunk
        except ClientDisconnect:
            raise uploads.BodyInterrupted from None

    workspace_id = visitor.principal.workspace_id
    try:
        view = await uploads.append(services, workspace_id, upload_id, offset=offset, body=body())
    except uploads.BodyInterrupted:  # the page is gone or the connection broke: it resumes from HEAD
        view = await run_in_threadpool(uploads.read_upload, services, workspace_id, upload_id)
    return Response(status_code=204, headers=_tus_headers(view))
