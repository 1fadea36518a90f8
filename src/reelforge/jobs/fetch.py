"""Fetching media from a user's URL into a local file, safely (conventions sheet §9.1).

The same SSRF rules as webhook delivery (:mod:`reelforge.webhooks.ssrf`): the URL's shape is
checked before every request and every redirect hop (scheme, no userinfo, allowed port, literal
addresses), and the connection itself goes through :class:`~reelforge.webhooks.ssrf.SafeAsyncTransport`,
which resolves the name and connects only to an address it validated (no loopback, private,
link-local or metadata address; DNS rebinding has no window). Redirects are followed by hand, at
most :data:`MAX_REDIRECTS`, never from https down to http.

The body streams into the file with a byte counter (the size limit holds whatever the headers
say). An attempt that breaks off (connection dropped, no byte for ``read_timeout``) is resumed
with ``Range: bytes=<have>-`` and ``If-Range`` (the ETag, or Last-Modified) when the server
said ``Accept-Ranges: bytes``; a server that answers 200 instead sends the whole file again.
The total time of all attempts is bounded by ``deadline``.

Errors are :class:`FetchFailed` with a coarse ``reason`` safe to show (``blocked``, ``timeout``,
``too_large``, ``http_4xx``, ...): never the body or the network's details (blind SSRF).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from reelforge.media.ingest import file_sha256
from reelforge.webhooks.ssrf import (
    AddressPolicy,
    Resolver,
    SafeAsyncTransport,
    UnsafeURL,
    UrlPolicy,
    check_url,
    system_resolver,
    unsafe_cause,
)

__all__ = [
    "MAX_REDIRECTS",
    "USER_AGENT",
    "FetchFailed",
    "FetchLimits",
    "Fetched",
    "fetch_to_file",
    "url_policy",
]

log = logging.getLogger("reelforge.imports")

USER_AGENT = "Reelforge-Import/1.0"
MAX_REDIRECTS = 5
_REFUSED = "the URL leads to an address that is not allowed"


class FetchFailed(Exception):
    """The URL could not be fetched. ``code`` is ``url-not-allowed`` (the URL or an address it
    leads to is refused) or ``import-failed``; ``reason`` is coarse and safe to show."""

    def __init__(self, code: str, reason: str, detail: str):
        super().__init__(detail)
        self.code = code
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class FetchLimits:
    max_bytes: int
    deadline: float
    """Seconds for the whole fetch, every attempt and redirect included."""
    read_timeout: float = 30.0
    connect_timeout: float = 5.0
    attempts: int = 5


@dataclass(frozen=True)
class Fetched:
    url: str
    """The URL the bytes came from (after redirects)."""
    size: int
    sha256: str
    etag: str | None
    content_type: str | None
    resumed: int
    """How many times a broken-off transfer was continued with Range."""


def url_policy(*, allow_private: bool, ports: list[int], denied: list[str]) -> UrlPolicy:
    """The policy for import URLs: http(s) on the allowed ports to public addresses; with
    ``allow_private`` (development only) any port and any address but the unspecified one."""
    return UrlPolicy(
        schemes=frozenset({"http", "https"}),
        ports=frozenset() if allow_private else frozenset(ports),
        addresses=AddressPolicy.from_strings(allow_private=allow_private, denied=denied),
    )


async def fetch_to_file(
    url: str,
    dest: Path,
    *,
    policy: UrlPolicy,
    limits: FetchLimits,
    progress: Callable[[int, int | None], None] | None = None,
    resolver: Resolver = system_resolver,
) -> Fetched:
    """Fetch ``url`` into ``dest`` (continuing the bytes already in ``dest`` when the server
    allows ranges and the file did not change); raises :class:`FetchFailed`."""
    started = time.monotonic()
    check = _checked(url, policy)
    timeout = httpx.Timeout(limits.read_timeout, connect=limits.connect_timeout, pool=5.0)
    transport = SafeAsyncTransport(policy.addresses, resolver=resolver)
    async with httpx.AsyncClient(
        transport=transport,
        follow_redirects=False,
        trust_env=False,
        timeout=timeout,
        headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"},
    ) as client:
        remaining = limits.deadline - (time.monotonic() - started)
        try:
            return await asyncio.wait_for(
                _fetch(client, check, dest, policy, limits, progress), timeout=max(remaining, 0.001)
            )
        except TimeoutError:
            raise FetchFailed("import-failed", "timeout", "the import took longer than allowed") from None


def _checked(url: str, policy: UrlPolicy) -> httpx.URL:
    try:
        return check_url(url, policy)
    except UnsafeURL as exc:
        # A redirect's target is the remote server's detail: logged, not told.
        log.warning("import refused a URL: %s", exc)
        raise FetchFailed("url-not-allowed", exc.reason, _REFUSED) from None


async def _fetch(
    client: httpx.AsyncClient,
    url: httpx.URL,
    dest: Path,
    policy: UrlPolicy,
    limits: FetchLimits,
    progress: Callable[[int, int | None], None] | None,
) -> Fetched:
    have = dest.stat().st_size if dest.exists() else 0
    validator: str | None = None
    resumable = False
    resumed = 0
    attempts = 0
    while True:
        attempts += 1
        headers = {}
        if have and resumable and validator:
            headers = {"Range": f"bytes={have}-", "If-Range": validator}
        try:
            response_url, response = await _follow(client, url, headers, policy)
        except FetchFailed:
            raise
        except (httpx.HTTPError, UnsafeURL) as exc:
            blocked = unsafe_cause(exc)
            if blocked is not None:
                # Which address a name resolved to is the network's detail (blind SSRF): the
                # log has it, the import's error only the coarse reason.
                log.warning("import of %s refused: %s", url, blocked)
                raise FetchFailed("url-not-allowed", blocked.reason, _REFUSED) from None
            if attempts < limits.attempts:
                continue
            assert isinstance(exc, httpx.HTTPError)
            raise FetchFailed(
                "import-failed", _network_reason(exc), "the server could not be reached"
            ) from None
        url = response_url
        try:
            if response.status_code == 206 and have:
                start = _range_start(response.headers.get("content-range"))
                if start != have:
                    have = 0  # not what we asked for: start over
                    await response.aclose()
                    resumable = False
                    continue
                resumed += 1
                mode = "ab"
            elif response.status_code == 200:
                have = 0
                mode = "wb"
            else:
                status = response.status_code
                raise FetchFailed("import-failed", f"http_{status // 100}xx", f"the server answered {status}")
            total = _total(response, have)
            if total is not None and total > limits.max_bytes:
                raise FetchFailed(
                    "import-failed", "too_large", f"the file is larger than {limits.max_bytes} bytes"
                )
            validator = response.headers.get("etag") or response.headers.get("last-modified") or validator
            resumable = (
                response.headers.get("accept-ranges", "").lower() == "bytes" or response.status_code == 206
            )
            etag = response.headers.get("etag")
            content_type = response.headers.get("content-type")
            try:
                have = await _stream(response, dest, mode, have, total, limits, progress)
            except httpx.HTTPError as exc:
                have = dest.stat().st_size if dest.exists() else 0
                if attempts < limits.attempts and resumable:
                    log.info("import of %s broke off at %d bytes; resuming", url.host, have)
                    continue
                if attempts < limits.attempts:
                    have = 0
                    continue
                raise FetchFailed(
                    "import-failed", _network_reason(exc), "the transfer broke off and could not be resumed"
                ) from None
        finally:
            await response.aclose()
        if total is not None and have != total:
            if attempts < limits.attempts:
                continue
            raise FetchFailed("import-failed", "incomplete", "the server sent fewer bytes than it announced")
        return Fetched(str(url), have, file_sha256(dest), etag, content_type, resumed)


async def _follow(
    client: httpx.AsyncClient, url: httpx.URL, headers: dict[str, str], policy: UrlPolicy
) -> tuple[httpx.URL, httpx.Response]:
    """The first non-redirect answer to GET ``url`` (each hop checked); the URL it came from."""
    for _ in range(MAX_REDIRECTS + 1):
        request = client.build_request("GET", url, headers=headers)
        response = await client.send(request, stream=True)
        if response.status_code not in (301, 302, 303, 307, 308):
            return url, response
        location = response.headers.get("location")
        await response.aclose()
        if not location:
            raise FetchFailed("import-failed", "http_3xx", "a redirect without a Location")
        target = url.join(location)
        if url.scheme == "https" and target.scheme != "https":
            raise FetchFailed("url-not-allowed", "downgrade", "a redirect from https to http is not followed")
        url = _checked(str(target), policy)
    raise FetchFailed("import-failed", "redirects", f"more than {MAX_REDIRECTS} redirects")


async def _stream(
    response: httpx.Response,
    dest: Path,
    mode: str,
    have: int,
    total: int | None,
    limits: FetchLimits,
    progress: Callable[[int, int | None], None] | None,
) -> int:
    with dest.open(mode) as out:
        try:
            async for chunk in response.aiter_raw():  # as received: nothing held back in a buffer
                have += len(chunk)
                if have > limits.max_bytes:
                    raise FetchFailed(
                        "import-failed", "too_large", f"the file is larger than {limits.max_bytes} bytes"
                    )
                out.write(chunk)
                if progress is not None:
                    progress(have, total)
        finally:
            out.flush()
            os.fsync(out.fileno())
    return have


def _range_start(header: str | None) -> int | None:
    """The first byte of ``Content-Range: bytes a-b/n``."""
    if not header or not header.startswith("bytes "):
        return None
    first = header[6:].split("-", 1)[0]
    return int(first) if first.isascii() and first.isdigit() else None


def _total(response: httpx.Response, have: int) -> int | None:
    """The file's full size, when the answer says it."""
    if response.status_code == 206:
        size = (response.headers.get("content-range") or "").rpartition("/")[2]
        return int(size) if size.isascii() and size.isdigit() else None
    length = response.headers.get("content-length")
    return int(length) if length and length.isascii() and length.isdigit() else None


def _network_reason(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    return "network"
