"""Transcripts of assets: made in the background, read, corrected, exported and approved.

``POST /v1/assets/{id}/transcripts`` records a :class:`~reelforge.db.transcripts.Transcript`
(``queued``) and hands it to this process's runner; :func:`run_transcript` (a plain function a
worker of any kind can call with the services and the id) claims it with a lease, transcribes
the stored file (:class:`~reelforge.media.transcribe.Transcriber`, cached by content hash and
model) and records ``transcript.progress`` (at most one a second), then
``transcript.succeeded`` or ``transcript.failed``.

People correct the words (``PATCH``: new words with times, or a new text whose changed words
are re-timed from the words they replace) and approve them; a correction after an approval
withdraws it. Captions made from an asset's speech in a render use its newest approved
transcript, and with ``require_approval`` wait for one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import event, or_, select, update
from sqlalchemy.orm import Session

from reelforge.db.batches import settle_batches
from reelforge.db.events import record_event
from reelforge.db.models import Asset, Render, new_id, utcnow
from reelforge.db.transcripts import Transcript
from reelforge.edit.errors import EditError
from reelforge.edit.models import CaptionAsset, CueBreaking, Edit
from reelforge.edit.references import TRANSCRIBE_CLIP_PREFIX, asset_id_of
from reelforge.edit.validate import parse_edit
from reelforge.jobs.queue import rows_updated
from reelforge.media.transcribe import (
    AsrUnavailable,
    ExportFormat,
    Transcriber,
    TranscriptWord,
    export_transcript,
    realign_words,
    split_text,
    transcript_cues,
)
from reelforge.media.transcribe import Transcript as TranscriptData
from reelforge.representations import json_ready, record_render_event

from .assets import find_asset
from .context import Services
from .errors import Conflict, Invalid, NotFound
from .imports import ImportRunner
from .leases import LeasedJobs

__all__ = [
    "PROGRESS_INTERVAL",
    "TranscriptRunner",
    "approve_transcript",
    "approved_words",
    "correct_transcript",
    "create_transcript",
    "export",
    "hold_for_approval",
    "list_transcripts",
    "read_transcript",
    "release_approved",
    "review_cues",
    "run_transcript",
    "runner",
    "spoken_assets",
    "transcript_json",
]

log = logging.getLogger("reelforge.transcripts")

PROGRESS_INTERVAL = 1.0
"""Seconds between two ``transcript.progress`` events of one transcript."""
LEASE = 120.0
"""Seconds a transcript's claim holds unless renewed (every third of it while it runs)."""
LEASED = LeasedJobs(Transcript, ("queued", "running"), "running", LEASE, "transcript")
_RUNNER = "transcript_runner"
MAX_WORDS = 100_000
MAX_WORD_CHARS = 100
MAX_TEXT_CHARS = 1_000_000
TRANSCRIBABLE = ("video", "audio")


def transcript_json(row: Transcript, *, words: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": row.id,
        "object": "transcript",
        "asset_id": row.asset_id,
        "state": row.state,
        "progress": round(row.progress, 3),
        "model": row.model,
        "language": row.language or row.requested_language,
        "duration": row.duration,
        "revision": row.revision,
        "approved": row.approved_at is not None,
        "approved_at": row.approved_at,
        "error": row.error,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }
    if words:
        body["text"] = " ".join(w["text"] for w in row.words)
        body["words"] = row.words
    return body


def _event(db: Session, row: Transcript, type: str) -> None:
    # Progress events carry no words: they come often and the words are not there yet.
    data = transcript_json(row, words=not type.endswith(".progress"))
    record_event(
        db,
        workspace_id=row.workspace_id,
        type=type,
        resource_type="transcript",
        resource_id=row.id,
        data=json_ready(data),
    )


def _find(db: Session, workspace_id: str, transcript_id: str, asset_id: str | None = None) -> Transcript:
    query = select(Transcript).where(Transcript.id == transcript_id, Transcript.workspace_id == workspace_id)
    if asset_id is not None:
        query = query.where(Transcript.asset_id == asset_id)
    row = db.scalar(query)
    if row is None:
        raise NotFound(f"no transcript {transcript_id}")
    return row


