"""Asset ids as render sources: the service's :class:`~reelforge.render.sources.SourceResolver`.

In the service an edit names its files by asset id (``"src": "ast_01jd…"``). The resolver maps
an id of *its* workspace to the stored file. Everything else is refused: ids of other
workspaces with the same words as unknown ones (an id must not reveal that it exists), and
plain paths or URLs, which would read the server's disk or the network.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from reelforge.db.models import Asset, AssetVersion
from reelforge.edit.references import ASSET_ID, asset_ids_in, is_asset_id, parse_version_ref
from reelforge.render.sources import SourceError

from .storage import Storage

# ASSET_ID, asset_ids_in and is_asset_id are defined by the edit language; kept importable here.
__all__ = ["ASSET_ID", "AssetResolver", "asset_ids_in", "is_asset_id"]


class AssetResolver:
    """Resolve ``ast_…`` ids of one workspace to local files (see the module docstring).

    Each id is looked up once per resolver; a render makes one resolver.
    """

    def __init__(self, sessions: sessionmaker[Session], storage: Storage, workspace_id: str):
        self.sessions = sessions
        self.storage = storage
        self.workspace_id = workspace_id
        self._resolved: dict[str, Path] = {}

    @property
    def resolved(self) -> dict[str, Path]:
        """The ids resolved so far and their files: live, so it also holds those resolved later
        (a failed render names its inputs by asset id, not by the server's path)."""
        return self._resolved

    def resolve(self, src: str) -> Path:
        if src in self._resolved:
            return self._resolved[src]
        pinned = parse_version_ref(src)
        if not is_asset_id(src) and (pinned is None or not isinstance(pinned.version, int)):
            # "@latest", "@approved" and queries are resolved by the service before a render is
            # queued: the engine reads only what was pinned.
            raise SourceError(
                src,
                "the service reads only assets: give an asset id (ast_…) from POST /v1/assets, "
                "or a pinned version (ast_…@3), not a file path or URL",
            )
        with self.sessions() as db:
            if pinned is not None:
                key = db.scalar(
                    select(AssetVersion.storage_key).where(
                        AssetVersion.asset_id == pinned.asset,
                        AssetVersion.number == pinned.version,
                        AssetVersion.workspace_id == self.workspace_id,
                    )
                )
            else:
                key = db.scalar(
                    select(Asset.storage_key).where(Asset.id == src, Asset.workspace_id == self.workspace_id)
                )
        if key is None:
            raise SourceError(src, "no such asset in this workspace")
        path = self.storage.local_path(key)
        if not path.is_file():
            raise SourceError(src, "the asset's stored file is missing")
        self._resolved[src] = path
        return path
