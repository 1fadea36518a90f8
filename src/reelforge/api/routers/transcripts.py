"""Transcripts of an asset's speech: create (a background job), read, correct, approve, export.

What a transcript is, the job and its events are :mod:`reelforge.services.transcripts`; this
module parses, calls it and answers.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Response
from pydantic import Field, model_validator
from starlette.concurrency import run_in_threadpool

from reelforge.edit.models import CueBreaking
from reelforge.services import transcripts
from reelforge.services.inputs import InputModel

from .. import examples_transcripts as ex
from ..auth import Principal, require
from ..deps import ServicesDep
from ..problems import ApiError
from ..responses import json_bytes, json_ready, json_response

__all__ = ["router"]

router = APIRouter(tags=["transcripts"])

Language = Annotated[str, Field(pattern=r"^[a-z]{2,3}$", description='e.g. "en"; detected when not given')]
MEDIA_TYPES = {
    "srt": "application/x-subrip",
    "vtt": "text/vtt",
    "ass": "text/x-ssa",
    "json": "application/json",
}


class TranscriptCreate(InputModel):
    language: Language | None = None


class WordIn(InputModel):
    text: str = Field(min_length=1, max_length=100)
    start: float = Field(ge=0, le=1e6)
    end: float = Field(ge=0, le=1e6)
    confidence: float | None = Field(None, ge=0, le=1)


class TranscriptPatch(InputModel):
    """Either the words with their times, or the text (changed words are re-timed)."""

    words: list[WordIn] | None = Field(None, max_length=transcripts.MAX_WORDS)
    text: str | None = Field(None, max_length=transcripts.MAX_TEXT_CHARS)
    revision: int | None = Field(None, ge=0)
    """The revision corrected; 409 when it is no longer the current one."""

    @model_validator(mode="after")
    def _one(self) -> TranscriptPatch:
        if (self.words is None) == (self.text is None):
            raise ValueError("give either `words` or `text`")
        return self


def _location(services: Any, body: dict[str, Any]) -> str:
    base = services.settings.public_url.rstrip("/")
    return f"{base}/v1/assets/{body['asset_id']}/transcripts/{body['id']}"


@router.post(
    "/v1/assets/{asset_id}/transcripts",
    status_code=202,
    summary="Transcribe an asset's speech (in the background)",
    responses=ex.CREATE_RESPONSES,
)
async def create_transcript(
    asset_id: str,
    services: ServicesDep,
    body: Annotated[TranscriptCreate | None, Body(openapi_examples=ex.CREATE_BODY)] = None,
    principal: Principal = Depends(require("assets:write")),
) -> Response:
    """Words with times and confidence, from the server's speech model (`REELFORGE_ASR_MODEL`).
    Follow it with its URL or the events `transcript.progress`, `transcript.succeeded` and
    `transcript.failed`. The same speech with the same model is recognised once (cached by
    content hash)."""
    shown = await run_in_threadpool(
        transcripts.create_transcript,
        services,
        principal.workspace_id,
        asset_id,
        language=body.language if body else None,
    )
    return json_response(
        json_bytes(json_ready(shown)), status=202, headers={"Location": _location(services, shown)}
    )


@router.get(
    "/v1/assets/{asset_id}/transcripts",
    summary="An asset's transcripts",
    responses=ex.LIST_RESPONSES,
)
async def list_transcripts(
    asset_id: str, services: ServicesDep, principal: Principal = Depends(require("assets:read"))
) -> Response:
    found = await run_in_threadpool(transcripts.list_transcripts, services, principal.workspace_id, asset_id)
    return json_response(json_bytes(json_ready({"object": "list", "data": found})))


@router.get(
    "/v1/assets/{asset_id}/transcripts/{transcript_id}",
    summary="A transcript: its state, words, language and model",
    responses=ex.GET_RESPONSES,
)
async def get_transcript(
    asset_id: str,
    transcript_id: str,
    services: ServicesDep,
    principal: Principal = Depends(require("assets:read")),
) -> Response:
    shown = await run_in_threadpool(
        transcripts.read_transcript, services, principal.workspace_id, asset_id, transcript_id
    )
    return json_response(json_bytes(json_ready(shown)))


@router.patch(
    "/v1/assets/{asset_id}/transcripts/{transcript_id}",
    summary="Correct a transcript's words or text",
    responses=ex.PATCH_RESPONSES,
)
async def patch_transcript(
    asset_id: str,
    transcript_id: str,
    body: Annotated[TranscriptPatch, Body(openapi_examples=ex.PATCH_BODY)],
    services: ServicesDep,
    principal: Principal = Depends(require("assets:write")),
) -> Response:
    """`words` replaces the words as given (in order, one word each, within the media); `text`
    replaces the text: unchanged words keep their times, changed ones take the times of the
    words they replace, snapped to the sound. A correction withdraws an approval."""
    words = [w.model_dump() for w in body.words] if body.words is not None else None
    shown = await run_in_threadpool(
        lambda: transcripts.correct_transcript(
            services,
            principal.workspace_id,
            asset_id,
            transcript_id,
            words=words,
            text=body.text,
            revision=body.revision,
        )
    )
    return json_response(json_bytes(json_ready(shown)))


@router.post(
    "/v1/assets/{asset_id}/transcripts/{transcript_id}/approve",
    summary="Approve a transcript (renders that require approval use it)",
    responses=ex.APPROVE_RESPONSES,
)
async def approve_transcript(
    asset_id: str,
    transcript_id: str,
    services: ServicesDep,
    principal: Principal = Depends(require("assets:approve")),
) -> Response:
    shown = await run_in_threadpool(
        transcripts.approve_transcript, services, principal.workspace_id, asset_id, transcript_id
    )
    return json_response(json_bytes(json_ready(shown)))


@router.get(
    "/v1/assets/{asset_id}/transcripts/{transcript_id}/export",
    summary="A transcript as SRT, WebVTT, ASS or JSON",
    response_class=Response,
    responses=ex.EXPORT_RESPONSES,
)
async def export_transcript(
    asset_id: str,
    transcript_id: str,
    services: ServicesDep,
    format: Annotated[Literal["srt", "vtt", "ass", "json"], Query(description="The file format")] = "srt",
    max_chars: Annotated[int, Query(ge=4, le=200, description="Characters per line")] = 18,
    max_lines: Annotated[int, Query(ge=1, le=10, description="Lines per cue")] = 2,
    max_duration: Annotated[float, Query(gt=0, le=60, description="Longest cue, seconds")] = 3.0,
    pause: Annotated[float, Query(gt=0, le=60, description="A silence this long starts a cue")] = 0.6,
    principal: Principal = Depends(require("assets:read")),
) -> Response:
    """Cues broken for 9:16 by default (short lines, at most two); the query changes it."""
    try:
        breaking = CueBreaking(
            max_chars=max_chars, max_lines=max_lines, max_duration=max_duration, pause=pause
        )
    except ValueError as exc:  # the query's bounds are the model's: a mismatch is a bug
        raise ApiError("validation-error", str(exc)) from None
    text = await run_in_threadpool(
        transcripts.export, services, principal.workspace_id, asset_id, transcript_id, format, breaking
    )
    name = f"{transcript_id}.{format}"
    return Response(
        text.encode("utf-8"),
        media_type=f"{MEDIA_TYPES[format]}; charset=utf-8" if format != "json" else MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