def create_transcript(
    services: Services, workspace_id: str, asset_id: str, *, language: str | None = None, start: bool = True
) -> dict[str, Any]:
    """Record a transcription of the asset's speech and start it in the background."""
    transcriber = Transcriber.from_settings(services.settings)
    with services.sessions() as db:
        asset = find_asset(db, workspace_id, asset_id)
        if asset.kind not in TRANSCRIBABLE or not (asset.media or {}).get("has_audio", True):
            raise Invalid(
                f"asset {asset_id} is {asset.kind} without sound: only video or audio with an audio "
                "stream can be transcribed",
                errors=[
                    {"parameter": "asset_id", "detail": "not video or audio with sound", "code": "not_audio"}
                ],
            )
        row = _new_row(workspace_id, asset_id, transcriber.display_model, language)
        db.add(row)
        db.flush()
        _event(db, row, "transcript.created")
        body = transcript_json(row)
        db.commit()
    if start:
        runner(services).submit(row.id)
    return body


def _new_row(workspace_id: str, asset_id: str, model: str, language: str | None) -> Transcript:
    now = utcnow()
    return Transcript(
        id=new_id("trn"),
        workspace_id=workspace_id,
        asset_id=asset_id,
        state="queued",
        progress=0.0,
        model=model,
        requested_language=language,
        words=[],
        revision=0,
        attempts=0,
        created_at=now,
        updated_at=now,
    )


def read_transcript(
    services: Services, workspace_id: str, asset_id: str, transcript_id: str
) -> dict[str, Any]:
    with services.sessions() as db:
        return transcript_json(_find(db, workspace_id, transcript_id, asset_id))


def list_transcripts(services: Services, workspace_id: str, asset_id: str) -> list[dict[str, Any]]:
    """The asset's transcripts, newest first, without their words."""
    with services.sessions() as db:
        find_asset(db, workspace_id, asset_id)
        rows = db.scalars(
            select(Transcript)
            .where(Transcript.asset_id == asset_id, Transcript.workspace_id == workspace_id)
            .order_by(Transcript.created_at.desc(), Transcript.id.desc())
            .limit(100)
        )
        return [transcript_json(row, words=False) for row in rows]


