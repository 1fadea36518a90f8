"""The synchronous SDK client (:class:`Client`) and its resources.

from reelforge.client import Client

with Client("https://reelforge.example.com", api_key="rf_...") as rf:
    render = rf.renders.create(edit=edit).wait(progress=True)
    render.download("out/")
"""

from __future__ import annotations

import contextlib
import json as jsonlib
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

import httpx

from . import models
from ._core import (
    DEFAULT_TIMEOUT,
    TERMINAL_STATES,
    RetryPolicy,
    ServerSentEvent,
    SseParser,
    default_headers,
    new_idempotency_key,
    resolve_config,
    safe_file_name,
)
from .errors import APIConnectionError, APIStatusError, APITimeoutError, error_for
from .tus import CHUNK_BYTES, ServiceClient, ServiceError

__all__ = ["Client", "Page", "Render"]

T = TypeVar("T")
RESUMABLE_THRESHOLD = 32 * 2**20
"""Files at least this large go up with tus (resumable) when the server offers it."""
TimeoutTypes = float | httpx.Timeout | None


class Client:
    """A client of one Reelforge server with one API key.

    ``base_url`` and ``api_key`` default to ``REELFORGE_SERVER`` and ``REELFORGE_API_KEY``.
    Every request is retried by ``retry`` (see :class:`RetryPolicy`); every POST carries an
    ``Idempotency-Key`` (generated, or the caller's) that its retries reuse, so a create whose
    answer was lost is never carried out twice. ``timeout`` (seconds or an ``httpx.Timeout``)
    bounds each attempt."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: TimeoutTypes = DEFAULT_TIMEOUT,
        max_retries: int = 3,
        retry: RetryPolicy | None = None,
        resumable_threshold: int = RESUMABLE_THRESHOLD,
        http_client: httpx.Client | None = None,
    ) -> None:
        self.base_url, self.api_key = resolve_config(base_url, api_key)
        self.retry = retry or RetryPolicy(max_retries=max_retries)
        self.timeout = timeout
        self.resumable_threshold = resumable_threshold
        self._http = http_client or httpx.Client(trust_env=False)
        self._headers = default_headers(self.api_key)
        self.renders = Renders(self)
        self.assets = Assets(self)
        self.projects = Projects(self)
        self.templates = Templates(self)
        self.batches = Batches(self)
        self.events = Events(self)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ requests

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        timeout: TimeoutTypes | httpx.Timeout = None,
        body: Callable[[], dict[str, Any]] | None = None,
    ) -> httpx.Response:
        """Send one API request with retries; the response (2xx/3xx), or a typed exception.
        ``body`` builds the request's content anew for each attempt (a file to re-read)."""
        sent = {**self._headers, **(headers or {})}
        if method.upper() == "POST":
            sent["Idempotency-Key"] = idempotency_key or new_idempotency_key()
        query = {k: v for k, v in (params or {}).items() if v is not None}
        attempt = 0
        while True:
            extra = body() if body is not None else {}
            request = self._http.build_request(
                method,
                self.base_url + path,
                json=json,
                params=query,
                headers=sent,
                timeout=self._timeout(timeout),
                **extra,
            )
            try:
                response = self._http.send(request)
            except httpx.TransportError as exc:
                wait = self.retry.wait_for(attempt, None)
                if wait is None:
                    kind = APITimeoutError if isinstance(exc, httpx.TimeoutException) else APIConnectionError
                    raise kind(f"{method} {path}: {exc!r}", request=request) from exc
            else:
                if response.status_code < 400:
                    return response
                wait = self.retry.wait_for(attempt, response)
                if wait is None:
                    raise error_for(response)
            time.sleep(wait)
            attempt += 1

    def json(self, method: str, path: str, **kw: Any) -> Any:
        response = self.request(method, path, **kw)
        return response.json() if response.content else None

    @contextlib.contextmanager
    def stream(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, **headers: str
    ) -> Iterator[httpx.Response]:
        """A streamed response (a download, an event stream); connecting is retried, reading
        is the caller's."""
        attempt = 0
        while True:
            request = self._http.build_request(
                method,
                self.base_url + path,
                params={k: v for k, v in (params or {}).items() if v is not None},
                headers={**self._headers, **headers},
                # The event streams send a ping every 15 s, so the read timeout holds for them too.
                timeout=self._timeout(None),
            )
            try:
                response = self._http.send(request, stream=True)
            except httpx.TransportError as exc:
                wait = self.retry.wait_for(attempt, None)
                if wait is None:
                    raise APIConnectionError(f"{method} {path}: {exc!r}", request=request) from exc
            else:
                if response.status_code < 400:
                    try:
                        yield response
                    finally:
                        response.close()
                    return
                response.read()
                response.close()
                wait = self.retry.wait_for(attempt, response)
                if wait is None:
                    raise error_for(response)
            time.sleep(wait)
            attempt += 1

    def _timeout(self, timeout: TimeoutTypes | httpx.Timeout) -> httpx.Timeout:
        chosen = timeout if timeout is not None else self.timeout
        if chosen is None:
            return httpx.Timeout(None)
        return chosen if isinstance(chosen, httpx.Timeout) else httpx.Timeout(chosen)

    def page(self, path: str, params: Mapping[str, Any], wrap: Callable[[Any], T] | None = None) -> Page[T]:
        return Page(self, path, dict(params), self.json("GET", path, params=params), wrap)

    def download_to(self, path: str, target: Path) -> Path:
        """Stream ``path`` into the file ``target`` (written beside, then renamed into place)."""
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")
        with self.stream("GET", path) as response, partial.open("wb") as out:
            for data in response.iter_bytes():
                out.write(data)
        partial.replace(target)
        return target


