"""The asynchronous SDK client (:class:`AsyncClient`): the same resources and behaviour as
:class:`reelforge.client.Client`, awaitable.

    async with AsyncClient("https://reelforge.example.com", api_key="rf_...") as rf:
        render = await (await rf.renders.create(edit=edit)).wait()
        async for asset in await rf.assets.list():
            ...
"""

from __future__ import annotations

import asyncio
import contextlib
import json as jsonlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
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
from .sync import RESUMABLE_THRESHOLD, TimeoutTypes, _path_of, _ProgressBar
from .tus import CHUNK_BYTES, ServiceClient, ServiceError

__all__ = ["AsyncClient", "AsyncPage", "AsyncRender"]

T = TypeVar("T")


class AsyncClient:
    """The async twin of :class:`reelforge.client.Client` (same arguments, same retries,
    idempotency keys, timeouts and exceptions)."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: TimeoutTypes = DEFAULT_TIMEOUT,
        max_retries: int = 3,
        retry: RetryPolicy | None = None,
        resumable_threshold: int = RESUMABLE_THRESHOLD,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.base_url, self.api_key = resolve_config(base_url, api_key)
        self.retry = retry or RetryPolicy(max_retries=max_retries)
        self.timeout = timeout
        self.resumable_threshold = resumable_threshold
        self._http = http_client or httpx.AsyncClient(trust_env=False)
        self._headers = default_headers(self.api_key)
        self.renders = AsyncRenders(self)
        self.assets = AsyncAssets(self)
        self.projects = AsyncProjects(self)
        self.templates = AsyncTemplates(self)
        self.batches = AsyncBatches(self)
        self.events = AsyncEvents(self)

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _timeout(self, timeout: TimeoutTypes) -> httpx.Timeout:
        chosen = timeout if timeout is not None else self.timeout
        if chosen is None:
            return httpx.Timeout(None)
        return chosen if isinstance(chosen, httpx.Timeout) else httpx.Timeout(chosen)

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        timeout: TimeoutTypes = None,
        body: Callable[[], dict[str, Any]] | None = None,
    ) -> httpx.Response:
        """See :meth:`reelforge.client.Client.request`."""
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
                response = await self._http.send(request)
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
            await asyncio.sleep(wait)
            attempt += 1

    async def json(self, method: str, path: str, **kw: Any) -> Any:
        response = await self.request(method, path, **kw)
        return response.json() if response.content else None

    @contextlib.asynccontextmanager
    async def stream(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, **headers: str
    ) -> AsyncIterator[httpx.Response]:
        attempt = 0
        while True:
            request = self._http.build_request(
                method,
                self.base_url + path,
                params={k: v for k, v in (params or {}).items() if v is not None},
                headers={**self._headers, **headers},
                timeout=self._timeout(None),
            )
            try:
                response = await self._http.send(request, stream=True)
            except httpx.TransportError as exc:
                wait = self.retry.wait_for(attempt, None)
                if wait is None:
                    raise APIConnectionError(f"{method} {path}: {exc!r}", request=request) from exc
            else:
                if response.status_code < 400:
                    try:
                        yield response
                    finally:
                        await response.aclose()
                    return
                await response.aread()
                await response.aclose()
                wait = self.retry.wait_for(attempt, response)
                if wait is None:
                    raise error_for(response)
            await asyncio.sleep(wait)
            attempt += 1

    async def page(
        self, path: str, params: Mapping[str, Any], wrap: Callable[[Any], T] | None = None
    ) -> AsyncPage[T]:
        body = await self.json("GET", path, params=params)
        return AsyncPage(self, path, dict(params), body, wrap)

    async def download_to(self, path: str, target: Path) -> Path:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")
        async with self.stream("GET", path) as response:
            with partial.open("wb") as out:
                async for data in response.aiter_bytes():
                    out.write(data)
        partial.replace(target)
        return target


class AsyncPage(Generic[T]):
    """One page of a list; ``async for`` goes through it and every page after it."""

    def __init__(
        self,
        client: AsyncClient,
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

    async def next_page(self) -> AsyncPage[T] | None:
        if not self.has_more or not self.next_cursor:
            return None
        return await self._client.page(self._path, {**self._params, "cursor": self.next_cursor}, self._wrap)

    async def __aiter__(self) -> AsyncIterator[T]:
        page: AsyncPage[T] | None = self
        while page is not None:
            for item in page.data:
                yield item
            page = await page.next_page()


class AsyncRender:
    """See :class:`reelforge.client.Render`."""

    def __init__(self, client: AsyncClient, data: models.RenderOut) -> None:
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

    def __repr__(self) -> str:
        return f"<AsyncRender {self.id} {self.state}>"

    async def refresh(self) -> AsyncRender:
        self.data = cast(models.RenderOut, await self._client.json("GET", f"/v1/renders/{self.id}"))
        return self

    async def cancel(self) -> AsyncRender:
        self.data = cast(models.RenderOut, await self._client.json("POST", f"/v1/renders/{self.id}/cancel"))
        return self

    async def wait(
        self,
        *,
        progress: bool = False,
        timeout: float | None = None,
        follow: str = "stream",
        poll_interval: float = 1.0,
        on_update: Callable[[AsyncRender], Awaitable[None] | None] | None = None,
    ) -> AsyncRender:
        """See :meth:`reelforge.client.Render.wait`."""
        deadline = None if timeout is None else time.monotonic() + timeout
        bar = _ProgressBar(self) if progress else None  # type: ignore[arg-type]
        try:
            async for _ in self._updates(follow, poll_interval, deadline):
                if bar is not None:
                    bar.update(self)  # type: ignore[arg-type]
                if on_update is not None:
                    done = on_update(self)
                    if done is not None:
                        await done
                if self.done:
                    return self
        finally:
            if bar is not None:
                bar.close()
        raise TimeoutError(f"render {self.id} is still {self.state} after {timeout} s")

    async def _updates(self, follow: str, interval: float, deadline: float | None) -> AsyncIterator[None]:
        streaming = follow == "stream"
        while deadline is None or time.monotonic() < deadline:
            if streaming:
                try:
                    async for event in self._client.renders.progress_events(self.id):
                        if event.event in ("state", "progress"):
                            self.data = cast(models.RenderOut, jsonlib.loads(event.data))
                            yield
                            if self.done:
                                return
                        if deadline is not None and time.monotonic() >= deadline:
                            return
                    continue
                except (APIConnectionError, httpx.TransportError):
                    await asyncio.sleep(self._client.retry.backoff(0))
                    continue
                except APIStatusError as exc:
                    if exc.status_code not in (404, 405, 406, 501):
                        raise
                    streaming = False
            await self.refresh()
            yield
            if self.done:
                return
            left = interval if deadline is None else max(0.0, min(interval, deadline - time.monotonic()))
            await asyncio.sleep(left)

    async def download(self, folder: str | Path) -> list[Path]:
        folder = Path(folder)
        written = []
        for index, output in enumerate(self.outputs):
            name = safe_file_name(str(output.get("file_name") or output.get("name") or ""), f"output-{index}")
            path = output.get("file_url") or f"/v1/assets/{output['id']}/content"
            written.append(await self._client.download_to(_path_of(path), folder / name))
        return written


class AsyncRenders:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def create(
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
    ) -> AsyncRender:
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
        data = await self._client.json("POST", "/v1/renders", json=body, idempotency_key=idempotency_key)
        return AsyncRender(self._client, data)

    async def get(self, render_id: str) -> AsyncRender:
        return AsyncRender(self._client, await self._client.json("GET", f"/v1/renders/{render_id}"))

    async def list(
        self, *, state: str | None = None, project_id: str | None = None, limit: int | None = None
    ) -> AsyncPage[AsyncRender]:
        return await self._client.page(
            "/v1/renders",
            {"state": state, "project_id": project_id, "limit": limit},
            lambda d: AsyncRender(self._client, d),
        )

    async def cancel(self, render_id: str) -> AsyncRender:
        return AsyncRender(self._client, await self._client.json("POST", f"/v1/renders/{render_id}/cancel"))

    async def progress_events(self, render_id: str) -> AsyncIterator[ServerSentEvent]:
        parser = SseParser()
        async with self._client.stream(
            "GET", f"/v1/renders/{render_id}/progress", Accept="text/event-stream"
        ) as r:
            async for line in r.aiter_lines():
                event = parser.line(line)
                if event is not None:
                    yield event


class AsyncAssets:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def upload(
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
        """See :meth:`reelforge.client.sync.Assets.upload` (tus runs in a worker thread)."""
        path = Path(path)
        size = path.stat().st_size
        if resumable is None:
            resumable = size >= self._client.resumable_threshold and await self._offers_tus()
        if resumable:

            def send() -> str:
                with ServiceClient(self._client.base_url, self._client.api_key, timeout=120.0) as tus:
                    return tus.upload(
                        path,
                        name=name,
                        tags=tags,
                        collections=collections,
                        chunk=CHUNK_BYTES,
                        progress=progress,
                    )

            try:
                asset_id = await asyncio.to_thread(send)
            except ServiceError as exc:
                raise error_for(httpx.Response(exc.status or 502, json=exc.problem)) from exc
            return await self.get(asset_id)

        def parts() -> dict[str, Any]:
            form: dict[str, str] = {}
            if name:
                form["name"] = name
            if tags:
                form["tags"] = ",".join(tags)
            if collections:
                form["collections"] = ",".join(collections)
            return {"files": {"file": (path.name, path.read_bytes())}, "data": form}

        asset = await self._client.json("POST", "/v1/assets", body=parts, idempotency_key=idempotency_key)
        if progress is not None:
            progress(size, size)
        return cast(models.AssetOut, asset)

    async def _offers_tus(self) -> bool:
        try:
            response = await self._client._http.options(self._client.base_url + "/v1/uploads", timeout=10.0)
        except httpx.TransportError:
            return False
        return response.status_code < 300 and "1.0.0" in response.headers.get("tus-version", "")

    async def get(self, asset_id: str) -> models.AssetOut:
        return cast(models.AssetOut, await self._client.json("GET", f"/v1/assets/{asset_id}"))

    async def list(self, *, limit: int | None = None, **filters: Any) -> AsyncPage[models.AssetOut]:
        return await self._client.page("/v1/assets", {"limit": limit, **filters})

    async def delete(self, asset_id: str) -> None:
        await self._client.request("DELETE", f"/v1/assets/{asset_id}")

    async def download(self, asset_id: str, target: str | Path) -> Path:
        target = Path(target)
        if target.is_dir():
            target = target / safe_file_name((await self.get(asset_id))["name"], asset_id)
        return await self._client.download_to(f"/v1/assets/{asset_id}/content", target)


class AsyncProjects:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def create(
        self, *, name: str, edit: Mapping[str, Any], idempotency_key: str | None = None, **fields: Any
    ) -> models.ProjectOut:
        body = {"name": name, "edit": edit, **fields}
        return cast(
            models.ProjectOut,
            await self._client.json("POST", "/v1/projects", json=body, idempotency_key=idempotency_key),
        )

    async def get(self, project_id: str) -> models.ProjectOut:
        return cast(models.ProjectOut, await self._client.json("GET", f"/v1/projects/{project_id}"))

    async def list(self, *, limit: int | None = None) -> AsyncPage[models.ProjectOut]:
        return await self._client.page("/v1/projects", {"limit": limit})


class AsyncTemplates:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def list(self, *, limit: int | None = None) -> AsyncPage[models.TemplateOut]:
        return await self._client.page("/v1/templates", {"limit": limit})

    async def get(self, template_id: str) -> models.TemplateOut:
        return cast(models.TemplateOut, await self._client.json("GET", f"/v1/templates/{template_id}"))

    async def render(
        self, template_id: str, values: Mapping[str, Any], idempotency_key: str | None = None, **fields: Any
    ) -> AsyncRender:
        data = await self._client.json(
            "POST",
            f"/v1/templates/{template_id}/renders",
            json={"values": values, **fields},
            idempotency_key=idempotency_key,
        )
        return AsyncRender(self._client, data)


class AsyncBatches:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def create(self, idempotency_key: str | None = None, **body: Any) -> models.BatchOut:
        return cast(
            models.BatchOut,
            await self._client.json("POST", "/v1/batches", json=body, idempotency_key=idempotency_key),
        )

    async def get(self, batch_id: str) -> models.BatchOut:
        return cast(models.BatchOut, await self._client.json("GET", f"/v1/batches/{batch_id}"))

    async def list(self, *, limit: int | None = None) -> AsyncPage[models.BatchOut]:
        return await self._client.page("/v1/batches", {"limit": limit})


class AsyncEvents:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def list(self, *, limit: int | None = None, **filters: Any) -> AsyncPage[models.EventOut]:
        return await self._client.page("/v1/events", {"limit": limit, **filters})

    async def stream(self, **filters: Any) -> AsyncIterator[models.EventOut]:
        parser = SseParser()
        async with self._client.stream(
            "GET", "/v1/events/stream", params=filters, Accept="text/event-stream"
        ) as r:
            async for line in r.aiter_lines():
                event = parser.line(line)
                if event is not None and event.data:
                    yield cast(models.EventOut, jsonlib.loads(event.data))