def review_cues(
    services: Services,
    workspace_id: str,
    asset_id: str,
    transcript_id: str,
    breaking: CueBreaking | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The transcript and its words grouped into cues as an export breaks them (9:16 lines by
    default): each cue's ``start``, ``end`` (seconds), ``text`` and its words' indexes
    (``first``, ``count``), for reviewing the words against the media."""
    with services.sessions() as db:
        row = _find(db, workspace_id, transcript_id, asset_id)
        body = transcript_json(row)
    words = [TranscriptWord(**w) for w in body["words"]]
    shown: list[dict[str, Any]] = []
    first = 0
    for cue in transcript_cues(words, breaking):
        count = len(cue.text.split())
        part = words[first : first + count]
        if not part:
            break
        shown.append(
            {
                "start": part[0].start,
                "end": part[-1].end,
                "text": " ".join(w.text for w in part),
                "first": first,
                "count": len(part),
            }
        )
        first += len(part)
    if first < len(words):  # whatever the breaking left out still gets reviewed
        rest = words[first:]
        shown.append(
            {"start": rest[0].start, "end": rest[-1].end, "text": " ".join(w.text for w in rest),
             "first": first, "count": len(rest)}
        )  # fmt: skip
    return body, shown


# ------------------------------------------------------------------------------ corrections


def _checked_words(words: Sequence[dict[str, Any]], duration: float | None) -> list[TranscriptWord]:
    problems: list[dict[str, Any]] = []
    limit = (duration or 0.0) + 1.0 if duration else None
    out: list[TranscriptWord] = []
    previous = 0.0
    for i, word in enumerate(words):
        text = " ".join(str(word["text"]).split())
        start, end = float(word["start"]), float(word["end"])
        if not text or " " in text or len(text) > MAX_WORD_CHARS:
            problems.append(
                {
                    "pointer": f"#/words/{i}/text",
                    "detail": f"one word of 1 to {MAX_WORD_CHARS} characters",
                    "code": "word",
                }
            )
        if not 0 <= start < end:
            problems.append(
                {"pointer": f"#/words/{i}/end", "detail": "ends after it starts", "code": "order"}
            )
        elif start < previous:
            problems.append(
                {
                    "pointer": f"#/words/{i}/start",
                    "detail": "starts before the previous word",
                    "code": "order",
                }
            )
        elif limit is not None and end > limit:
            problems.append(
                {"pointer": f"#/words/{i}/end", "detail": "after the end of the media", "code": "range"}
            )
        previous = max(previous, start)
        out.append(TranscriptWord(text, round(start, 3), round(end, 3), float(word.get("confidence") or 1.0)))
    if problems:
        raise Invalid(f"{len(problems)} problem(s) in the words", errors=problems[:100])
    return out


def correct_transcript(
    services: Services,
    workspace_id: str,
    asset_id: str,
    transcript_id: str,
    *,
    words: Sequence[dict[str, Any]] | None = None,
    text: str | None = None,
    revision: int | None = None,
) -> dict[str, Any]:
    """Replace the words (given with times) or the text (changed words re-timed from those they
    replace, then snapped to the sound); a correction withdraws an approval. ``revision``, when
    given, must be the current one (409 otherwise: someone else corrected it meanwhile)."""
    if (words is None) == (text is None):
        raise Invalid(
            "give either `words` or `text`",
            errors=[{"pointer": "#/words", "detail": "give either `words` or `text`", "code": "one_of"}],
        )
    with services.sessions() as db:
        row = _find(db, workspace_id, transcript_id, asset_id)
        if row.state != "succeeded":
            raise Conflict(
                f"transcript {transcript_id} is {row.state}: only a finished transcript can be corrected"
            )
        if revision is not None and revision != row.revision:
            raise Conflict(
                f"transcript {transcript_id} is at revision {row.revision}, not {revision}: read it again"
            )
        old = [TranscriptWord(**w) for w in row.words]
        duration = row.duration
        storage_key = db.scalar(select(Asset.storage_key).where(Asset.id == asset_id))
    if words is not None:
        new = _checked_words(words, duration)
    else:
        assert text is not None
        tokens = split_text(text)
        if any(len(t) > MAX_WORD_CHARS for t in tokens):
            raise Invalid(
                f"a word is longer than {MAX_WORD_CHARS} characters",
                errors=[
                    {
                        "pointer": "#/text",
                        "detail": f"words of at most {MAX_WORD_CHARS} characters",
                        "code": "word",
                    }
                ],
            )
        new = realign_words(old, tokens, _audio(services, storage_key))
    with services.sessions() as db:
        row = _find(db, workspace_id, transcript_id, asset_id)
        if revision is not None and revision != row.revision:
            raise Conflict(f"transcript {transcript_id} changed meanwhile: read it again")
        row.words = [_word_json(w) for w in new]
        row.revision += 1
        row.approved_at = None
        row.updated_at = utcnow()
        _event(db, row, "transcript.corrected")
        body = transcript_json(row)
        db.commit()
    return body


def _audio(services: Services, storage_key: str | None) -> Any:
    """The asset's sound at 16 kHz, to snap re-timed words to; None when it cannot be read."""
    if storage_key is None:
        return None
    try:
        from faster_whisper import decode_audio

        return decode_audio(str(services.storage.local_path(storage_key)), sampling_rate=16000)
    except Exception:  # no extra, or unreadable: times stay as shared out
        log.info("re-timing corrected words without the sound", exc_info=True)
        return None


def _word_json(word: TranscriptWord) -> dict[str, Any]:
    return {"text": word.text, "start": word.start, "end": word.end, "confidence": word.confidence}


def approve_transcript(
    services: Services, workspace_id: str, asset_id: str, transcript_id: str
) -> dict[str, Any]:
    with services.sessions() as db:
        row = _find(db, workspace_id, transcript_id, asset_id)
        if row.state != "succeeded":
            raise Conflict(
                f"transcript {transcript_id} is {row.state}: only a finished transcript can be approved"
            )
        released = False
        if row.approved_at is None:
            row.approved_at = row.updated_at = utcnow()
            _event(db, row, "transcript.approved")
            db.flush()
            released = release_approved(db, workspace_id)
        body = transcript_json(row)
        db.commit()
    if released:
        services.wake_renders()  # this process's worker, or the Celery workers through the broker
    return body


def export(
    services: Services,
    workspace_id: str,
    asset_id: str,
    transcript_id: str,
    fmt: ExportFormat,
    breaking: CueBreaking,
) -> str:
    with services.sessions() as db:
        row = _find(db, workspace_id, transcript_id, asset_id)
        if row.state != "succeeded":
            raise Conflict(f"transcript {transcript_id} is {row.state}: nothing to export yet")
        data = _data(row)
    return export_transcript(data, fmt, breaking)


def _data(row: Transcript) -> TranscriptData:
    return TranscriptData(
        words=tuple(TranscriptWord(**w) for w in row.words),
        language=row.language or "",
        model=row.model,
        duration=row.duration or 0.0,
    )


def approved_words(db: Session, workspace_id: str, asset_id: str) -> TranscriptData | None:
    """The asset's newest approved transcript, if any."""
    row = db.scalar(
        select(Transcript)
        .where(
            Transcript.workspace_id == workspace_id,
            Transcript.asset_id == asset_id,
            Transcript.approved_at.is_not(None),
        )
        .order_by(Transcript.approved_at.desc())
        .limit(1)
    )
    return _data(row) if row is not None else None


# ------------------------------------------------------------------------------ renders waiting


def spoken_assets(edit: Edit) -> set[str]:
    """The assets whose speech the edit's captions transcribe (directly or through a named clip)."""
    return set(spoken_clips(edit))


def spoken_clips(edit: Edit) -> dict[str, list[str]]:
    """Each asset whose speech the edit's captions transcribe -> where: the JSON pointers of
    those captions' ``transcribe``."""
    named = {clip.name: clip for track in edit.timeline.tracks for clip in track.clips if clip.name}
    found: dict[str, list[str]] = {}
    for t, track in enumerate(edit.timeline.tracks):
        for c, clip in enumerate(track.clips):
            asset = clip.asset
            if not isinstance(asset, CaptionAsset) or asset.transcribe is None:
                continue
            src: str | None = asset.transcribe
            if asset.transcribe.startswith(TRANSCRIBE_CLIP_PREFIX):
                target = named.get(asset.transcribe[len(TRANSCRIBE_CLIP_PREFIX) :])
                src = getattr(target.asset, "src", None) if target is not None else None
            # A render's stored edit names pinned versions (`ast_…@3`): the asset is what counts.
            asset_id = asset_id_of(src)
            if asset_id is not None:
                found.setdefault(asset_id, []).append(f"/timeline/tracks/{t}/clips/{c}/asset/transcribe")
    return found


TRANSCRIPT_UNAVAILABLE = "transcript_unavailable"
"""The failure code of a render that waited for a transcript's approval which cannot come."""


def fail_waiting(db: Session, workspace_id: str, asset_id: str, why: str) -> list[str]:
    """Fail the renders waiting for the approval of a transcript of ``asset_id`` (none can come:
    ``why``), each with a problem at its captions, and ``render.failed``; their ids. Uncommitted."""
    waiting = db.scalars(
        select(Render).where(
            Render.workspace_id == workspace_id, Render.state == "queued", Render.awaiting_approval.is_(True)
        )
    ).all()
    failed: list[str] = []
    for render in waiting:
        try:
            pointers = spoken_clips(parse_edit(render.edit, placeholders=False)).get(asset_id)
        except EditError:
            continue  # it waits for nothing it could name; it fails with its problems once it runs
        if not pointers:
            continue
        message = f"the captions need an approved transcript of asset {asset_id}, and none can come: {why}"
        problems = [{"pointer": p, "message": message, "code": TRANSCRIPT_UNAVAILABLE} for p in pointers]
        error = {
            "code": TRANSCRIPT_UNAVAILABLE,
            "message": message,
            "pointer": pointers[0],
            "log_tail": [],
            "problems": problems,
        }
        # Conditional: only a render still queued and waiting (a concurrent approval releases it).
        count = rows_updated(
            db,
            update(Render)
            .where(Render.id == render.id, Render.state == "queued", Render.awaiting_approval.is_(True))
            .values(
                state="failed",
                awaiting_approval=False,
                finished_at=utcnow(),
                eta_seconds=None,
                error=error,
                failure_code=TRANSCRIPT_UNAVAILABLE,
            ),
        )
        if count == 1:
            db.refresh(render)
            record_render_event(db, render, "render.failed")
            failed.append(render.id)
    if failed:
        settle_batches(db, failed)  # they may end their batches
    return failed


def _approved(db: Session, workspace_id: str, asset_ids: set[str]) -> set[str]:
    if not asset_ids:
        return set()
    return set(
        db.scalars(
            select(Transcript.asset_id).where(
                Transcript.workspace_id == workspace_id,
                Transcript.asset_id.in_(asset_ids),
                Transcript.approved_at.is_not(None),
            )
        )
    )


def hold_for_approval(db: Session, services: Services, render: Render, edit: Edit) -> None:
    """Make ``render`` wait until every asset its captions transcribe has an approved
    transcript; start a transcript for each such asset that has none under way (after the
    caller commits)."""
    needed = spoken_assets(edit)
    missing = needed - _approved(db, render.workspace_id, needed)
    if not missing:
        return
    render.awaiting_approval = True
    under_way = set(
        db.scalars(
            select(Transcript.asset_id).where(
                Transcript.workspace_id == render.workspace_id,
                Transcript.asset_id.in_(missing),
                Transcript.state.in_(("queued", "running", "succeeded")),
            )
        )
    )
    model = Transcriber.from_settings(services.settings).display_model
    started: list[str] = []
    for asset_id in sorted(missing - under_way):
        row = _new_row(render.workspace_id, asset_id, model, None)
        db.add(row)
        db.flush()
        _event(db, row, "transcript.created")
        started.append(row.id)
    if started:

        def start(_session: Session) -> None:
            for transcript_id in started:
                runner(services).submit(transcript_id)

        event.listen(db, "after_commit", start, once=True)


def release_approved(db: Session, workspace_id: str) -> bool:
    """Let the workspace's renders whose transcripts are now all approved start; whether any."""
    released = False
    waiting = db.scalars(
        select(Render).where(
            Render.workspace_id == workspace_id, Render.state == "queued", Render.awaiting_approval.is_(True)
        )
    )
    for render in waiting:
        try:
            needed = spoken_assets(parse_edit(render.edit, placeholders=False))
        except EditError:
            needed = set()  # it fails with its problems once it runs
        if needed <= _approved(db, workspace_id, needed):
            render.awaiting_approval = False
            released = True
    return released


# ------------------------------------------------------------------------------ running one


def run_transcript(services: Services, transcript_id: str) -> None:
    """Transcribe one queued transcript unless another run holds it; its row and events tell
    how it went. A plain function: the in-process runner calls it, and so can any worker."""
    with LEASED.held(services.sessions, transcript_id) as taken:
        if taken:
            _run_claimed(services, transcript_id)


def _run_claimed(services: Services, transcript_id: str) -> None:
    with services.sessions() as db:
        row = db.get(Transcript, transcript_id)
        if row is None:
            return
        language = row.requested_language
        key = db.scalar(select(Asset.storage_key).where(Asset.id == row.asset_id))
    last = [0.0]

    def progress(fraction: float) -> None:
        now = time.monotonic()
        if now - last[0] < PROGRESS_INTERVAL or fraction >= 1.0:
            return
        last[0] = now
        with services.sessions() as db:
            found = db.get(Transcript, transcript_id)
            if found is None:
                return
            found.progress, found.updated_at = fraction, utcnow()
            _event(db, found, "transcript.progress")
            db.commit()

    try:
        if key is None:
            raise AsrUnavailable("the asset was deleted")
        path = services.storage.local_path(key)
        if not path.is_file():
            raise AsrUnavailable("the asset's stored file is missing")
        data = Transcriber.from_settings(services.settings).transcribe(
            Path(path), language=language, progress=progress
        )
    except AsrUnavailable as exc:
        _finish(services, transcript_id, error={"code": "transcription-failed", "detail": str(exc)})
        return
    except Exception:
        log.exception("transcript %s failed unexpectedly", transcript_id)
        _finish(services, transcript_id, error={"code": "transcription-failed", "detail": "internal error"})
        return
    _finish(services, transcript_id, data=data)


def _finish(
    services: Services,
    transcript_id: str,
    *,
    data: TranscriptData | None = None,
    error: dict[str, Any] | None = None,
) -> None:
    with services.sessions() as db:
        row = db.get(Transcript, transcript_id)
        if row is None:
            return
        row.state = "succeeded" if data is not None else "failed"
        row.error, row.updated_at = error, utcnow()
        row.claimed_by, row.claimed_until = None, None
        if data is not None:
            row.progress = 1.0
            row.words = [_word_json(w) for w in data.words]
            row.language, row.duration = data.language, data.duration
        _event(db, row, f"transcript.{row.state}")
        if row.state == "failed" and not _may_yet_be_approved(db, row):
            fail_waiting(db, row.workspace_id, row.asset_id, f"its transcript {row.id} failed")
        db.commit()


def _may_yet_be_approved(db: Session, failed: Transcript) -> bool:
    """Whether another transcript of the asset is still made, or made and not yet approved."""
    return (
        db.scalar(
            select(Transcript.id)
            .where(
                Transcript.workspace_id == failed.workspace_id,
                Transcript.asset_id == failed.asset_id,
                Transcript.id != failed.id,
                Transcript.state.in_(("queued", "running", "succeeded")),
            )
            .limit(1)
        )
        is not None
    )


class TranscriptRunner(ImportRunner):
    """This process's transcriptions: the import runner's machinery (a few at a time on
    worker threads, each id once, unfinished ones taken up after a restart) running
    :func:`run_transcript`."""

    def __init__(self, services: Services):
        worker_name = services.settings.worker_name
        super().__init__(
            services,
            name=f"{worker_name}:transcripts" if worker_name else None,
            concurrency=services.settings.asr_concurrency,
            kind="transcripts",
            thread_prefix="reelforge-transcript",
        )

    def work(self, job_id: str) -> None:
        run_transcript(self.services, job_id)

    def pending(self) -> list[str]:
        now = utcnow()
        with self.services.sessions() as db:
            return list(
                db.scalars(
                    select(Transcript.id)
                    .where(
                        Transcript.state.in_(("queued", "running")),
                        or_(Transcript.claimed_by.is_(None), Transcript.claimed_until < now),
                    )
                    .order_by(Transcript.created_at)
                )
            )


def runner(services: Services) -> TranscriptRunner:
    """This process's transcript runner (started on first use; it also takes up transcripts a
    stopped process left unfinished)."""
    found = services.extras.get(_RUNNER)
    if found is None:
        made = TranscriptRunner(services)
        found = services.extras.setdefault(_RUNNER, made)
        if found is made:
            found.start()
            found.recover()
    assert isinstance(found, TranscriptRunner)
    return found