class Page(Generic[T]):
    """One page of a cursor-paginated list (``data``, ``has_more``, ``next_cursor``).
    Iterating over it goes through every item of this page and the pages after it, fetching
    each when it is reached."""

    def __init__(
        self,
        client: Client,
        path: str,
        params: dict[str, Any],
        body: Mapping[str, Any],
        wrap: Callable[[Any], T] | None = None,
    ) -> None:
        self._client, self._path, self._params, self._wrap = client, path, params, wrap
        self.body = body
        self.data: list[T] = [wrap(d) if wrap else d for d in body["data"]]
        self.has_more: bool = bool(body.get("has_more"))
        self.next_cursor: str | None = body.get("next_cursor")

    def next_page(self) -> Page[T] | None:
        if not self.has_more or not self.next_cursor:
            return None
        return self._client.page(self._path, {**self._params, "cursor": self.next_cursor}, self._wrap)

    def pages(self) -> Iterator[Page[T]]:
        page: Page[T] | None = self
        while page is not None:
            yield page
            page = page.next_page()

    def __iter__(self) -> Iterator[T]:
        for page in self.pages():
            yield from page.data


class Render:
    """A render as the server last showed it (``data``), with the calls that follow it."""

    def __init__(self, client: Client, data: models.RenderOut) -> None:
        self._client = client
        self.data = data

    @property
    def id(self) -> str:
        return self.data["id"]

    @property
    def state(self) -> str:
        return self.data["state"]

    @property
    def outputs(self) -> list[models.RenderOutput]:
        return self.data.get("outputs") or []

    @property
    def done(self) -> bool:
        return self.state in TERMINAL_STATES

    def __getitem__(self, key: str) -> Any:
        return self.data[key]  # type: ignore[literal-required]

    def __repr__(self) -> str:
        return f"<Render {self.id} {self.state} {self.data.get('progress', 0):.0%}>"

    def refresh(self) -> Render:
        self.data = cast(models.RenderOut, self._client.json("GET", f"/v1/renders/{self.id}"))
        return self

    def cancel(self) -> Render:
        self.data = cast(models.RenderOut, self._client.json("POST", f"/v1/renders/{self.id}/cancel"))
        return self

    def wait(
        self,
        *,
        progress: bool = False,
        timeout: float | None = None,
        follow: str = "stream",
        poll_interval: float = 1.0,
        on_update: Callable[[Render], None] | None = None,
    ) -> Render:
        """Block until the render has ended (``succeeded``, ``failed``, ``cancelled``); itself.

        ``follow="stream"`` follows the server's event stream of the render (reconnecting when
        it breaks, and polling if the server offers none); ``"poll"`` asks every
        ``poll_interval`` seconds. ``progress`` shows a Rich progress bar; ``on_update`` is
        called with each new state. ``timeout`` raises :class:`TimeoutError` after that many
        seconds (the render goes on)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        bar = _ProgressBar(self) if progress else None
        try:
            for _ in self._updates(follow, poll_interval, deadline):
                if bar is not None:
                    bar.update(self)
                if on_update is not None:
                    on_update(self)
                if self.done:
                    return self
        finally:
            if bar is not None:
                bar.close()
        raise TimeoutError(f"render {self.id} is still {self.state} after {timeout} s")

    def _updates(self, follow: str, interval: float, deadline: float | None) -> Iterator[None]:
        streaming = follow == "stream"
        while deadline is None or time.monotonic() < deadline:
            if streaming:
                try:
                    for event in self._client.renders.progress_events(self.id):
                        if event.event in ("state", "progress"):
                            self.data = cast(models.RenderOut, jsonlib.loads(event.data))
                            yield
                            if self.done:
                                return
                        if deadline is not None and time.monotonic() >= deadline:
                            return
                    continue  # the stream ended early: reconnect, it starts with the state
                except (APIConnectionError, httpx.TransportError):
                    time.sleep(self._client.retry.backoff(0))
                    continue
                except APIStatusError as exc:
                    if exc.status_code not in (404, 405, 406, 501):
                        raise
                    streaming = False  # no event stream here: poll instead
            self.refresh()
            yield
            if self.done:
                return
            time.sleep(interval if deadline is None else max(0.0, min(interval, deadline - time.monotonic())))

    def download(self, folder: str | Path) -> list[Path]:
        """Every output file of the render into ``folder``; the paths written."""
        folder = Path(folder)
        written = []
        for index, output in enumerate(self.outputs):
            name = safe_file_name(str(output.get("file_name") or output.get("name") or ""), f"output-{index}")
            path = output.get("file_url") or f"/v1/assets/{output['id']}/content"
            written.append(self._client.download_to(_path_of(path), folder / name))
        return written


class _ProgressBar:
    """A Rich progress bar of one render on stderr (Rich is imported only when a bar is asked
    for)."""

    def __init__(self, render: Render) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),  # stdout stays the program's own
        )
        self._progress.start()
        self._task = self._progress.add_task(f"{render.id} {render.state}", total=1.0)

    def update(self, render: Render) -> None:
        fraction = 1.0 if render.state == "succeeded" else float(render.data.get("progress") or 0)
        self._progress.update(self._task, completed=fraction, description=f"{render.id} {render.state}")

    def close(self) -> None:
        self._progress.stop()


def _path_of(url: str) -> str:
    """The path (and query) of an absolute or relative URL the server handed out."""
    parsed = httpx.URL(url)
    return parsed.raw_path.decode() if parsed.is_absolute_url else url


class Renders:
    """Renders (``/v1/renders``): start one, follow it, list, cancel."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def create(
        self,
        *,
        edit: Mapping[str, Any] | None = None,
        project_id: str | None = None,
        revision: int | None = None,
        metadata: Mapping[str, Any] | None = None,
        tags: list[str] | None = None,
        webhook_url: str | None = None,
        destinations: list[str] | None = None,
        idempotency_key: str | None = None,
    ) -> Render:
        """Start a render of an inline ``edit`` or of a project (at ``revision``)."""
        body: dict[str, Any] = {
            k: v
            for k, v in {
                "edit": edit,
                "project_id": project_id,
                "revision": revision,
                "metadata": metadata,
                "tags": tags,
                "webhook_url": webhook_url,
                "destinations": destinations,
            }.items()
            if v is not None
        }
        data = self._client.json("POST", "/v1/renders", json=body, idempotency_key=idempotency_key)
        return Render(self._client, data)

    def plan(
        self, *, edit: Mapping[str, Any] | None = None, project_id: str | None = None
    ) -> models.RenderPlan:
        """What a render would make (``dry_run``): nothing is started."""
        body = {k: v for k, v in {"edit": edit, "project_id": project_id}.items() if v is not None}
        return cast(
            models.RenderPlan, self._client.json("POST", "/v1/renders", json={**body, "dry_run": True})
        )

    def get(self, render_id: str) -> Render:
        """The render as it is now."""
        return Render(self._client, self._client.json("GET", f"/v1/renders/{render_id}"))

    def list(
        self, *, state: str | None = None, project_id: str | None = None, limit: int | None = None
    ) -> Page[Render]:
        """Renders, newest first (one page; iterate the page for all of them)."""
        return self._client.page(
            "/v1/renders",
            {"state": state, "project_id": project_id, "limit": limit},
            lambda d: Render(self._client, d),
        )

    def cancel(self, render_id: str) -> Render:
        """Ask the render to stop (409 :class:`ConflictError` once it has finished)."""
        return Render(self._client, self._client.json("POST", f"/v1/renders/{render_id}/cancel"))

    def log(self, render_id: str) -> str:
        """FFmpeg's log of the render."""
        return self._client.request("GET", f"/v1/renders/{render_id}/log").text

    def progress_events(self, render_id: str) -> Iterator[ServerSentEvent]:
        """The render's event stream (``state`` and ``progress`` events) until it ends."""
        with self._client.stream("GET", f"/v1/renders/{render_id}/progress", Accept="text/event-stream") as r:
            yield from SseParser().feed(r.iter_lines())


