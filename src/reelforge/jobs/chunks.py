"""One long video across workers: a render's picture and sound in chunks any worker renders.

A render whose timeline is at least ``render_chunk_min_seconds`` long is planned as segments
(:mod:`reelforge.render.segments`: cut at whole frames where no picture clip is on screen
across the cut, or inside clips that can be split there, each starting a closed GOP) no longer
than ``render_chunk_seconds``, and its mix as time ranges of the same length (exact sample
ranges of the whole timeline's mix, which joined are that mix bit for bit). Instead of
rendering them one after the other, the render's job (the *parent*) queues one
``render_chunks`` row per audio range (first: negative positions) and per segment; every
worker thread of every process (the in-process pool, ``reelforge worker`` processes) takes
chunks before new renders (:func:`run_next_chunk`), renders the chunk's sub-edit with the same
compiler, and stores its file in the storage (a bucket when storage is S3), so the parent
finds it wherever it ran. The parent renders chunks of its own render too while it waits (a
single worker thread still finishes); once every range is in, it joins them and runs the mix's
one normalising and encoding pass (a ducked mix, whose envelope follows the whole timeline, is
mixed there in one chain instead), then joins the picture files by stream copy with the mix
and checks the result (:func:`reelforge.render.engine.check_joined`).

Claims and leases work as the render queue's: a conditional UPDATE on (state, attempts) gives
a chunk to exactly one worker; the runner beats its ``heartbeat_at``; a chunk whose heartbeat
is older than ``render_chunk_lease`` (its worker was killed) is claimed again, up to
:data:`MAX_CHUNK_ATTEMPTS` times, then fails the render. A chunk belongs to one attempt of its
render: only chunks of a render that still runs that attempt are claimed. Cancelling the render
cancels its chunks (their runners see it at their next heartbeat and stop FFmpeg); a chunk
that fails fails the render with the chunk's error, its clip named as in the full edit.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from sqlalchemy import Select, and_, delete, or_, select, update

from reelforge.db.models import Render, RenderChunk, new_id, utcnow
from reelforge.edit.errors import EditError, Problem
from reelforge.edit.validate import parse_edit
from reelforge.ffmpeg.runner import CancelToken, RenderCancelled
from reelforge.render.compile import RenderPlan
from reelforge.render.engine import RenderError, plan_edit, render_segment
from reelforge.render.segments import SegmentedRender, SegmentPolicy
from reelforge.render.sources import SourceError

from .queue import RUNNING_STATES, rows_updated

if TYPE_CHECKING:
    from .context import JobContext

__all__ = [
    "MAX_CHUNK_ATTEMPTS",
    "ChunkClaim",
    "ChunkDispatcher",
    "ChunkJob",
    "chunk_policy",
    "claim_chunk",
    "run_next_chunk",
]

log = logging.getLogger("reelforge.chunks")

MAX_CHUNK_ATTEMPTS = 3
"""Claims of one chunk in all (the first and those after its worker died)."""
_OFF = SegmentPolicy(0, 0, 1.0)
"""A chunk's sub-edit renders in one run."""
_POLL = 0.2
"""Seconds between the parent's looks at its chunks when it has none to render itself."""


def chunk_policy(settings: Any, plan: RenderPlan) -> SegmentPolicy | None:
    """The segmenting that makes chunks of ``plan``, or None when it is too short to chunk."""
    least = float(settings.render_chunk_min_seconds)
    if least <= 0 or float(plan.duration) < least:
        return None
    clips = int(settings.render_segment_clips) or 1_000_000
    seconds = min(float(settings.render_chunk_seconds), float(settings.render_segment_seconds))
    # The audio is mixed in ranges of the chunks' length, each a task of its own.
    # A clip longer than a chunk is split across chunks where it can be.
    return SegmentPolicy(1, clips, seconds, split_clips=True, audio_range_seconds=seconds)


