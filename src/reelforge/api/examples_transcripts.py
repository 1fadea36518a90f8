"""OpenAPI examples for transcripts (``/v1/assets/{asset_id}/transcripts``).

Every value in ``recorded/transcripts.json`` was recorded from a running service (speech
synthesised with espeak-ng, transcribed by a real model, corrected and approved):
``scripts/record_examples.py transcripts`` records them again. The arrangement per operation
follows :mod:`reelforge.api.examples`.
"""

from __future__ import annotations

from typing import Any

from . import examples as ex
from . import recorded, schemas
from .problems import CATALOGUE, PROBLEM_BASE

_RECORDED = recorded.load("transcripts")
TRANSCRIPT_CREATE: dict[str, Any] = _RECORDED["TRANSCRIPT_CREATE"]
TRANSCRIPT_QUEUED: dict[str, Any] = _RECORDED["TRANSCRIPT_QUEUED"]
TRANSCRIPT_LOCATION: str = _RECORDED["TRANSCRIPT_LOCATION"]
TRANSCRIPT: dict[str, Any] = _RECORDED["TRANSCRIPT"]
TRANSCRIPT_LIST: dict[str, Any] = _RECORDED["TRANSCRIPT_LIST"]
TRANSCRIPT_PATCH_TEXT: dict[str, Any] = _RECORDED["TRANSCRIPT_PATCH_TEXT"]
TRANSCRIPT_CORRECTED: dict[str, Any] = _RECORDED["TRANSCRIPT_CORRECTED"]
TRANSCRIPT_APPROVED: dict[str, Any] = _RECORDED["TRANSCRIPT_APPROVED"]
TRANSCRIPT_SRT: str = _RECORDED["TRANSCRIPT_SRT"]
ERROR_TRANSCRIPT_NOT_FOUND: dict[str, Any] = _RECORDED["ERROR_TRANSCRIPT_NOT_FOUND"]
ERROR_TRANSCRIPT_NOT_AUDIO: dict[str, Any] = _RECORDED["ERROR_TRANSCRIPT_NOT_AUDIO"]
ERROR_TRANSCRIPT_WORDS: dict[str, Any] = _RECORDED["ERROR_TRANSCRIPT_WORDS"]
ERROR_TRANSCRIPT_NOT_READY: dict[str, Any] = _RECORDED["ERROR_TRANSCRIPT_NOT_READY"]

_NOT_FOUND = ("no such asset or transcript in this workspace", ERROR_TRANSCRIPT_NOT_FOUND)
_NOT_READY = ("the transcript is not finished (or failed)", ERROR_TRANSCRIPT_NOT_READY)
# The answer to a key with `assets:write` only: approving takes its own scope.
_WITHOUT_APPROVE = (
    "a credential without `assets:approve`",
    {
        "type": PROBLEM_BASE + "insufficient-scope",
        "title": CATALOGUE["insufficient-scope"][1],
        "status": 403,
        "detail": "this needs the `assets:approve` scope",
        "instance": "/v1/assets/ast_01kbz8t3d2c1b0a9z8y7x6w5v4/transcripts/trn_01kbz8t3d2c1b0a9z8y7x6w5v4/approve",
        "code": "insufficient-scope",
        "request_id": "req_01kbz8t3d2c1b0a9z8y7x6w5v4",
        "required_scope": "assets:approve",
    },
)

CREATE_BODY = ex.body({"English speech": TRANSCRIPT_CREATE})
CREATE_RESPONSES = ex.responses(
    {
        202: ex.success(
            "The transcript, queued: follow it with its URL or the `transcript.*` events.",
            {"queued": TRANSCRIPT_QUEUED},
            headers={"Location": ("The transcript's URL", TRANSCRIPT_LOCATION)},
            model=schemas.TranscriptOut,
        )
    },
    *ex.AUTH,
    ex.scope("assets:write"),
    _NOT_FOUND,
    ("an image, or media without sound", ERROR_TRANSCRIPT_NOT_AUDIO),
)
LIST_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The asset's transcripts, newest first.", {"one": TRANSCRIPT_LIST}, model=schemas.TranscriptList
        )
    },
    *ex.AUTH,
    ex.scope("assets:read"),
    _NOT_FOUND,
)
GET_RESPONSES = ex.responses(
    {200: ex.success("The transcript.", {"succeeded": TRANSCRIPT}, model=schemas.TranscriptOut)},
    *ex.AUTH,
    ex.scope("assets:read"),
    _NOT_FOUND,
)
PATCH_BODY = ex.body({"a corrected text": TRANSCRIPT_PATCH_TEXT})
PATCH_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The corrected transcript (not approved).",
            {"corrected": TRANSCRIPT_CORRECTED},
            model=schemas.TranscriptOut,
        )
    },
    *ex.AUTH,
    ex.scope("assets:write"),
    _NOT_FOUND,
    _NOT_READY,
    ("words out of order, or not one word each", ERROR_TRANSCRIPT_WORDS),
)
APPROVE_RESPONSES = ex.responses(
    {
        200: ex.success(
            "The approved transcript.", {"approved": TRANSCRIPT_APPROVED}, model=schemas.TranscriptOut
        )
    },
    *ex.AUTH,
    _WITHOUT_APPROVE,
    _NOT_FOUND,
    _NOT_READY,
)
EXPORT_RESPONSES = ex.responses(
    {
        200: {
            "description": "The cues as SRT (`application/x-subrip`), WebVTT (`text/vtt`), ASS "
            "(`text/x-ssa`), or the words as JSON (`application/json`).",
            "content": {
                "application/x-subrip": {"schema": {"type": "string"}, "example": TRANSCRIPT_SRT},
                "text/vtt": {"schema": {"type": "string"}},
                "text/x-ssa": {"schema": {"type": "string"}},
            },
        }
    },
    *ex.AUTH,
    ex.scope("assets:read"),
    _NOT_FOUND,
    _NOT_READY,
)