class Assets:
    """Assets (``/v1/assets``): upload (multipart or tus), list, download, import from a URL."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def upload(
        self,
        path: str | Path,
        *,
        name: str | None = None,
        tags: list[str] | None = None,
        collections: list[str] | None = None,
        resumable: bool | None = None,
        progress: Callable[[int, int], None] | None = None,
        idempotency_key: str | None = None,
    ) -> models.AssetOut:
        """Upload a file as an asset; the asset. Files of ``resumable_threshold`` bytes or more
        (or any, with ``resumable=True``) go up with tus when the server offers it, in chunks,
        resuming after a broken connection; smaller ones in one multipart request."""
        path = Path(path)
        size = path.stat().st_size
        if resumable is None:
            resumable = size >= self._client.resumable_threshold and self._offers_tus()
        if resumable:
            with ServiceClient(self._client.base_url, self._client.api_key, timeout=120.0) as tus:
                try:
                    asset_id = tus.upload(
                        path,
                        name=name,
                        tags=tags,
                        collections=collections,
                        chunk=CHUNK_BYTES,
                        progress=progress,
                    )
                except ServiceError as exc:
                    raise error_for(httpx.Response(exc.status or 502, json=exc.problem)) from exc
            return self.get(asset_id)

        def parts() -> dict[str, Any]:
            form: dict[str, str] = {}
            if name:
                form["name"] = name
            if tags:
                form["tags"] = ",".join(tags)
            if collections:
                form["collections"] = ",".join(collections)
            return {"files": {"file": (path.name, path.open("rb"))}, "data": form}

        asset = self._client.json("POST", "/v1/assets", body=parts, idempotency_key=idempotency_key)
        if progress is not None:
            progress(size, size)
        return cast(models.AssetOut, asset)

    def _offers_tus(self) -> bool:
        try:
            response = self._client._http.options(self._client.base_url + "/v1/uploads", timeout=10.0)
        except httpx.TransportError:
            return False
        return response.status_code < 300 and "1.0.0" in response.headers.get("tus-version", "")

    def get(self, asset_id: str) -> models.AssetOut:
        return cast(models.AssetOut, self._client.json("GET", f"/v1/assets/{asset_id}"))

    def list(self, *, limit: int | None = None, **filters: Any) -> Page[models.AssetOut]:
        return self._client.page("/v1/assets", {"limit": limit, **filters})

    def delete(self, asset_id: str) -> None:
        self._client.request("DELETE", f"/v1/assets/{asset_id}")

    def download(self, asset_id: str, target: str | Path) -> Path:
        """The asset's file into ``target`` (a folder: under the asset's name)."""
        target = Path(target)
        if target.is_dir():
            target = target / safe_file_name(self.get(asset_id)["name"], asset_id)
        return self._client.download_to(f"/v1/assets/{asset_id}/content", target)

    def import_url(self, url: str, *, idempotency_key: str | None = None) -> models.ImportOut:
        return cast(
            models.ImportOut,
            self._client.json(
                "POST", "/v1/assets/imports", json={"url": url}, idempotency_key=idempotency_key
            ),
        )


class Projects:
    """Projects (``/v1/projects``): stored edits with revisions."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def create(
        self, *, name: str, edit: Mapping[str, Any], idempotency_key: str | None = None, **fields: Any
    ) -> models.ProjectOut:
        body = {"name": name, "edit": edit, **fields}
        return cast(
            models.ProjectOut,
            self._client.json("POST", "/v1/projects", json=body, idempotency_key=idempotency_key),
        )

    def get(self, project_id: str) -> models.ProjectOut:
        return cast(models.ProjectOut, self._client.json("GET", f"/v1/projects/{project_id}"))

    def list(self, *, limit: int | None = None) -> Page[models.ProjectOut]:
        return self._client.page("/v1/projects", {"limit": limit})

    def from_otio(
        self, *, name: str, timeline: Mapping[str, Any], idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """A new project from an OpenTimelineIO timeline (the JSON of an ``.otio`` file);
        ``otio_notes`` says what could not be carried over."""
        return cast(
            dict[str, Any],
            self._client.json(
                "POST",
                "/v1/projects/otio",
                json={"name": name, "timeline": timeline},
                idempotency_key=idempotency_key,
            ),
        )

    def as_otio(self, project_id: str) -> dict[str, Any]:
        """The project's current edit as an OpenTimelineIO timeline (``timeline``) and the
        ``notes`` on what other editors will not see."""
        return cast(dict[str, Any], self._client.json("GET", f"/v1/projects/{project_id}/otio"))


class Templates:
    """Templates (``/v1/templates``): edits with variables, rendered with values."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def list(self, *, limit: int | None = None) -> Page[models.TemplateOut]:
        return self._client.page("/v1/templates", {"limit": limit})

    def get(self, template_id: str) -> models.TemplateOut:
        return cast(models.TemplateOut, self._client.json("GET", f"/v1/templates/{template_id}"))

    def create(self, idempotency_key: str | None = None, **body: Any) -> models.TemplateOut:
        return cast(
            models.TemplateOut,
            self._client.json("POST", "/v1/templates", json=body, idempotency_key=idempotency_key),
        )

    def render(
        self, template_id: str, values: Mapping[str, Any], idempotency_key: str | None = None, **fields: Any
    ) -> Render:
        """Render the template filled with ``values``."""
        data = self._client.json(
            "POST",
            f"/v1/templates/{template_id}/renders",
            json={"values": values, **fields},
            idempotency_key=idempotency_key,
        )
        return Render(self._client, data)


class Batches:
    """Batches (``/v1/batches``): one template rendered for many rows of values."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def create(self, idempotency_key: str | None = None, **body: Any) -> models.BatchOut:
        return cast(
            models.BatchOut,
            self._client.json("POST", "/v1/batches", json=body, idempotency_key=idempotency_key),
        )

    def get(self, batch_id: str) -> models.BatchOut:
        return cast(models.BatchOut, self._client.json("GET", f"/v1/batches/{batch_id}"))

    def list(self, *, limit: int | None = None) -> Page[models.BatchOut]:
        return self._client.page("/v1/batches", {"limit": limit})


class Events:
    """The workspace's events (``/v1/events``): listed, or followed as they happen."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def list(self, *, limit: int | None = None, **filters: Any) -> Page[models.EventOut]:
        return self._client.page("/v1/events", {"limit": limit, **filters})

    def stream(self, **filters: Any) -> Iterator[models.EventOut]:
        """The workspace's events as they happen (``GET /v1/events/stream``)."""
        with self._client.stream("GET", "/v1/events/stream", params=filters, Accept="text/event-stream") as r:
            for event in SseParser().feed(r.iter_lines()):
                if event.data:
                    yield cast(models.EventOut, jsonlib.loads(event.data))
