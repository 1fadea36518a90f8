"""OpenAPI examples for a project as OpenTimelineIO and a project made from a timeline.

Every value in ``recorded/otio.json`` was recorded from a running service (a real upload, a
project laid out and exported, the timeline imported again): ``scripts/record_examples.py``
records them again. The arrangement per operation follows :mod:`reelforge.api.examples`.
"""

from __future__ import annotations

from typing import Any

from . import examples as ex
from . import recorded, schemas

# Recorded from a running service (`scripts/record_examples.py`): see recorded/otio.json.
_RECORDED = recorded.load("otio")
OTIO_ASSET_ID: str = _RECORDED["OTIO_ASSET_ID"]
PROJECT_OTIO: dict[str, Any] = _RECORDED["PROJECT_OTIO"]
PROJECT_FROM_OTIO_BODY: dict[str, Any] = _RECORDED["PROJECT_FROM_OTIO_BODY"]
PROJECT_FROM_OTIO: dict[str, Any] = _RECORDED["PROJECT_FROM_OTIO"]
ERROR_NOT_OTIO: dict[str, Any] = _RECORDED["ERROR_NOT_OTIO"]

PROJECT_OTIO_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The current revision as a timeline, with the notes on what other editors will not see.",
            {"a project as OpenTimelineIO": PROJECT_OTIO},
            model=schemas.OtioTimelineOut,
        )
    },
    *ex.AUTH,
    ex.scope("projects:read"),
    ("no such project in this workspace", ex.ERROR_PROJECT_NOT_FOUND),
)
PROJECT_FROM_OTIO_REQUEST = ex.body({"a timeline exported from an editor": PROJECT_FROM_OTIO_BODY})
PROJECT_FROM_OTIO_RESPONSES = ex.responses(
    {
        201: ex.success(
            "The project at revision 1, with the notes on what was not carried over.",
            {"a timeline exported from an editor": PROJECT_FROM_OTIO},
            model=schemas.ProjectFromOtioOut,
        )
    },
    *ex.AUTH,
    ex.scope("projects:write"),
    ("not an OpenTimelineIO timeline", ERROR_NOT_OTIO),
    ("an edit with problems: each has a pointer into the body", ex.ERROR_EDIT_INVALID),
)
