"""An S3-compatible object store client (AWS S3, MinIO, Ceph, R2, ...): one place that knows
how to connect (endpoint URL, region, credentials, path-style addressing) and how to upload a
file (multipart above a threshold, parts sent in parallel), for output delivery and for storage
backends that keep objects in a bucket.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import botocore.awsrequest
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from urllib3.exceptions import NewConnectionError
from urllib3.util import connection as urllib3_connection

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = [
    "MULTIPART_CHUNK",
    "MULTIPART_THRESHOLD",
    "AddressPinner",
    "S3Error",
    "S3Target",
    "join_key",
    "s3_client",
    "upload_file",
]

MULTIPART_THRESHOLD = 64 * 1024**2
"""Files at least this large go up in parts (S3 allows 5 GiB in one PUT, but a part that
fails is retried alone)."""
MULTIPART_CHUNK = 16 * 1024**2
"""Size of each part (S3's minimum is 5 MiB, its maximum part count 10,000: 156 GiB here)."""


AddressPinner = Callable[[str, int], Sequence[str]]
"""``(host, port) -> addresses`` to connect to, resolved and checked at connection time; raises
:class:`OSError` to refuse the host."""


class S3Error(Exception):
    """An S3 request failed; the message is safe to show (no credentials)."""


@dataclass(frozen=True)
class S3Target:
    bucket: str
    region: str | None = None
    endpoint_url: str | None = None
    """None: AWS; else the store's URL (``https://minio.example.com:9000``)."""
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None
    path_style: bool = False
    """Address buckets as ``endpoint/bucket/key`` (MinIO and most self-hosted stores)."""


def s3_client(
    target: S3Target, *, timeout: float = 60.0, retries: int = 3, pin: AddressPinner | None = None
) -> S3Client:
    """A client for ``target``; credentials from the target only, never from the environment or
    a shared profile (a destination must not silently use the server's own cloud identity).

    With ``pin``, every connection the client opens goes to an address ``pin`` gives for the host
    at that moment (never to one botocore resolves itself), so a name cannot be checked once and
    rebound to an internal address before the upload (DNS rebinding). TLS SNI, the certificate
    check and the signed ``Host`` stay those of the endpoint's name. botocore never follows
    redirects itself."""
    session = boto3.session.Session(
        aws_access_key_id=target.access_key_id or "",
        aws_secret_access_key=target.secret_access_key or "",
        aws_session_token=target.session_token,
        region_name=target.region or "us-east-1",
    )
    config = Config(
        connect_timeout=min(timeout, 10.0),
        read_timeout=timeout,
        retries={"max_attempts": retries, "mode": "standard"},
        s3={"addressing_style": "path" if target.path_style else "auto"},
        signature_version="s3v4",
    )
    client: S3Client = session.client("s3", endpoint_url=target.endpoint_url, config=config)
    if pin is not None:
        # The session's pool classes (shared by its proxy managers too): every pool, so every
        # connection, of this client uses the pinned connection classes.
        pools = client._endpoint.http_session._pool_classes_by_scheme  # type: ignore[attr-defined]
        pools.update(_pinned_pools(pin))
    return client


def _pinned_pools(pin: AddressPinner) -> dict[str, type[Any]]:
    def new_conn(self: Any) -> socket.socket:
        try:
            addresses = list(pin(self._dns_host, self.port))
        except OSError as exc:
            raise NewConnectionError(self, f"address refused: {exc.__class__.__name__}") from None
        last: OSError | None = None
        for address in addresses:
            try:
                return urllib3_connection.create_connection(
                    (address, self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except OSError as exc:
                last = exc
        raise NewConnectionError(self, f"cannot connect: {last.__class__.__name__}")

    http_conn = type(
        "PinnedHTTPConnection", (botocore.awsrequest.AWSHTTPConnection,), {"_new_conn": new_conn}
    )
    https_conn = type(
        "PinnedHTTPSConnection", (botocore.awsrequest.AWSHTTPSConnection,), {"_new_conn": new_conn}
    )
    return {
        "http": type(
            "PinnedHTTPConnectionPool",
            (botocore.awsrequest.AWSHTTPConnectionPool,),
            {"ConnectionCls": http_conn},
        ),
        "https": type(
            "PinnedHTTPSConnectionPool",
            (botocore.awsrequest.AWSHTTPSConnectionPool,),
            {"ConnectionCls": https_conn},
        ),
    }


def join_key(prefix: str, name: str) -> str:
    """``prefix`` and ``name`` as one object key (one slash between them, none leading)."""
    prefix = prefix.strip("/")
    return f"{prefix}/{name}" if prefix else name


def upload_file(
    client: S3Client,
    bucket: str,
    key: str,
    path: Path,
    *,
    content_type: str | None = None,
    metadata: dict[str, str] | None = None,
    threshold: int = MULTIPART_THRESHOLD,
    chunk: int = MULTIPART_CHUNK,
) -> dict[str, Any]:
    """Upload ``path`` to ``bucket``/``key`` (multipart from ``threshold`` bytes; an interrupted
    multipart upload is aborted by boto3's transfer manager); the object's HEAD afterwards."""
    extra: dict[str, Any] = {}
    if content_type:
        extra["ContentType"] = content_type
    if metadata:
        extra["Metadata"] = metadata
    config = TransferConfig(multipart_threshold=threshold, multipart_chunksize=chunk, max_concurrency=4)
    try:
        client.upload_file(str(path), bucket, key, ExtraArgs=extra or None, Config=config)
        head = client.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise S3Error(
            f"S3 refused the upload: {error.get('Code', 'error')} {error.get('Message', '')}".strip()
        ) from None
    except BotoCoreError as exc:
        raise S3Error(f"S3 upload failed: {exc.__class__.__name__}") from None
    return dict(head)
