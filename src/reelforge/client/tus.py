"""The tus upload client of the Reelforge service used by the CLI (``reelforge upload``, ``import``,
``push``): resumable tus uploads, imports from URLs, and pushing an edit whose files are local.

Uploads are resumable across runs: the upload URL of a file being sent is remembered in a state
file (by server, path, size and modification time), so running the same command again after an
interruption HEADs the upload and sends only what is missing. A dropped connection, 409 (offset
moved) and 423 (another request still appending) are answered by asking the server for the
offset again and going on from there.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

__all__ = [
    "CHUNK_BYTES",
    "ServiceClient",
    "ServiceError",
    "default_state_file",
]

CHUNK_BYTES = 50 * 2**20
"""Bytes per PATCH: the chunk the service advises (a proxy in front may cap bodies)."""
_READ = 1 << 20
TUS = {"Tus-Resumable": "1.0.0"}


class ServiceError(Exception):
    """The service refused: its problem's ``detail`` and located ``errors``."""

    def __init__(self, status: int, problem: dict[str, Any]):
        detail = problem.get("detail") or problem.get("title") or f"HTTP {status}"
        located = "; ".join(
            f"{e.get('pointer') or e.get('header') or e.get('parameter') or ''}: {e.get('detail')}"
            for e in problem.get("errors") or []
        )
        super().__init__(f"{detail}{' (' + located + ')' if located else ''}")
        self.status = status
        self.problem = problem


def default_state_file() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "reelforge" / "uploads.json"


