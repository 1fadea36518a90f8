"""Destinations of a workspace: create (config checked per kind, credentials sealed), list,
read, change, delete. What a destination is and where files land is the delivery worker's
(:mod:`reelforge.delivery`); the secret part is never shown again after it is sent.

Changes are made in the caller's transaction and the caller commits (an idempotent request's
answer is stored with its effect); audit entries go with them.
"""

from __future__ import annotations

from typing import Any, Literal, cast

from pydantic import BaseModel, Field, ValidationError, field_validator
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from reelforge.db.audit import record_audit
from reelforge.db.delivery import Destination, RenderDestination
from reelforge.db.models import new_id, utcnow
from reelforge.delivery.crypto import CredentialBox
from reelforge.delivery.naming import check_template
from reelforge.delivery.targets import folder_path, parse_host_key
from reelforge.webhooks.delivery import url_policy
from reelforge.webhooks.signing import generate_secret
from reelforge.webhooks.ssrf import UnsafeURL, check_url

from .audit import Actor
from .context import Services
from .errors import Invalid, NotFound
from .inputs import InputModel

__all__ = [
    "BASE",
    "attach_to_render",
    "create_destination",
    "credential_box",
    "delete_destination",
    "destination",
    "destinations_query",
    "rotate_keys",
    "update_destination",
]

BASE = "/v1/destinations"


class _Common(InputModel):
    name_template: str | None = Field(None, min_length=1, max_length=300)
    """How delivered files are named (see the naming fields); default ``{render}-{name}``."""

    @field_validator("name_template")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        if value is not None and (why := check_template(value)):
            raise ValueError(why)
        return value


class FolderConfig(_Common):
    path: str = Field("", max_length=1000)
    """A directory under the server's delivery root (``REELFORGE_DELIVERY_FOLDER_ROOT``)."""


class S3Config(_Common):
    bucket: str = Field(min_length=3, max_length=63, pattern=r"^[a-z0-9][a-z0-9.\-]+[a-z0-9]$")
    prefix: str = Field("", max_length=900)
    region: str | None = Field(None, max_length=40, pattern=r"^[a-z0-9-]+$")
    endpoint_url: str | None = Field(None, max_length=2048)
    """An S3-compatible store's URL (MinIO, R2, ...); unset: AWS."""
    path_style: bool | None = None
    """Address the bucket in the path (default: when an endpoint URL is given)."""


class S3Credentials(InputModel):
    access_key_id: str = Field(min_length=1, max_length=200)
    secret_access_key: str = Field(min_length=1, max_length=200)
    session_token: str | None = Field(None, max_length=4096)


class HttpConfig(_Common):
    url: str = Field(min_length=1, max_length=2048)
    """Where files are sent; ``{name}`` in it is replaced by the file name (else a PUT goes to
    ``url/<name>`` and a POST to ``url``)."""
    method: Literal["PUT", "POST"] = "PUT"
    """PUT: the file is the body. POST: multipart/form-data with the file in part ``file``."""


class HttpCredentials(InputModel):
    secret: str | None = Field(None, pattern=r"^whsec_[A-Za-z0-9+/=]{32,88}$")
    """The signing secret (``whsec_…``); default: one is made and shown once."""


class SftpConfig(_Common):
    host: str = Field(min_length=1, max_length=253)
    port: int = Field(22, ge=1, le=65535)
    username: str = Field(min_length=1, max_length=200)
    path: str = Field(".", max_length=1000)
    """The remote directory (made if missing)."""
    host_key: str = Field(min_length=1, max_length=16384)
    """The server's public host key as ``ssh-keyscan`` prints it (``ssh-ed25519 AAAA…``): the
    server is verified against it before any credential is sent."""

    @field_validator("host_key")
    @classmethod
    def _host_key(cls, value: str) -> str:
        parse_host_key(value)
        return value


class SftpCredentials(InputModel):
    password: str | None = Field(None, max_length=1000)
    private_key: str | None = Field(None, max_length=16384)
    """An unencrypted Ed25519, ECDSA or RSA private key (PEM or OpenSSH format)."""


CONFIGS: dict[str, type[BaseModel]] = {
    "folder": FolderConfig,
    "s3": S3Config,
    "http": HttpConfig,
    "sftp": SftpConfig,
}
CREDENTIALS: dict[str, type[BaseModel] | None] = {
    "folder": None,
    "s3": S3Credentials,
    "http": HttpCredentials,
    "sftp": SftpCredentials,
}


def credential_box(services: Services) -> CredentialBox:
    """This process's credential box (the keys from the settings), made once."""
    box = services.extras.get("destination_credential_box")
    if box is None:
        box = services.extras["destination_credential_box"] = CredentialBox(
            services.settings.delivery_credential_keys, services.secrets.pepper
        )
    return cast(CredentialBox, box)


