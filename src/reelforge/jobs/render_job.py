"""Run one claimed render: prepare, render, finish, and record how it ended.

A worker claims a render (:func:`reelforge.jobs.queue.claim_next`) and hands the claim to
:class:`RenderJob`. Every write the job makes is conditional on still holding that claim (same
id, worker and attempt, still running), so a worker that lost its render, because another worker
recovered it after a missed heartbeat, can never overwrite the new owner's work. The worker's
observers (:mod:`reelforge.jobs.observers`) hear of each state and progress write once committed.

States: ``preparing`` (validate, resolve assets, probe, compile), ``rendering`` (FFmpeg runs;
progress and ETA written about twice a second), ``finishing`` (every file made becomes an asset
with this render as provenance), then ``succeeded``, ``failed`` or ``cancelled``.

Failures carry ``error = {code, message, pointer, log_tail}``; the codes are stable:
``edit_invalid``, ``asset_missing``, ``media_invalid``, ``ffmpeg_failed``, ``timeout``,
``output_invalid``, ``interrupted``, ``internal``. Pointers point into the render's edit.
"""

from __future__ import annotations

import contextvars
import logging
import os
import shutil
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from reelforge.db.batches import settle_batches
from reelforge.db.brands import BRAND_META, BrandKitVersion
from reelforge.db.delivery import schedule_deliveries
from reelforge.db.models import Asset, Render, Workspace, utcnow
from reelforge.edit.errors import EditError, Problem
from reelforge.edit.validate import parse_edit
from reelforge.ffmpeg.runner import CancelToken, Progress, RenderCancelled, StderrLog
from reelforge.render.compile import RenderPlan
from reelforge.render.engine import OutputResult, RenderError, plan_edit, render_plan
from reelforge.render.layout import SafeZone
from reelforge.render.limits import Limits, default_limits, merged_limits, plan_limit_problems
from reelforge.render.segments import SegmentPolicy, one_pass_reason, segment_plan
from reelforge.render.sources import SourceError, SourceResolver
from reelforge.representations import client_metadata, output_refs, record_render_event
from reelforge.tracing import continued, span

from .chunks import ChunkDispatcher, chunk_policy, forget_chunks
from .observers import RenderObservers
from .queue import TERMINAL_STATES, Claim, held_by, queue_positions, rows_updated
from .redact import PathRedactor

if TYPE_CHECKING:
    from .context import JobContext

__all__ = [
    "ERROR_CODES",
    "RenderJob",
    "client_metadata",
    "edit_error",
    "output_refs",
    "release",
    "work_dir_for",
]

log = logging.getLogger("reelforge.jobs")

ERROR_CODES = (
    "edit_invalid",
    "asset_missing",
    "media_invalid",
    "ffmpeg_failed",
    "timeout",
    "output_invalid",
    "interrupted",
    "internal",
)

#: Seconds between progress writes: clients poll, they do not need every FFmpeg report.
PROGRESS_INTERVAL = 0.5
#: Free bytes below which a failed render's storage counts as full (the cause of the failure).
_FULL_BELOW = 1024**2
#: How much of FFmpeg's stderr a failed render keeps.
LOG_TAIL_LINES = 20
#: How much of FFmpeg's stderr every render keeps (``GET /v1/renders/{id}/log``).
FFMPEG_LOG_BYTES = 256 * 1024

# The engine's RenderError codes, as the API's stable codes.
_RENDER_CODES = {
    "ffmpeg_failed": "ffmpeg_failed",
    "audio_failed": "ffmpeg_failed",
    "timeout": "timeout",
    "output_invalid": "output_invalid",
    "join_invalid": "output_invalid",
    "interrupted": "interrupted",
}


def work_dir_for(temp_root: Path, render_id: str, attempt: int) -> Path:
    """A render attempt's scratch directory, on the storage's filesystem so outputs move cheaply."""
    return temp_root / f"render-{render_id}-a{attempt}"


# ------------------------------------------------------------------ errors

_ADVICE = {
    "asset_missing": "; upload the file again (POST /v1/assets) and use the new asset id in the edit",
    "media_invalid": "; replace the asset with a file FFmpeg can read, or fix the clip that uses it",
}


