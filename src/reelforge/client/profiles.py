"""Saved connections (``reelforge login``): a server URL and an API key under a profile name,
in ``$XDG_CONFIG_HOME/reelforge/profiles.json`` (``~/.config/...``), readable by its owner only.

The SDK and the CLI find the server and key in this order: what the caller passes, then
``REELFORGE_SERVER`` and ``REELFORGE_API_KEY`` (or ``REELFORGE_TOKEN``), then the profile named
by ``REELFORGE_PROFILE`` (default ``default``)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TypedDict

__all__ = ["Profile", "delete_profile", "load_profile", "profiles_file", "save_profile"]

DEFAULT_PROFILE = "default"


class Profile(TypedDict):
    server: str
    api_key: str


def profiles_file() -> Path:
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "reelforge" / "profiles.json"


def _all() -> dict[str, Profile]:
    path = profiles_file()
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(found, dict):
        return {}
    return {
        name: Profile(server=str(p["server"]), api_key=str(p["api_key"]))
        for name, p in found.items()
        if isinstance(p, dict) and "server" in p and "api_key" in p
    }


def _write(profiles: dict[str, Profile]) -> None:
    path = profiles_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    # Created owner-only before the key is written into it.
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(profiles, out, indent=1)
    os.chmod(partial, 0o600)
    partial.replace(path)


def save_profile(server: str, api_key: str, name: str | None = None) -> Path:
    profiles = _all()
    profiles[name or DEFAULT_PROFILE] = Profile(server=server.rstrip("/"), api_key=api_key)
    _write(profiles)
    return profiles_file()


def load_profile(name: str | None = None) -> Profile | None:
    return _all().get(name or os.environ.get("REELFORGE_PROFILE") or DEFAULT_PROFILE)


def delete_profile(name: str | None = None) -> bool:
    profiles = _all()
    if profiles.pop(name or DEFAULT_PROFILE, None) is None:
        return False
    _write(profiles)
    return True
