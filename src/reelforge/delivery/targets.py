"""Putting one file at one destination: a folder under the configured root, an S3-compatible
bucket, an HTTP endpoint (signed PUT or multipart POST), an SFTP server.

Each target raises :class:`DeliveryFailed` with a message safe to show (never a credential or
a response body); ``retry`` says whether trying again later may help (a refused host key or a
path outside the root will not). Network targets go only to addresses the SSRF rules allow
(:mod:`reelforge.webhooks.ssrf`, the same settings as webhooks).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import logging
import os
import secrets
import shutil
import socket
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import httpx

from reelforge.db.delivery import LOCATION_LENGTH
from reelforge.media.s3 import AddressPinner, S3Error, S3Target, join_key, s3_client, upload_file
from reelforge.settings import Settings
from reelforge.webhooks.delivery import url_policy
from reelforge.webhooks.signing import sign_stream
from reelforge.webhooks.ssrf import (
    Resolver,
    SafeAsyncTransport,
    UnsafeURL,
    check_url,
    resolve_safe,
    system_resolver,
    unsafe_cause,
)

__all__ = [
    "CHUNK",
    "USER_AGENT",
    "DeliveryFailed",
    "OutgoingFile",
    "deliver",
    "folder_path",
    "parse_host_key",
]

CHUNK = 1024 * 1024
_NOT_ALLOWED = "the destination's address is not allowed"
"""What a tenant is told of an SSRF refusal; the details (which address a name resolved to, in
our network) go to the server's log only."""
log = logging.getLogger("reelforge.delivery")
USER_AGENT = "Reelforge-Delivery/1.0"


class DeliveryFailed(Exception):
    def __init__(self, message: str, *, retry: bool = True):
        super().__init__(message)
        self.retry = retry


def _refused(kind: str, exc: UnsafeURL) -> DeliveryFailed:
    """What the tenant is told of an SSRF refusal: a coarse reason only. The details (which
    address one of our names resolved to, inside our network) go to the server's log."""
    log.warning("%s delivery refused: %s", kind, exc)
    if exc.reason == "dns":
        return DeliveryFailed("the destination's host name does not resolve", retry=False)
    return DeliveryFailed(_NOT_ALLOWED, retry=False)


@dataclass(frozen=True)
class OutgoingFile:
    path: Path
    name: str
    """The name it gets at the destination (the destination's name template applied)."""
    content_type: str
    size: int
    sha256: str
    delivery_id: str
    """Also the ``webhook-id`` of an HTTP delivery (the receiver's idempotency key)."""
    render_id: str
    workspace_id: str
    """A folder destination writes under ``<root>/<workspace_id>/``."""


def deliver(
    kind: str,
    config: dict[str, Any],
    credentials: dict[str, Any],
    file: OutgoingFile,
    settings: Settings,
    resolver: Resolver = system_resolver,
) -> str:
    """Deliver ``file``; where it landed."""
    if kind == "folder":
        return _to_folder(config, file, settings)
    if kind == "s3":
        return _to_s3(config, credentials, file, settings, resolver)
    if kind == "http":
        return asyncio.run(_to_http(config, credentials, file, settings, resolver))
    if kind == "sftp":
        return _to_sftp(config, credentials, file, settings, resolver)
    raise DeliveryFailed(f"unknown destination kind {kind!r}", retry=False)


# ------------------------------------------------------------------ folder