def _error(
    code: str,
    message: str,
    *,
    pointer: str | None = None,
    log_tail: Sequence[str] = (),
    problems: Sequence[Problem] = (),
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": code,
        "message": message,
        "pointer": pointer,
        "log_tail": list(log_tail)[-LOG_TAIL_LINES:],
    }
    if problems:
        body["problems"] = [p.to_dict() for p in problems]
    return body


def edit_error(exc: EditError) -> dict[str, Any]:
    """An edit's problems as a render error: a missing asset, unusable media, or the edit itself."""
    problems = list(exc.problems)
    by_code = {p.code for p in problems}
    kind: tuple[str, ...]
    if "source" in by_code:
        code, kind = "asset_missing", ("source",)
    elif by_code & {"media", "file"}:
        code, kind = "media_invalid", ("media", "file")
    else:
        code, kind = "edit_invalid", tuple(by_code)
    first = next(p for p in problems if p.code in kind) if problems else None
    if first is None:
        return _error(code, str(exc))
    more = len(problems) - 1
    message = f"{first.message} (at {first.pointer or '/'})" + _ADVICE.get(code, "")
    if more:
        message += f"; {more} more problem{'s' if more > 1 else ''} in `problems`"
    return _error(code, message, pointer=first.pointer or None, problems=problems)


def _render_error(exc: RenderError) -> dict[str, Any]:
    code = _RENDER_CODES.get(exc.code, "internal")
    message = exc.message
    if code == "ffmpeg_failed":
        message += "; see log_tail for FFmpeg's last lines" + (
            f", the clip at {exc.pointer} is concerned" if exc.pointer else ""
        )
    elif code == "timeout":
        message += "; render a shorter range or a lower quality, or raise REELFORGE_RENDER_TIMEOUT"
    return _error(code, message, pointer=exc.pointer, log_tail=exc.log_tail)


# ------------------------------------------------------------------ the job


def transcription_step(services: Any, workspace_id: str, resolver: SourceResolver) -> Any:
    """Captions made from speech: an asset's newest approved transcript (people corrected it)
    when it has one, else the model's words (cached by content and model)."""
    from reelforge.db.transcripts import Transcript as TranscriptRow
    from reelforge.edit.references import asset_id_of
    from reelforge.media.transcribe import Transcriber, Transcript, TranscriptWord, transcribe_edit

    transcriber = Transcriber.from_settings(services.settings)

    def file(src: str, path: Path, language: str | None) -> Transcript:
        with services.sessions() as db:
            row = db.scalar(
                select(TranscriptRow)
                .where(
                    TranscriptRow.workspace_id == workspace_id,
                    TranscriptRow.asset_id == (asset_id_of(src) or src),  # `ast_…@3` pinned
                    TranscriptRow.approved_at.is_not(None),
                )
                .order_by(TranscriptRow.approved_at.desc())
                .limit(1)
            )
            if row is not None:
                return Transcript(
                    words=tuple(TranscriptWord(**w) for w in row.words),
                    language=row.language or "",
                    model=row.model,
                    duration=row.duration or 0.0,
                )
        return transcriber.transcribe(path, language=language)

    return lambda edit: transcribe_edit(edit, resolver, file)


def brand_safe_zones(db: Session, meta: Mapping[str, Any] | None) -> dict[str, SafeZone] | None:
    """The safe zones of the brand kit version a render was created with, for its
    ``safe_area`` clips (None: the render uses no kit, and the platform defaults apply)."""
    used = (meta or {}).get(BRAND_META)
    if not isinstance(used, Mapping):
        return None
    body = db.scalar(
        select(BrandKitVersion.body).where(
            BrandKitVersion.kit_id == used.get("id"), BrandKitVersion.number == used.get("version")
        )
    )
    if not isinstance(body, Mapping) or not isinstance(body.get("safe_zones"), Mapping):
        return None
    return {label: SafeZone(**zone) for label, zone in body["safe_zones"].items()}


class _Stop(Exception):
    """The job must end now: ``why`` is ``cancelled``, ``interrupted`` (worker stopping) or
    ``lost`` (another worker owns the render now)."""

    def __init__(self, why: str):
        super().__init__(why)
        self.why = why


