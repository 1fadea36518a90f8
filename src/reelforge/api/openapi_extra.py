"""Additions to the generated OpenAPI document made by a feature for every operation it affects."""

from __future__ import annotations

import importlib
from typing import Any

from fastapi import FastAPI

__all__ = ["extend_openapi"]


def extend_openapi(app: FastAPI, examples_module: str) -> None:
    """Pass the schema, once built, through ``document(schema)`` of ``examples_module`` (which
    changes it in place). The module is imported then, not now: examples modules read the
    routers' models, and the app is assembled from those routers."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            importlib.import_module(examples_module).document(build())
        return app.openapi_schema or build()

    app.openapi = openapi  # type: ignore[method-assign]