def folder_path(root: Path | None, workspace_id: str, relative: str) -> Path:
    """The directory ``relative`` names in the workspace's own folder, ``root/<workspace_id>``
    (so one workspace cannot write over another's files); ValueError when it is not under it
    (absolute, ``..``, a symbolic link out) or no root is configured. Compared resolved, so a
    root reached through a symbolic link works."""
    if root is None:
        raise ValueError("folder destinations are off: set REELFORGE_DELIVERY_FOLDER_ROOT to enable them")
    if not workspace_id or "/" in workspace_id or "\\" in workspace_id or workspace_id in (".", ".."):
        raise ValueError("no workspace to deliver for")
    pure = PurePosixPath(relative.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts or "\x00" in relative:
        raise ValueError("the path must be relative to the delivery root, without `..`")
    base = root.resolve() / workspace_id
    target = (base / pure).resolve()
    if target != base and base not in target.parents:
        raise ValueError("the path leads outside the delivery root")
    return target


def _to_folder(config: dict[str, Any], file: OutgoingFile, settings: Settings) -> str:
    root = settings.delivery_folder_root
    relative = str(config.get("path") or "")
    try:
        directory = folder_path(root, file.workspace_id, relative)
    except ValueError as exc:
        raise DeliveryFailed(str(exc), retry=False) from None
    try:
        directory.mkdir(parents=True, exist_ok=True)
        # Checked again once the directories exist: a link created meanwhile cannot lead out.
        directory = folder_path(root, file.workspace_id, relative)
        final = directory / file.name
        part = directory / f".{file.name}.{secrets.token_hex(4)}.part"
        try:
            with file.path.open("rb") as src, part.open("wb") as dst:
                shutil.copyfileobj(src, dst, CHUNK)
                dst.flush()
                os.fsync(dst.fileno())
            os.replace(part, final)  # readers never see half a file
        finally:
            part.unlink(missing_ok=True)
    except ValueError as exc:
        raise DeliveryFailed(str(exc), retry=False) from None
    except OSError as exc:
        raise DeliveryFailed(f"could not write the file: {exc.strerror or exc.__class__.__name__}") from None
    # Where it landed in the workspace's folder: the server's own paths are not the tenant's business.
    assert root is not None
    return final.relative_to(root.resolve() / file.workspace_id).as_posix()


# ------------------------------------------------------------------ S3


def _checked_endpoint(url: str, settings: Settings) -> None:
    """The endpoint URL's shape (scheme, port, a literal address); its name is resolved and
    checked at each connection (:func:`_s3_pin`)."""
    try:
        check_url(url, url_policy(settings))
    except UnsafeURL as exc:
        raise _refused("s3", exc) from None


class _Refused(OSError):
    """A connection the SSRF rules refused (raised through botocore's connection)."""


def _s3_pin(settings: Settings, resolver: Resolver, refusals: list[UnsafeURL]) -> AddressPinner:
    policy = url_policy(settings).addresses

    def pin(host: str, port: int) -> list[str]:
        try:
            return resolve_safe(host, port, policy, resolver)
        except UnsafeURL as exc:
            refusals.append(exc)
            raise _Refused(str(exc)) from None

    return pin


def _to_s3(
    config: dict[str, Any],
    credentials: dict[str, Any],
    file: OutgoingFile,
    settings: Settings,
    resolver: Resolver,
) -> str:
    endpoint = config.get("endpoint_url")
    if endpoint:
        _checked_endpoint(str(endpoint), settings)
    target = S3Target(
        bucket=str(config["bucket"]),
        region=config.get("region"),
        endpoint_url=endpoint,
        access_key_id=credentials.get("access_key_id"),
        secret_access_key=credentials.get("secret_access_key"),
        session_token=credentials.get("session_token"),
        path_style=bool(config.get("path_style", bool(endpoint))),
    )
    refusals: list[UnsafeURL] = []
    pin = _s3_pin(settings, resolver, refusals)
    key = join_key(str(config.get("prefix") or ""), file.name)
    try:
        upload_file(
            s3_client(target, timeout=settings.delivery_timeout, pin=pin),
            target.bucket,
            key,
            file.path,
            content_type=file.content_type,
            metadata={"sha256": file.sha256, "render": file.render_id},
        )
    except S3Error as exc:
        if refusals:
            raise _refused("s3", refusals[-1]) from None
        raise DeliveryFailed(str(exc)) from None
    return f"s3://{target.bucket}/{key}"


# ------------------------------------------------------------------ HTTP


def _file_pieces(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        while piece := f.read(CHUNK):
            yield piece


def _multipart(boundary: str, file: OutgoingFile) -> tuple[bytes, bytes]:
    """The multipart/form-data head and tail around the file's bytes (one part, ``file``)."""
    quoted = file.name.replace("\\", "\\\\").replace('"', '\\"')
    head = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{quoted}"\r\n'
        f"Content-Type: {file.content_type}\r\n\r\n"
    ).encode()
    return head, f"\r\n--{boundary}--\r\n".encode()


async def _to_http(
    config: dict[str, Any],
    credentials: dict[str, Any],
    file: OutgoingFile,
    settings: Settings,
    resolver: Resolver,
) -> str:
    policy = url_policy(settings)
    method = str(config.get("method") or "PUT").upper()
    raw_url = str(config["url"])
    if "{name}" in raw_url:
        url = raw_url.replace("{name}", file.name)
    elif method == "PUT":  # a PUT names the resource it makes: the file under the URL's path
        try:
            parsed = httpx.URL(raw_url)
            # The name goes into the path; a query (a pre-signed URL's signature) stays the query.
            url = str(parsed.copy_with(path=parsed.path.rstrip("/") + "/" + file.name))
        except (httpx.InvalidURL, ValueError, TypeError):
            url = raw_url  # refused just below, saying why
    else:
        url = raw_url
    try:
        check_url(url, policy)
    except UnsafeURL as exc:
        raise DeliveryFailed(f"URL not allowed: {exc}", retry=False) from None
    if method == "POST":
        boundary = "reelforge-" + secrets.token_hex(12)
        head, tail = _multipart(boundary, file)
        content_type = f"multipart/form-data; boundary={boundary}"
        length = len(head) + file.size + len(tail)
    else:
        head = tail = b""
        content_type = file.content_type
        length = file.size

    def pieces() -> Iterator[bytes]:
        yield head
        yield from _file_pieces(file.path)
        yield tail

    timestamp = int(time.time())
    signature = sign_stream(str(credentials["secret"]), file.delivery_id, timestamp, pieces())

    async def body() -> AsyncIterator[bytes]:
        for piece in pieces():
            yield piece

    headers = {
        "Content-Type": content_type,
        "Content-Length": str(length),
        "webhook-id": file.delivery_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
        "Content-Digest": "sha-256=:" + base64.b64encode(bytes.fromhex(file.sha256)).decode() + ":",
        "Reelforge-File-Name": file.name,
        "Reelforge-Render-Id": file.render_id,
    }
    transport = SafeAsyncTransport(policy.addresses, resolver=resolver)
    async with httpx.AsyncClient(
        transport=transport,
        follow_redirects=False,
        trust_env=False,
        timeout=httpx.Timeout(settings.delivery_timeout),
        headers={"User-Agent": USER_AGENT},
    ) as client:
        try:
            response = await client.request(method, url, content=body(), headers=headers)
        except UnsafeURL as exc:  # raised by the transport's backend, not wrapped by httpx
            raise _refused("http", exc) from None
        except httpx.HTTPError as exc:
            cause = unsafe_cause(exc)
            if cause is not None:
                raise _refused("http", cause) from None
            raise DeliveryFailed(f"the request failed: {exc.__class__.__name__}") from None
    if not 200 <= response.status_code < 300:
        raise DeliveryFailed(f"the receiver answered HTTP {response.status_code}")
    # The receiver's word for where the file is, when it gives one that fits the delivery record.
    location = response.headers.get("location")
    return location if location and len(location) <= LOCATION_LENGTH else url


# ------------------------------------------------------------------ SFTP


def parse_host_key(text: str) -> tuple[str, bytes]:
    """``(type, key blob)`` of a known-hosts style line (``[host] ssh-ed25519 AAAA… [comment]``)."""
    fields = text.strip().split()
    for i, field in enumerate(fields[:-1]):
        if field.startswith(("ssh-", "ecdsa-", "sk-")):
            try:
                return field, base64.b64decode(fields[i + 1], validate=True)
            except ValueError:
                break
    raise ValueError(
        "not an SSH public host key; give a line such as `ssh-ed25519 AAAA…` (ssh-keyscan prints it)"
    )


def _private_key(text: str) -> Any:
    import paramiko

    for kind in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return kind.from_private_key(io.StringIO(text))
        except (paramiko.SSHException, ValueError):
            continue
    raise DeliveryFailed("the private key cannot be read (Ed25519, ECDSA or RSA, unencrypted)", retry=False)


def _to_sftp(
    config: dict[str, Any],
    credentials: dict[str, Any],
    file: OutgoingFile,
    settings: Settings,
    resolver: Resolver,
) -> str:
    import paramiko

    host, port = str(config["host"]), int(config.get("port") or 22)
    try:
        address = resolve_safe(host, port, url_policy(settings).addresses, resolver)[0]
    except UnsafeURL as exc:
        raise _refused("sftp", exc) from None
    try:
        key_type, key_blob = parse_host_key(str(config["host_key"]))
    except ValueError as exc:
        raise DeliveryFailed(str(exc), retry=False) from None
    directory = str(config.get("path") or ".").rstrip("/") or "/"
    remote = f"{directory}/{file.name}"
    try:
        sock = socket.create_connection((address, port), timeout=settings.delivery_timeout)
    except OSError as exc:
        raise DeliveryFailed(f"cannot connect to {host}:{port}: {exc.__class__.__name__}") from None
    transport = paramiko.Transport(sock)
    try:
        transport.start_client(timeout=settings.delivery_timeout)
        found = transport.get_remote_server_key()
        if found.get_name() != key_type or found.asbytes() != key_blob:
            # Never sends credentials to a server that is not the one registered.
            raise DeliveryFailed(
                f"the server's host key ({found.get_name()} SHA256:"
                f"{base64.b64encode(hashlib.sha256(found.asbytes()).digest()).decode().rstrip('=')}) "
                "is not the one stored for this destination",
                retry=False,
            )
        username = str(config.get("username") or "")
        if credentials.get("private_key"):
            transport.auth_publickey(username, _private_key(str(credentials["private_key"])))
        else:
            transport.auth_password(username, str(credentials.get("password") or ""))
        sftp = paramiko.SFTPClient.from_transport(transport)
        if sftp is None:
            raise DeliveryFailed("the server offers no SFTP subsystem", retry=False)
        with sftp:
            _makedirs(sftp, directory)
            part = f"{directory}/.{file.name}.{secrets.token_hex(4)}.part"
            sftp.put(str(file.path), part, confirm=True)
            try:
                sftp.posix_rename(part, remote)
            except OSError:
                sftp.remove(part)
                raise
    except paramiko.AuthenticationException:
        raise DeliveryFailed("the server refused the credentials", retry=False) from None
    except (paramiko.SSHException, OSError, EOFError) as exc:
        raise DeliveryFailed(f"SFTP failed: {exc.__class__.__name__}") from None
    finally:
        transport.close()
    return f"sftp://{host}:{port}{remote if remote.startswith('/') else '/' + remote}"


def _makedirs(sftp: Any, directory: str) -> None:
    if directory in ("", ".", "/"):
        return
    path = ""
    for part in PurePosixPath(directory).parts:
        path = part if not path else ("/" + part if path == "/" else f"{path}/{part}")
        try:
            sftp.stat(path)
        except OSError:
            sftp.mkdir(path)