@dataclass(frozen=True, slots=True)
class ChunkClaim:
    chunk_id: str
    render_id: str
    worker: str
    attempt: int
    """The chunk's claim count, this claim included."""


def _held(claim: ChunkClaim) -> tuple[Any, ...]:
    return (
        RenderChunk.id == claim.chunk_id,
        RenderChunk.worker == claim.worker,
        RenderChunk.attempts == claim.attempt,
        RenderChunk.state == "running",
    )


def claimable_chunks(lease: float) -> Select[str, str, str, int]:
    """The chunks a worker may take: queued, or running on a worker silent for ``lease``
    seconds, of a render still running the attempt that made them (others are left overs the
    render's next attempt or its recovery removes)."""
    cutoff = utcnow() - timedelta(seconds=lease)
    return (
        select(RenderChunk.id, RenderChunk.render_id, RenderChunk.state, RenderChunk.attempts)
        .join(Render, Render.id == RenderChunk.render_id)
        .where(
            Render.state.in_(RUNNING_STATES),
            Render.attempts == RenderChunk.attempt,
            or_(
                RenderChunk.state == "queued",
                and_(RenderChunk.state == "running", RenderChunk.heartbeat_at < cutoff),
            ),
        )
    )


def claim_chunk(
    sessions: Any, worker: str, *, lease: float, render_id: str | None = None, audio_only: bool = False
) -> ChunkClaim | None:
    """Take a queued chunk, or one whose worker stopped beating for ``lease`` seconds, of a
    render still running the attempt that made it (of ``render_id`` only, when given; audio
    ranges only, with ``audio_only``); oldest render first, then in order. None when there is
    none."""
    for _ in range(20):  # another worker may take the candidate first; then try the next
        with sessions() as db:
            query = claimable_chunks(lease).order_by(Render.seq, RenderChunk.index).limit(1)
            if render_id is not None:
                query = query.where(RenderChunk.render_id == render_id)
            if audio_only:
                query = query.where(RenderChunk.index < 0)  # ranges have negative positions
            candidate = db.execute(query).first()
            if candidate is None:
                return None
            same = (
                RenderChunk.id == candidate.id,
                RenderChunk.state == candidate.state,
                RenderChunk.attempts == candidate.attempts,
            )
            if candidate.attempts >= MAX_CHUNK_ATTEMPTS:
                error = {
                    "kind": "render",
                    "code": "interrupted",
                    "message": f"a chunk of the render was interrupted {candidate.attempts} times "
                    "(its workers stopped); the render can be retried",
                }
                rows_updated(db, update(RenderChunk).where(*same).values(state="failed", error=error))
                db.commit()
                continue
            now = utcnow()
            count = rows_updated(
                db,
                update(RenderChunk)
                .where(*same)
                .values(state="running", worker=worker, attempts=candidate.attempts + 1, heartbeat_at=now),
            )
            if count == 1:
                db.commit()
                if candidate.state == "running":
                    log.warning(
                        "chunk %s of render %s: its worker stopped; taken over",
                        candidate.id,
                        candidate.render_id,
                    )
                return ChunkClaim(candidate.id, candidate.render_id, worker, candidate.attempts + 1)
            db.rollback()
    return None


