"""The web console at ``/console``: pages for the people who make the videos, on the same
services (and the same credentials, scopes and workspaces) as the API. See docs/console.md."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from .pages import router
from .sessions import LoginNonces

__all__ = ["install_console"]

STATIC = Path(__file__).parent / "static"


def install_console(app: FastAPI) -> None:
    """Serve the console's pages and its static files (htmx and the console's own script and
    styles, shipped in the package: nothing is loaded from another site)."""
    app.state.console_nonces = LoginNonces(app.state.services.secrets.pepper)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
    app.include_router(router)
