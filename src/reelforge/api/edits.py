"""Moved to :mod:`reelforge.services.edits`; kept for the routers that still import it from here.

``prepare_service_edit`` re-raises the service's :class:`~reelforge.services.errors.Invalid` as an
:class:`ApiError` with the same code and body, for callers that still catch ``ApiError``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from reelforge.edit.models import Edit
from reelforge.services import edits as _edits
from reelforge.services.brand_kits import BrandUse
from reelforge.services.edits import PreparedEdit, non_finite
from reelforge.services.errors import ServiceError

from .problems import ApiError

__all__ = ["PreparedEdit", "non_finite", "prepare_service_edit", "validate_service_edit"]


def _api_error(exc: ServiceError) -> ApiError:
    return ApiError(exc.code, exc.detail, errors=exc.errors, **exc.extra)


def prepare_service_edit(
    document: Any,
    db: Session,
    workspace_id: str,
    *,
    pointer_prefix: str = "/edit",
    locale: str | None = None,
    branded: BrandUse | None = None,
    filled_template: bool = False,
) -> PreparedEdit:
    try:
        return _edits.prepare_service_edit(
            document,
            db,
            workspace_id,
            pointer_prefix=pointer_prefix,
            locale=locale,
            branded=branded,
            filled_template=filled_template,
        )
    except ServiceError as exc:
        raise _api_error(exc) from None


def validate_service_edit(
    document: Any, db: Session, workspace_id: str, *, pointer_prefix: str = "/edit"
) -> Edit:
    return prepare_service_edit(document, db, workspace_id, pointer_prefix=pointer_prefix).edit