class ChunkJob:
    """Render one claimed chunk and store its files (or record why it failed)."""

    def __init__(
        self,
        services: JobContext,
        claim: ChunkClaim,
        *,
        heartbeat_interval: float | None = None,
        parent: CancelToken | None = None,
    ):
        self.services = services
        self.claim = claim
        self.parent = parent
        """The token of the render's own job when it runs this chunk itself (its cancel or its
        worker's stop ends the chunk too)."""
        lease = float(services.settings.render_chunk_lease)
        self.heartbeat_interval = heartbeat_interval or max(0.2, min(5.0, lease / 4))
        self.token = CancelToken()
        self._interrupted = False
        self._done = threading.Event()

    def interrupt(self) -> None:
        """The worker is stopping: end FFmpeg now and put the chunk back for another worker."""
        self._interrupted = True
        self.token.cancel()

    def _beat(self) -> None:
        """Heartbeat, and stop when the chunk is no longer ours or its render was cancelled."""
        with self.services.sessions() as db:
            count = rows_updated(
                db, update(RenderChunk).where(*_held(self.claim)).values(heartbeat_at=utcnow())
            )
            cancel = db.scalar(select(Render.cancel_requested).where(Render.id == self.claim.render_id))
            db.commit()
        # Not ours: cancelled, failed by the parent, or taken over after a long stall.
        if count != 1 or cancel or (self.parent is not None and self.parent.cancelled):
            self.token.cancel()

    def _heartbeat(self) -> None:
        while not self._done.wait(self.heartbeat_interval):
            if self.parent is not None and self.parent.cancelled:
                self.token.cancel()
            try:
                self._beat()
            except Exception:  # a database hiccup: try again at the next beat
                log.warning("chunk %s: heartbeat failed", self.claim.chunk_id, exc_info=True)

    def run(self) -> str:
        """``succeeded``, ``failed``, ``stopped`` (cancelled, interrupted or no longer ours)."""
        from reelforge.media.resolver import AssetResolver

        from .render_job import brand_safe_zones

        c = self.claim
        with self.services.sessions() as db:
            chunk = db.get(RenderChunk, c.chunk_id)
            render = db.get(Render, c.render_id)
            if chunk is None or render is None:
                return "stopped"
            spec, index, attempt = dict(chunk.spec), chunk.index, chunk.attempt
            workspace_id = render.workspace_id
            safe_zones = brand_safe_zones(db, render.meta)
        work = self.services.storage.temp_dir() / f"chunk-{c.chunk_id}-{c.attempt}"
        beating = threading.Thread(target=self._heartbeat, name=f"chunk-{c.chunk_id}", daemon=True)
        beating.start()
        started = time.monotonic()
        stored: list[str] = []
        try:
            edit = parse_edit(spec["edit"], placeholders=False)
            resolver = AssetResolver(self.services.sessions, self.services.storage, workspace_id)
            window = spec.get("window")
            plan = plan_edit(
                edit,
                resolver=resolver,
                out_dir=work / "out",
                work_dir=work / "work",
                safe_zones=safe_zones,
                segmenting=_OFF,
                mix_window=None if window is None else (int(window[0]), int(window[1])),
            )
            render_segment(
                plan,
                base_dir=Path.cwd(),
                pointers=spec.get("pointers", {}),
                on_progress=None,
                cancel=self.token,
                timeout=self.services.settings.render_timeout,
            )
            seconds = time.monotonic() - started
            for n, planned in enumerate(plan.outputs):
                name = f"audio-{spec['range']:04d}" if spec.get("kind") == "audio" else f"{index:04d}-{n}"
                key = f"{workspace_id}/{c.render_id}/chunks/a{attempt}-{name}{planned.path.suffix}"
                self.services.storage.put(key, planned.path)
                stored.append(key)
            with self.services.sessions() as db:
                count = rows_updated(
                    db,
                    update(RenderChunk)
                    .where(*_held(c))
                    .values(state="succeeded", files=stored, seconds=seconds, heartbeat_at=utcnow()),
                )
                db.commit()
            if count != 1:
                _remove(self.services, stored)
                return "stopped"
            return "succeeded"
        except RenderCancelled:
            self._give_back()
            _remove(self.services, stored)
            return "stopped"
        except (EditError, SourceError, RenderError) as exc:
            _remove(self.services, stored)
            if self.token.cancelled:
                self._give_back()
                return "stopped"
            self._fail(_error_of(exc, spec.get("pointers", {})))
            return "failed"
        except Exception:
            log.exception("chunk %s of render %s failed unexpectedly", c.chunk_id, c.render_id)
            _remove(self.services, stored)
            self._fail(
                {
                    "kind": "render",
                    "code": "internal",
                    "message": "an unexpected error stopped a chunk of the render",
                }
            )
            return "failed"
        finally:
            self._done.set()
            beating.join(timeout=5)
            shutil.rmtree(work, ignore_errors=True)

    def _give_back(self) -> None:
        if not self._interrupted:
            return
        with self.services.sessions() as db:
            rows_updated(
                db, update(RenderChunk).where(*_held(self.claim)).values(state="queued", worker=None)
            )
            db.commit()

    def _fail(self, error: dict[str, Any]) -> None:
        with self.services.sessions() as db:
            rows_updated(
                db, update(RenderChunk).where(*_held(self.claim)).values(state="failed", error=error)
            )
            db.commit()


