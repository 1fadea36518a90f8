"""Projects (an edit under revision control) and their revisions."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from .common import JSONObject, Out, Page

__all__ = [
    "OtioNote",
    "OtioTimelineOut",
    "ProjectFromOtioOut",
    "ProjectList",
    "ProjectOut",
    "RevisionList",
    "RevisionOut",
]


class ProjectOut(Out):
    id: str
    object: Literal["project"]
    name: str
    revision: int
    edit: JSONObject
    """The current edit (see the edit language in docs/edit-format.md)."""
    created_at: datetime
    updated_at: datetime
    revisions_url: str


class ProjectList(Page):
    data: list[ProjectOut]


class RevisionOut(Out):
    object: Literal["project_revision"]
    project: str
    number: int
    edit: JSONObject
    message: str
    created_at: datetime


class RevisionList(Page):
    data: list[RevisionOut]


class OtioNote(Out):
    """Something of a timeline that did not map exactly: where it was, and what happened."""

    where: str
    message: str


class OtioTimelineOut(Out):
    object: Literal["otio_timeline"]
    project_id: str
    revision: int
    timeline: JSONObject
    """The OpenTimelineIO timeline (the JSON of an ``.otio`` file)."""
    notes: list[OtioNote]
    """What other editors will not see (kept in OTIO metadata for a round trip)."""


class ProjectFromOtioOut(ProjectOut):
    otio_notes: list[OtioNote]
    """What of the timeline could not be carried over into the edit."""