class RenderJob:
    """One attempt at one render. :meth:`run` blocks until the render ended or was interrupted."""

    def __init__(
        self,
        services: JobContext,
        claim: Claim,
        *,
        heartbeat_interval: float = 1.0,
        observers: RenderObservers | None = None,
    ):
        self.services = services
        self.claim = claim
        self.heartbeat_interval = heartbeat_interval
        self.observers = observers or RenderObservers()
        self.token = CancelToken()
        self._why: str | None = None
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._last_progress = 0.0
        self.work = work_dir_for(services.storage.temp_dir(), claim.render_id, claim.attempt)
        self._sources: dict[str, Path] = {}
        """The asset id each input file came from (the resolver fills it), so a failure names
        the asset, not the server's path."""
        self.ffmpeg_log = StderrLog(FFMPEG_LOG_BYTES)
        """What FFmpeg writes to stderr, kept (redacted) with the render when it ends."""
        self._created_at: datetime | None = None
        self._started_at: datetime | None = None

    # -------------------------------------------------------------- control

    def interrupt(self) -> None:
        """The worker is stopping: end FFmpeg now; the render is put back for a later start."""
        self._stop("interrupted")

    def _stop(self, why: str) -> None:
        with self._lock:
            if self._why is None:
                self._why = why
        self.token.cancel()

    def _check(self) -> None:
        if self._why is not None:
            raise _Stop(self._why)

    # -------------------------------------------------------------- conditional writes

    def _owned(self) -> Any:
        return held_by(self.claim)

    def _update(self, *, event: str | None = None, **values: Any) -> bool:
        """Write to the render if this job still holds it; False (and stop) when it does not.
        ``event`` (``render.succeeded``, …) is recorded in the same transaction as the write.
        A final state also writes FFmpeg's log and how long the render waited and ran."""
        scheduled = 0
        if values.get("state") in TERMINAL_STATES:
            values = {**self._final_values(values.get("finished_at")), **values}
        with self.services.sessions() as db:
            count = rows_updated(db, update(Render).where(*self._owned()).values(**values))
            if count == 1 and event is not None:
                _record(db, self.claim.render_id, event)
            if count == 1 and values.get("state") in TERMINAL_STATES:
                settle_batches(db, [self.claim.render_id])  # its batch may be complete now
            if count == 1 and values.get("state") == "succeeded":
                scheduled = schedule_deliveries(db, self.claim.render_id)
            db.commit()
        if count != 1:
            self._stop("lost")
            return False
        if scheduled:
            self.services.extras.get("delivery_worker", _NoWorker).wake()
        if "state" in values:
            self.observers.state(self.claim.render_id, values["state"])
            if values["state"] == "rendering":
                self._recheck()
        return True

    def _final_values(self, finished: datetime | None) -> dict[str, Any]:
        values: dict[str, Any] = {}
        lines = self.ffmpeg_log.lines()
        if lines:
            redact = self._redactor()
            values["ffmpeg_log"] = "\n".join(redact.log_line(line) for line in lines)
        if self._started_at is not None and self._created_at is not None:
            values["queue_seconds"] = max(0.0, (self._started_at - self._created_at).total_seconds())
            if finished is not None:
                values["run_seconds"] = max(0.0, (finished - self._started_at).total_seconds())
        return values

    def _beat(self) -> None:
        """Heartbeat, and learn whether the API asked to cancel."""
        with self.services.sessions() as db:
            count = rows_updated(db, update(Render).where(*self._owned()).values(heartbeat_at=utcnow()))
            cancel = db.scalar(select(Render.cancel_requested).where(Render.id == self.claim.render_id))
            db.commit()
        if count != 1:
            self._stop("lost")
        elif cancel:
            self._stop("cancelled")

    def _recheck(self) -> None:
        """Read a cancel request now, after the observers heard of a change: one asked while an
        observer held the job, or while FFmpeg was ending (its last progress report comes after
        it exits), is honoured, not only one a heartbeat happened to see."""
        try:
            with self.services.sessions() as db:
                cancel = db.scalar(select(Render.cancel_requested).where(Render.id == self.claim.render_id))
        except Exception:  # the heartbeat reads it again soon; a hiccup must not fail the render
            log.warning("could not read the cancel request of %s", self.claim.render_id, exc_info=True)
            return
        if cancel:
            self._stop("cancelled")

    @contextmanager
    def _heartbeat(self) -> Iterator[None]:
        def loop() -> None:
            while not self._done.wait(self.heartbeat_interval):
                try:
                    self._beat()
                except Exception:  # a database hiccup must not kill the heartbeat; try again
                    log.warning("heartbeat failed for %s", self.claim.render_id, exc_info=True)

        # The job's log context (its ids) goes on the heartbeat's lines too.
        context = contextvars.copy_context()
        thread = threading.Thread(
            target=context.run, args=(loop,), name=f"heartbeat-{self.claim.render_id}", daemon=True
        )
        thread.start()
        try:
            yield
        finally:
            self._done.set()
            thread.join(timeout=5)

    def _on_progress(self, progress: Progress) -> None:
        now = time.monotonic()
        if now - self._last_progress < PROGRESS_INTERVAL and progress.fraction < 1:
            return
        self._last_progress = now
        eta = None if progress.eta_seconds is None else round(progress.eta_seconds, 1)
        try:
            recorded = self._update(progress=round(progress.fraction * 100, 1), eta_seconds=eta)
        except Exception:  # progress is best effort; the render goes on
            log.warning("could not record progress of %s", self.claim.render_id, exc_info=True)
            return
        if recorded:
            self.observers.progress(self.claim.render_id, progress.fraction)
            self._recheck()

    # -------------------------------------------------------------- the run

    def run(self) -> str:
        """Run the render; return how it ended (a final state, ``interrupted`` or ``lost``).

        Every line logged meanwhile carries the render's id, workspace, batch and the id of the
        request that queued it; its spans continue that request's trace."""
        with self.services.sessions() as db:
            render = db.get(Render, self.claim.render_id)
            if render is None:
                return "lost"
            origin = dict(render.origin or {})
            ids = {
                "render_id": render.id,
                "workspace_id": render.workspace_id,
                "batch_id": render.batch_id,
                "request_id": origin.get("request_id"),
            }
        with (
            structlog.contextvars.bound_contextvars(**ids),
            continued(origin),
            span(
                "render.run",
                kind="consumer",
                reelforge__render__id=ids["render_id"],
                reelforge__workspace__id=ids["workspace_id"],
                reelforge__batch__id=ids["batch_id"],
                reelforge__render__attempt=self.claim.attempt,
            ),
        ):
            log.info("render started (attempt %d)", self.claim.attempt)
            started = time.monotonic()
            outcome = self._run()
            log.info("render ended: %s after %.1f s", outcome, time.monotonic() - started)
            return outcome

    def _run(self) -> str:
        from reelforge.media.resolver import AssetResolver

        c = self.claim
        with self.services.sessions() as db:
            render = db.get(Render, c.render_id)
            if render is None:
                return "lost"
            document, workspace_id = render.edit, render.workspace_id
            safe_zones = brand_safe_zones(db, render.meta)
            provenance: dict[str, Any] = {
                "render": render.id,
                "project": render.project_id,
                "revision": render.revision,
            }
            if render.asset_versions:
                # The output's manifest: the asset versions it was made from, once each.
                used = {
                    (v["asset"], v["version"]): v["sha256"]
                    for v in render.asset_versions
                    if isinstance(v, dict) and {"asset", "version", "sha256"} <= v.keys()
                }
                provenance["asset_versions"] = [
                    {"asset": a, "version": n, "sha256": sha} for (a, n), sha in sorted(used.items())
                ]
            self._created_at, self._started_at = render.created_at, render.started_at
        work = self.work
        try:
            with self._heartbeat():
                self._beat()
                self._check()
                # preparing: validate, resolve every asset, probe, compile
                # Final: checked (placeholders filled) when the render was created.
                edit = parse_edit(document, placeholders=False)
                resolver = AssetResolver(self.services.sessions, self.services.storage, workspace_id)
                self._sources = resolver.resolved
                with span("render.compile"):
                    plan = plan_edit(
                        edit,
                        resolver=resolver,
                        transcribe=transcription_step(self.services, workspace_id, resolver),
                        out_dir=work / "out",
                        work_dir=work / "work",
                        safe_zones=safe_zones,
                        segmenting=SegmentPolicy.of(self.services.settings),
                    )
                # Exact now that every source is probed (a `length: "auto"` clip whose duration
                # was unknown at creation); a render made before the limits were lowered too.
                self._within_limits(plan, workspace_id)
                self._check()
                plan, chunks = self._chunked(plan, safe_zones)
                self._update(state="rendering", progress=0.0, duration=float(plan.duration))
                self._check()
                result = render_plan(
                    plan,
                    on_progress=self._on_progress,
                    cancel=self.token,
                    timeout=self.services.settings.render_timeout,
                    stderr_lines=self.ffmpeg_log,
                    segment_runner=chunks,
                )
                if chunks is not None:
                    log.info("render chunks took %s s", [round(t, 3) for t in chunks.chunk_seconds])
                    if chunks.range_seconds:
                        log.info("render audio ranges took %s s", [round(t, 3) for t in chunks.range_seconds])
                    log.info(
                        "render chunk phases: mix %.3f s, chunks %.3f s",
                        chunks.mix_seconds,
                        chunks.chunks_wall_seconds,
                    )
                self._check()
                # finishing: from here on the render completes even if cancelled meanwhile
                self._update(state="finishing", progress=100.0, eta_seconds=0.0)
                self._check()
                refs = self._ingest(result.outputs, workspace_id, provenance)
                made = [
                    {k: v for k, v in r.items() if k not in ("created", "bytes", "seconds", "previews")}
                    for r in refs
                ]
                self._clean()
                if not self._update(
                    state="succeeded",
                    finished_at=utcnow(),
                    outputs=made,
                    error=None,
                    output_bytes=sum(int(r["bytes"]) for r in refs),
                    output_seconds=sum(float(r["seconds"]) for r in refs if r["role"] == "output"),
                    event="render.succeeded",
                ):
                    self._discard(refs)
                    return "lost"
                self._make_previews(refs)
                return "succeeded"
        except (_Stop, RenderCancelled):
            return self._stopped()
        except EditError as exc:
            return self._fail(edit_error(exc))
        except SourceError as exc:
            return self._fail(
                _error("asset_missing", f"cannot use {exc.src!r}: {exc.reason}" + _ADVICE["asset_missing"])
            )
        except RenderError as exc:
            return self._fail(_render_error(exc))
        except _OutputError as exc:
            return self._fail(_error("output_invalid", str(exc)))
        except Exception:
            log.exception("render %s failed unexpectedly", c.render_id)
            return self._fail(
                _error(
                    "internal",
                    "an unexpected error stopped the render; try again, and report "
                    f"render {c.render_id} if it keeps failing",
                )
            )
        finally:
            self._clean()

    def _chunked(
        self, plan: RenderPlan, safe_zones: Mapping[str, SafeZone] | None
    ) -> tuple[RenderPlan, ChunkDispatcher | None]:
        """The plan in chunks for any worker, with their dispatcher, when its timeline is long
        enough (see :mod:`.chunks`); else as it is."""
        policy = chunk_policy(self.services.settings, plan)
        if policy is None:
            return plan, None
        reason = one_pass_reason(plan, policy)
        if reason is not None:
            log.info("render not chunked: %s", reason)
            return plan, None
        try:
            chunked = replace(plan, segmented=segment_plan(plan, policy, safe_zones=safe_zones))
        except EditError as exc:  # a limit of segmenting, not of the edit (it compiled)
            log.warning("render not chunked: a chunk did not compile: %s", exc)
            return plan, None
        worker = self.claim.worker or f"job-{self.claim.render_id}"
        return chunked, ChunkDispatcher(self.services, self.claim.render_id, self.claim.attempt, worker)

    def _within_limits(self, plan: RenderPlan, workspace_id: str) -> None:
        with self.services.sessions() as db:
            overrides = db.scalar(select(Workspace.limits).where(Workspace.id == workspace_id))
        limits = Limits.of(merged_limits(default_limits(self.services.settings), overrides))
        found = plan_limit_problems(plan, limits)
        if found:
            raise EditError(
                [Problem(p.pointer, f"{p.detail} (limit `{p.limit}`)", "limit_exceeded") for p in found]
            )

    def _clean(self) -> None:
        # Before the final state is written, so whoever sees it finished sees no scratch files.
        shutil.rmtree(self.work, ignore_errors=True)

    def _stopped(self) -> str:
        self._clean()
        why = self._why or "interrupted"
        if why == "cancelled":
            self._update(state="cancelled", finished_at=utcnow(), eta_seconds=None, event="render.cancelled")
            return "cancelled"
        if why == "interrupted":
            release(self.services, self.claim, observers=self.observers)
        return why

    def _redactor(self) -> PathRedactor:
        """How a failure may show files: an input as its asset id, the scratch files relative to
        the scratch directory, the storage and data directories by name (see :mod:`.redact`)."""
        known: dict[str | os.PathLike[str], str] = {path: asset for asset, path in self._sources.items()}
        known[self.work] = ""
        known[self.services.storage.temp_dir()] = "tmp"
        known[self.services.storage.root] = "storage"
        known[self.services.settings.data_dir.resolve()] = "data"
        return PathRedactor(known)

    def _out_of_space(self, error: dict[str, Any]) -> bool:
        """The scratch directory's filesystem is full (checked before the scratch files are
        removed, while they still take the space), or FFmpeg said so."""
        if any("No space left on device" in line for line in error.get("log_tail") or []):
            return True
        try:
            return shutil.disk_usage(self.work.parent).free < _FULL_BELOW
        except OSError:
            return False

    def _fail(self, error: dict[str, Any]) -> str:
        if self._why is not None:  # asked to stop (or lost the render): the failure is a consequence
            return self._stopped()
        error = self._redactor().error(error)
        if error["code"] in ("ffmpeg_failed", "output_invalid", "internal") and self._out_of_space(error):
            # What FFmpeg reports then is a symptom (a measurement that found nothing, a file
            # cut short): say what happened instead.
            error = {
                **error,
                "message": "the server ran out of storage space while writing the render's files; "
                "render again once space is freed",
            }
        self._clean()
        tail = "\n".join(error.get("log_tail") or [])
        self._update(
            state="failed",
            finished_at=utcnow(),
            error=error,
            failure_code=error["code"],
            log_tail=tail,
            eta_seconds=None,
            event="render.failed",
        )
        return "failed"

    # -------------------------------------------------------------- finishing

    def _ingest(
        self, outputs: Sequence[OutputResult], workspace_id: str, provenance: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Every file made becomes an asset, probed from the file by ingest."""
        from reelforge.media.ingest import IngestError, ingest_file

        files: list[tuple[Path, str, int]] = []
        for i, out in enumerate(outputs):
            files.append((out.path, "output", i))
            files += [(p, role, i) for p, role in ((out.poster, "poster"), (out.thumbnail, "thumbnail")) if p]
            files += [(p, "subtitles", i) for p in out.sidecars]
        refs: list[dict[str, Any]] = []
        try:
            for path, role, index in files:
                if not path.is_file():
                    raise _OutputError(f"the render did not produce {path.name}")
                with self.services.sessions() as db:
                    try:
                        asset, created = ingest_file(
                            db,
                            self.services.storage,
                            workspace_id=workspace_id,
                            path=path,
                            name=path.name,
                            source="render",
                            derived_from={**provenance, "role": role, "output": index},
                            render_id=self.claim.render_id,
                            settings=self.services.settings,
                            # After the render has succeeded, as for uploads: a waveform decodes
                            # the whole output (0.5 s for 5 minutes), which nobody waits for.
                            defer_previews=True,
                        )
                    except IngestError as exc:
                        raise _OutputError(f"{path.name} could not be stored: {exc}") from None
                    duration = (asset.media or {}).get("duration")
                    # The file's own name: an identical file made earlier (the same captions
                    # for two aspect ratios) is one asset, named after the first one.
                    refs.append(
                        {
                            "asset_id": asset.id,
                            "role": role,
                            "output": index,
                            "name": path.name,
                            "created": created,
                            "bytes": asset.size_bytes,
                            "seconds": float(duration) if isinstance(duration, int | float) else 0.0,
                            "previews": asset.previews == "pending",
                        }
                    )
        except BaseException:
            self._discard(refs)
            raise
        return refs

    def _make_previews(self, refs: Sequence[dict[str, Any]]) -> None:
        """Have the outputs' previews made (by this process's preview runner, or a Celery worker);
        an asset left pending by a process that stops first is found by the next one."""
        for ref in refs:
            if not ref["previews"]:
                continue
            try:
                self.services.previews().submit(ref["asset_id"])
            except Exception:  # the render has succeeded; the next sweep finds the asset pending
                log.warning("could not queue the previews of %s", ref["asset_id"], exc_info=True)

    def _discard(self, refs: Sequence[dict[str, Any]]) -> None:
        """Remove the assets this attempt created (not deduplicated ones it merely found)."""
        storage = self.services.storage
        for ref in refs:
            if not ref.get("created"):
                continue
            try:
                with self.services.sessions() as db:
                    asset = db.get(Asset, ref["asset_id"])
                    if asset is None:
                        continue
                    keys = [k for k in (asset.storage_key, asset.thumbnail_key, asset.waveform_key) if k]
                    db.delete(asset)
                    db.commit()
                for key in keys:
                    storage.delete(key)
            except Exception:
                log.warning("could not remove output asset %s", ref.get("asset_id"), exc_info=True)


def _record(db: Session, render_id: str, event: str) -> None:
    """Record ``event`` with the render as it is after this transaction's write."""
    render = db.get(Render, render_id, populate_existing=True)
    if render is None:
        return
    # Put back in the queue: where it stands now.
    record_render_event(db, render, event, queue_positions(db, [render]).get(render.id))