def _error_of(exc: Exception, pointers: dict[str, str]) -> dict[str, Any]:
    """A chunk's failure as data, for the parent to raise again as the same kind of error
    (:func:`_raise_chunk_error`), clips named by their pointers in the full edit."""
    if isinstance(exc, RenderError):
        return {
            "kind": "render",
            "code": exc.code,
            "message": exc.message,
            "pointer": exc.pointer,
            "log_tail": list(exc.log_tail),
        }
    if isinstance(exc, SourceError):
        return {"kind": "source", "src": exc.src, "message": exc.reason}
    assert isinstance(exc, EditError)
    problems = [
        {"pointer": pointers.get(p.pointer, p.pointer), "message": p.message, "code": p.code}
        for p in exc.problems
    ]
    return {"kind": "edit", "message": str(exc), "problems": problems}


def _raise_chunk_error(error: dict[str, Any]) -> NoReturn:
    kind = error.get("kind")
    message = str(error.get("message") or "a chunk of the render failed")
    if kind == "source":
        raise SourceError(str(error.get("src")), message)
    if kind == "edit":
        raise EditError([Problem(p["pointer"], p["message"], p["code"]) for p in error.get("problems", [])])
    raise RenderError(
        message,
        code=str(error.get("code") or "ffmpeg_failed"),
        pointer=error.get("pointer"),
        log_tail=tuple(error.get("log_tail") or ()),
    )


def _remove(services: JobContext, keys: list[str]) -> None:
    for key in keys:
        try:
            services.storage.delete(key)
        except Exception:  # an orphan file is better than a masked error
            log.warning("could not remove chunk file %s", key, exc_info=True)


def run_next_chunk(
    services: JobContext,
    worker: str,
    *,
    render_id: str | None = None,
    track: Callable[[ChunkJob | None], None] | None = None,
    parent: CancelToken | None = None,
    audio_only: bool = False,
) -> bool:
    """Claim a chunk (of ``render_id`` only, when given; an audio range, with ``audio_only``)
    and render it; False when there was none. ``track`` hears the job before it runs and None
    after (a worker interrupts it when it stops). The entry point for every kind of worker."""
    claim = claim_chunk(
        services.sessions,
        worker,
        lease=services.settings.render_chunk_lease,
        render_id=render_id,
        audio_only=audio_only,
    )
    if claim is None:
        return False
    job = ChunkJob(services, claim, parent=parent)
    if track is not None:
        track(job)
    try:
        outcome = job.run()
        log.info("chunk %s of render %s: %s", claim.chunk_id, claim.render_id, outcome)
    finally:
        if track is not None:
            track(None)
    return True


