"""Whether anything configures the installation, told without loading the settings.

:class:`reelforge.settings.Settings` reads ``REELFORGE_*`` environment variables and a ``.env``
file in the working directory. When neither exists every setting has its class default, so a
command that needs only a few defaults (the limits an edit is checked against, when to render
in segments) can use them without importing pydantic-settings (and the asyncio and SSL modules
it brings) or building the settings model. With any of them present the settings are read and
validated as always: one code path, and a bad value is still refused.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reelforge.settings import Settings

__all__ = ["ENV_FILE", "ENV_PREFIX", "NOT_SETTINGS", "configured_settings", "is_configured"]

ENV_PREFIX = "REELFORGE_"
"""The settings' environment prefix (matched without regard to case, as the settings do)."""
ENV_FILE = ".env"
"""The settings' dotenv file, relative to the working directory."""
NOT_SETTINGS = frozenset(
    {
        "REELFORGE_FFMPEG",
        "REELFORGE_SERVER",
        "REELFORGE_API_KEY",
        "REELFORGE_TOKEN",
        "REELFORGE_PROFILE",
        "REELFORGE_VALIDATE_SERVER",
    }
)
"""Variables with the prefix that no setting reads (the FFmpeg binary, the client, the CLI's
options): they configure nothing here. A test holds that none names a setting."""


def is_configured() -> bool:
    """True when a ``REELFORGE_*`` variable (any case; not one of :data:`NOT_SETTINGS`) or a
    ``.env`` file could set a setting."""
    prefix = ENV_PREFIX.lower()
    ignored = {name.lower() for name in NOT_SETTINGS}
    if any(name.lower().startswith(prefix) and name.lower() not in ignored for name in os.environ):
        return True
    return Path(ENV_FILE).exists()


def configured_settings() -> Settings | None:
    """The settings when something configures them; ``None`` when every one is its default."""
    if not is_configured():
        return None
    from reelforge.settings import Settings

    return Settings()