class _NoWorker:
    @staticmethod
    def wake() -> None:
        """No delivery worker in this process: another one polls for the deliveries."""


class _OutputError(Exception):
    """A file the render made cannot become an asset."""


def release(
    services: JobContext,
    claim: Claim,
    *,
    now: datetime | None = None,
    observers: RenderObservers | None = None,
) -> str | None:
    """Give an interrupted render back: ``queued`` to run again from the start while attempts
    remain, else ``failed`` with ``interrupted``; a render whose cancel was requested becomes
    ``cancelled``. Conditional on the claim, so two recoverers cannot both act. Returns the new
    state, or None if the render was no longer held by ``claim``."""
    now = now or utcnow()
    limit = services.settings.max_render_attempts
    with services.sessions() as db:
        render = db.get(Render, claim.render_id)
        if render is None:
            return None
        cancel = render.cancel_requested
        owned = held_by(claim)
        values: dict[str, Any]
        if cancel:
            values = {"state": "cancelled", "finished_at": now, "eta_seconds": None}
        elif claim.attempt < limit:
            values = {
                "state": "queued",
                "worker": None,
                "progress": 0.0,
                "eta_seconds": None,
                "heartbeat_at": None,
            }
        else:
            times = f"{claim.attempt} time{'s' if claim.attempt != 1 else ''}"
            values = {
                "state": "failed",
                "finished_at": now,
                "eta_seconds": None,
                "failure_code": "interrupted",
                "error": _error(
                    "interrupted",
                    f"the render was interrupted {times} (the service stopped or crashed while it ran) "
                    f"and is not retried again; create it again to retry",
                ),
            }
        count = rows_updated(db, update(Render).where(*owned).values(**values))
        if count == 1:
            # Back in the queue is `render.queued` again (with `attempts` so far).
            _record(db, claim.render_id, f"render.{values['state']}")
            if values["state"] in TERMINAL_STATES:
                settle_batches(db, [claim.render_id])
        db.commit()
    if count != 1:
        return None
    if observers is not None:
        observers.state(claim.render_id, str(values["state"]))
    # The interrupted attempt's chunks: no worker may take them any more (the attempt is over).
    forget_chunks(services, claim.render_id)
    shutil.rmtree(
        work_dir_for(services.storage.temp_dir(), claim.render_id, claim.attempt), ignore_errors=True
    )
    return str(values["state"])