class ChunkDispatcher:
    """The :class:`~reelforge.render.engine.SegmentRunner` of a chunked render: queue the
    segments as chunks, render some while waiting, then place every chunk's files where the
    join expects them."""

    def __init__(self, services: JobContext, render_id: str, attempt: int, worker: str):
        self.services = services
        self.render_id = render_id
        self.attempt = attempt
        self.worker = worker
        self.chunk_seconds: list[float] = []
        """How long each chunk's FFmpeg run took (the bench's cost model)."""
        self.range_seconds: list[float] = []
        """How long each audio range's FFmpeg run took (the bench's cost model)."""
        self.mix_seconds = 0.0
        """How long the parent's part of the audio mix took: the join of the ranges and the
        normalising run (or the whole chained mix when there are no ranges); other workers
        render chunks meanwhile."""
        self.chunks_wall_seconds = 0.0
        """From the chunks queued to the last one's files in place (the bench's cost model: the
        rest of the render's time is what only the parent does)."""
        self._placed: set[int] = set()

    def __call__(
        self,
        segmented: SegmentedRender,
        *,
        base_dir: Path,
        on_progress: Callable[[float], None],
        cancel: CancelToken | None,
        time_left: Callable[[], float | None],
        stderr_lines: Callable[[str], None] | None,
        meanwhile: Callable[[], None],
    ) -> None:
        self._forget()  # what an earlier attempt left
        self._placed = set()
        ids = self._queue(segmented)
        queued = time.monotonic()
        try:
            if not segmented.audio_ranges:
                # The chained mix, here, while other workers render chunks.
                self._mix(meanwhile, time.monotonic())
            self._wait(ids, segmented, on_progress, cancel, time_left, meanwhile)
            self.chunks_wall_seconds = time.monotonic() - queued
        finally:
            self._forget()

    def _mix(self, meanwhile: Callable[[], None], started: float) -> None:
        try:
            meanwhile()
        except BaseException:
            self._cancel_chunks()
            raise
        self.mix_seconds = time.monotonic() - started

    def _queue(self, segmented: SegmentedRender) -> list[str]:
        # The audio ranges first (negative positions: claimed before the picture chunks),
        # so that the parent's join and normalising run end before the last chunk does.
        count = len(segmented.audio_ranges)
        specs: list[tuple[int, dict[str, Any]]] = [
            (
                audio_range.index - count,
                {
                    "kind": "audio",
                    "edit": audio_range.edit.model_dump(mode="json", exclude_none=True, warnings=False),
                    "window": list(audio_range.window),
                    "range": audio_range.index,
                    "pointers": dict(audio_range.pointers),
                },
            )
            for audio_range in segmented.audio_ranges
        ]
        specs += [
            (
                segment.index,
                {
                    "edit": segment.plan.edit.model_dump(mode="json", exclude_none=True, warnings=False),
                    "start_frame": segment.start_frame,
                    "frames": segment.frames,
                    "pointers": dict(segment.pointers),
                },
            )
            for segment in segmented.segments
        ]
        ids = [new_id("chk") for _ in specs]
        with self.services.sessions() as db:
            for chunk_id, (index, spec) in zip(ids, specs, strict=True):
                db.add(
                    RenderChunk(
                        id=chunk_id,
                        render_id=self.render_id,
                        attempt=self.attempt,
                        index=index,
                        spec=spec,
                        state="queued",
                        attempts=0,
                        files=[],
                    )
                )
            db.commit()
        # Tell whoever runs renders (the in-process worker, or Celery workers through a nudge
        # per chunk): a free slot claims chunks before renders.
        wake = getattr(self.services, "wake_renders", None)
        if callable(wake):
            for _ in ids:
                wake()
        log.info("render %s: %d chunks queued (%d of them audio ranges)", self.render_id, len(ids), count)
        return ids

    def _wait(
        self,
        ids: list[str],
        segmented: SegmentedRender,
        on_progress: Callable[[float], None],
        cancel: CancelToken | None,
        time_left: Callable[[], float | None],
        meanwhile: Callable[[], None],
    ) -> None:
        frames = {s.index: s.frames for s in segmented.segments}
        ranges = len(segmented.audio_ranges)
        mixed = not ranges
        reported = -1.0
        while True:
            if cancel is not None and cancel.cancelled:
                self._cancel_chunks()
                raise RenderCancelled()
            try:
                time_left()
            except RenderError:
                self._cancel_chunks()
                raise
            with self.services.sessions() as db:
                rows = db.execute(
                    select(
                        RenderChunk.index.label("position"),
                        RenderChunk.state,
                        RenderChunk.error,
                        RenderChunk.files,
                        RenderChunk.seconds,
                    ).where(RenderChunk.id.in_(ids))
                ).all()
            if len(rows) != len(ids):
                raise RenderError("the render's chunks were removed while it ran", code="interrupted")
            failed = next((r for r in rows if r.state in ("failed", "cancelled")), None)
            if failed is not None:
                self._cancel_chunks()
                _raise_chunk_error(
                    dict(
                        failed.error
                        or {"code": "interrupted", "message": "a chunk of the render was cancelled"}
                    )
                )
            # Each chunk's files are fetched as it ends, while the others still render: after
            # the last one only its own files are left to fetch before the join.
            self._place([r for r in rows if r.state == "succeeded"], segmented)
            done = float(sum(frames.get(r.position, 0) for r in rows if r.state == "succeeded"))
            if done != reported:
                reported = done
                on_progress(done)
            if not mixed and all(r.state == "succeeded" for r in rows if r.position < 0):
                # Every range is here: join them and normalise, while chunks still render.
                self._mix(meanwhile, time.monotonic())
                mixed = True
                continue
            if mixed and all(r.state == "succeeded" for r in rows):
                by_index = {r.position: r for r in rows}
                self.chunk_seconds = [float(by_index[s.index].seconds or 0.0) for s in segmented.segments]
                self.range_seconds = [float(by_index[k - ranges].seconds or 0.0) for k in range(ranges)]
                return
            # Help: render a chunk of our own render here (the worker thread is ours anyway).
            # Until the mix's last pass has run, audio ranges only: that pass is what the end of
            # the render waits for, so it starts the moment the last range is in, not after a
            # picture chunk taken meanwhile.
            if run_next_chunk(
                self.services, self.worker, render_id=self.render_id, parent=cancel, audio_only=not mixed
            ):
                continue
            # Closer looks while the last ranges end elsewhere: the mix starts on their heels.
            pause = _POLL if mixed else _POLL / 4
            if cancel is not None:
                cancel.wait(pause)  # at once on cancel
            else:
                time.sleep(pause)

    def _place(self, succeeded: list[Any], segmented: SegmentedRender) -> None:
        """Put the files of the ``succeeded`` chunk rows not yet placed where the join expects
        them."""
        planned_files = {s.index: [o.path for o in s.plan.outputs] for s in segmented.segments}
        count = len(segmented.audio_ranges)
        planned_files.update({r.index - count: [r.path] for r in segmented.audio_ranges})
        for row in succeeded:
            if row.position in self._placed:
                continue
            for path, key in zip(planned_files[row.position], list(row.files), strict=True):
                source = self.services.storage.local_path(key)
                path.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(source, path)  # the same filesystem: no copy
                except OSError:
                    shutil.copyfile(source, path)
            self._placed.add(row.position)

    def _cancel_chunks(self) -> None:
        with self.services.sessions() as db:
            rows_updated(
                db,
                update(RenderChunk)
                .where(
                    RenderChunk.render_id == self.render_id,
                    RenderChunk.state.in_(("queued", "running")),
                )
                .values(state="cancelled"),
            )
            db.commit()

    def _forget(self) -> None:
        forget_chunks(self.services, self.render_id)


def forget_chunks(services: JobContext, render_id: str) -> None:
    """Remove a render's chunk rows and their files (every attempt's): before and after it runs
    them, and when a recovery requeues or fails it."""
    with services.sessions() as db:
        rows = db.execute(
            select(RenderChunk.id, RenderChunk.files).where(RenderChunk.render_id == render_id)
        ).all()
        if not rows:
            return
        # Running chunks first learn that they are cancelled (their heartbeat stops FFmpeg).
        db.execute(delete(RenderChunk).where(RenderChunk.id.in_([r.id for r in rows])))
        db.commit()
    for row in rows:
        _remove(services, list(row.files or []))