@dataclass
class ServiceClient:
    base_url: str
    token: str
    state_file: Path | None = None
    timeout: float = 120.0

    def __post_init__(self) -> None:
        self.http = httpx.Client(
            base_url=self.base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {self.token}", "User-Agent": "reelforge-cli"},
            timeout=httpx.Timeout(self.timeout, connect=10.0),
            trust_env=False,
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ServiceClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ plain JSON calls

    def request(self, method: str, path: str, *, expect: tuple[int, ...] = (200, 201, 202), **kw: Any) -> Any:
        r = self.http.request(method, path, **kw)
        if r.status_code not in expect:
            raise _refusal(r)
        return r.json() if r.content else None

    # ------------------------------------------------------------------ tus uploads

    def upload(
        self,
        path: Path,
        *,
        name: str | None = None,
        tags: list[str] | None = None,
        collections: list[str] | None = None,
        chunk: int = CHUNK_BYTES,
        progress: Callable[[int, int], None] | None = None,
        retries: int = 10,
    ) -> str:
        """Upload ``path`` with tus (resuming an earlier run's upload of the same file); the
        asset id it became."""
        path = path.resolve()
        size = path.stat().st_size
        key = f"{self.http.base_url}|{path}|{size}|{path.stat().st_mtime_ns}"
        url = self._remembered(key)
        offset = self._offset(url) if url else None
        if url is None or offset is None:
            url = self._create(path, size, name=name, tags=tags, collections=collections)
            self._remember(key, url)
            offset = 0
        failures = 0
        response: httpx.Response | None = None
        while True:
            if progress is not None:
                progress(offset, size)
            if offset >= size:
                asset = self._asset_of(url)
                if asset is not None:
                    self._forget(key)
                    return asset
            part = min(chunk, size - offset)
            try:
                response = self.http.patch(
                    url,
                    content=_chunks(path, offset, part),
                    headers={
                        **TUS,
                        "Upload-Offset": str(offset),
                        "Content-Length": str(part),
                        "Content-Type": "application/offset+octet-stream",
                    },
                    timeout=httpx.Timeout(None, connect=10.0),
                )
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code == 204:
                offset = int(response.headers["Upload-Offset"])
                failures = 0
                asset_id = response.headers.get("Reelforge-Asset-Id")
                if asset_id:
                    if progress is not None:
                        progress(size, size)
                    self._forget(key)
                    return asset_id
                continue
            if response is not None and response.status_code not in (409, 423) and response.status_code < 500:
                if response.status_code in (404, 410):
                    self._forget(key)
                raise _refusal(response)
            failures += 1
            if failures > retries:
                if response is not None:
                    raise _refusal(response)
                raise ServiceError(0, {"detail": f"the connection to {self.http.base_url} keeps failing"})
            time.sleep(min(0.2 * 2**failures, 10))  # let the server finish the broken request
            found = self._offset(url)
            if found is None:
                self._forget(key)
                raise ServiceError(
                    410, {"detail": "the upload is gone from the server; run the command again"}
                )
            offset = found

    def _create(
        self,
        path: Path,
        size: int,
        *,
        name: str | None,
        tags: list[str] | None,
        collections: list[str] | None = None,
    ) -> str:
        metadata = {"filename": path.name}
        if name:
            metadata["name"] = name
        if tags:
            metadata["tags"] = ",".join(tags)
        if collections:
            metadata["collections"] = ",".join(collections)
        header = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in metadata.items())
        r = self.http.post(
            "/v1/uploads", headers={**TUS, "Upload-Length": str(size), "Upload-Metadata": header}
        )
        if r.status_code != 201:
            raise _refusal(r)
        return httpx.URL(r.headers["Location"]).path

    def _offset(self, url: str) -> int | None:
        """The upload's offset, or None when the server no longer has it."""
        with contextlib.suppress(httpx.TransportError):
            r = self.http.head(url, headers=TUS)
            if r.status_code == 200:
                return int(r.headers["Upload-Offset"])
            if r.status_code in (404, 410):
                return None
            raise _refusal(r)
        return None

    def _asset_of(self, url: str) -> str | None:
        r = self.http.head(url, headers=TUS)
        if r.status_code != 200:
            raise _refusal(r)
        return r.headers.get("Reelforge-Asset-Id")

    def _states(self) -> dict[str, str]:
        if self.state_file is None or not self.state_file.is_file():
            return {}
        try:
            found = json.loads(self.state_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return {}
        return found if isinstance(found, dict) else {}

    def _remembered(self, key: str) -> str | None:
        return self._states().get(key)

    def _remember(self, key: str, url: str) -> None:
        if self.state_file is None:
            return
        states = self._states()
        states[key] = url
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps(states, indent=1), encoding="utf-8")

    def _forget(self, key: str) -> None:
        if self.state_file is None:
            return
        states = self._states()
        if states.pop(key, None) is not None:
            self.state_file.write_text(json.dumps(states, indent=1), encoding="utf-8")

    # ------------------------------------------------------------------ imports, renders

    def import_url(self, url: str, *, wait: float | None = 600) -> dict[str, Any]:
        """Start an import; with ``wait``, poll until it ends (at most that many seconds)."""
        made: dict[str, Any] = self.request("POST", "/v1/assets/imports", json={"url": url}, expect=(202,))
        if wait is None:
            return made
        deadline = time.monotonic() + wait
        while made["state"] not in ("succeeded", "failed") and time.monotonic() < deadline:
            time.sleep(0.5)
            made = self.request("GET", f"/v1/assets/imports/{made['id']}")
        return made

    def wait_render(self, render_id: str, *, wait: float) -> dict[str, Any]:
        deadline = time.monotonic() + wait
        while True:
            render: dict[str, Any] = self.request("GET", f"/v1/renders/{render_id}")
            if render["state"] in ("succeeded", "failed", "cancelled") or time.monotonic() >= deadline:
                return render
            time.sleep(1.0)

    def download(self, asset_id: str, target: Path) -> Path:
        with self.http.stream("GET", f"/v1/assets/{asset_id}/content") as r:
            if r.status_code != 200:
                r.read()
                raise _refusal(r)
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("wb") as out:
                for data in r.iter_bytes():
                    out.write(data)
        return target


def _chunks(path: Path, start: int, size: int) -> Iterator[bytes]:
    with path.open("rb") as fh:
        fh.seek(start)
        left = size
        while left > 0:
            data = fh.read(min(_READ, left))
            if not data:
                return
            left -= len(data)
            yield data


def _refusal(r: httpx.Response) -> ServiceError:
    try:
        problem = r.json()
    except ValueError:
        problem = {"detail": f"HTTP {r.status_code}"}
    return ServiceError(r.status_code, problem if isinstance(problem, dict) else {"detail": str(problem)})