def _problems(exc: ValidationError, at: str) -> Invalid:
    errors = []
    for error in exc.errors():
        pointer = at + "".join(f"/{p}" for p in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        errors.append({"pointer": "#" + pointer, "code": str(error["type"]), "detail": message})
    return Invalid(f"{errors[0]['pointer']}: {errors[0]['detail']}", errors=errors)


def _refuse(pointer: str, detail: str, code: str = "invalid") -> Invalid:
    return Invalid(detail, errors=[{"pointer": pointer, "code": code, "detail": detail}])


def _checked_config(
    services: Services, workspace_id: str, kind: str, config: dict[str, Any]
) -> dict[str, Any]:
    try:
        model = CONFIGS[kind].model_validate(config)
    except ValidationError as exc:
        raise _problems(exc, "/config") from None
    checked = model.model_dump(exclude_none=True)
    settings = services.settings
    if kind == "folder":
        try:
            folder_path(settings.delivery_folder_root, workspace_id, checked.get("path", ""))
        except ValueError as exc:
            raise _refuse("#/config/path", str(exc)) from None
    for member in ("url", "endpoint_url"):
        if checked.get(member):
            try:
                checked[member] = str(check_url(checked[member], url_policy(settings))).replace(
                    "%7Bname%7D", "{name}"
                )
            except UnsafeURL as exc:
                raise Invalid(
                    str(exc),
                    code="url-not-allowed",
                    errors=[{"pointer": f"#/config/{member}", "code": exc.reason, "detail": str(exc)}],
                ) from None
    return checked


def _checked_credentials(
    kind: str, credentials: dict[str, Any] | None
) -> tuple[dict[str, Any] | None, str | None]:
    """The credentials to store, and a signing secret made for the caller (shown once)."""
    model = CREDENTIALS[kind]
    if model is None:
        if credentials:
            raise _refuse("#/credentials", f"a {kind} destination takes no credentials")
        return None, None
    try:
        checked = model.model_validate(credentials or {}).model_dump(exclude_none=True)
    except ValidationError as exc:
        raise _problems(exc, "/credentials") from None
    made = None
    if kind == "http" and not checked.get("secret"):
        made = checked["secret"] = generate_secret()
    if kind == "sftp" and not (checked.get("password") or checked.get("private_key")):
        raise _refuse("#/credentials", "give a password or a private_key")
    return checked, made


def _audit(
    db: Session, workspace_id: str, actor: Actor, action: str, row_id: str, details: dict[str, Any]
) -> None:
    record_audit(
        db,
        workspace_id=workspace_id,
        action=action,
        resource_type="destination",
        resource_id=row_id,
        details=details,
        **actor,
    )


def destination(db: Session, workspace_id: str, destination_id: str) -> Destination:
    found = db.scalar(
        select(Destination).where(Destination.id == destination_id, Destination.workspace_id == workspace_id)
    )
    if found is None:
        raise NotFound(f"no destination {destination_id}")
    return cast(Destination, found)


def destinations_query(workspace_id: str, kind: str | None = None) -> Select[Any]:
    query = select(Destination).where(Destination.workspace_id == workspace_id)
    return query.where(Destination.kind == kind) if kind else query


def create_destination(
    db: Session,
    services: Services,
    workspace_id: str,
    *,
    name: str,
    kind: str,
    config: dict[str, Any],
    credentials: dict[str, Any] | None,
    auto: bool,
    enabled: bool,
    actor: Actor,
) -> tuple[Destination, str | None]:
    """A new destination, and the signing secret made for an HTTP one (None otherwise)."""
    checked = _checked_config(services, workspace_id, kind, config)
    secret_part, made = _checked_credentials(kind, credentials)
    now = utcnow()
    row = Destination(
        id=new_id("dst"),
        workspace_id=workspace_id,
        name=name,
        kind=kind,
        config=checked,
        credentials=credential_box(services).seal(secret_part) if secret_part is not None else None,
        auto=auto,
        enabled=enabled,
        created_at=now,
        updated_at=now,
    )
    db.add(row)
    _audit(
        db,
        workspace_id,
        actor,
        "destination.created",
        row.id,
        {"kind": kind, "name": name, "config": checked},
    )
    return row, made


def update_destination(
    db: Session,
    services: Services,
    workspace_id: str,
    destination_id: str,
    *,
    name: str | None,
    config: dict[str, Any] | None,
    credentials: dict[str, Any] | None,
    auto: bool | None,
    enabled: bool | None,
    actor: Actor,
) -> Destination:
    """Members left out keep their value; ``config`` and ``credentials`` are replaced whole."""
    row = destination(db, workspace_id, destination_id)
    changed: dict[str, Any] = {}
    if name is not None:
        row.name = changed["name"] = name
    if config is not None:
        row.config = changed["config"] = _checked_config(services, workspace_id, row.kind, config)
    if credentials is not None:
        secret_part, _ = _checked_credentials(row.kind, credentials)
        row.credentials = credential_box(services).seal(secret_part) if secret_part is not None else None
        changed["credentials"] = "replaced"
    if auto is not None:
        row.auto = changed["auto"] = auto
    if enabled is not None:
        row.enabled = changed["enabled"] = enabled
    row.updated_at = utcnow()
    _audit(db, workspace_id, actor, "destination.updated", row.id, changed)
    return row


def delete_destination(db: Session, workspace_id: str, destination_id: str, actor: Actor) -> None:
    """The destination and its deliveries' log go; files already delivered stay where they are."""
    row = destination(db, workspace_id, destination_id)
    _audit(db, workspace_id, actor, "destination.deleted", row.id, {"kind": row.kind, "name": row.name})
    db.delete(row)


def attach_to_render(db: Session, workspace_id: str, render_id: str, destination_ids: list[str]) -> None:
    """Name ``destination_ids`` (the workspace's; 422 with a pointer otherwise) on a render."""
    for i, destination_id in enumerate(dict.fromkeys(destination_ids)):
        found = db.scalar(
            select(Destination.id).where(
                Destination.id == destination_id, Destination.workspace_id == workspace_id
            )
        )
        if found is None:
            raise _refuse(f"#/destinations/{i}", f"no destination {destination_id}", "not_found")
        db.add(RenderDestination(render_id=render_id, destination_id=destination_id))


def rotate_keys(services: Services) -> int:
    """Re-encrypt every stored credential with the first configured key; how many."""
    box = credential_box(services)
    count = 0
    with services.sessions() as db:
        for row in db.scalars(select(Destination).where(Destination.credentials.is_not(None))):
            assert row.credentials is not None
            row.credentials = box.rotate(row.credentials)
            count += 1
        db.commit()
    return count
