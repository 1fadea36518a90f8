"""Renders, previews and webhook dispatch on Celery workers (``REELFORGE_QUEUE=celery``).

The database stays the queue: a render is claimed with the same conditional UPDATE
(:func:`reelforge.jobs.queue.claim_next`) and run by the same
:class:`~reelforge.jobs.render_job.RenderJob` as in the server process. A Celery message is only
a *nudge*: "claim the next render and run it". So a message the broker loses, delivers twice or
hands to a worker that dies cannot lose a render or run one twice to completion:

- a duplicated nudge finds nothing left to claim and ends;
- a lost nudge is made up for by every worker's sweep (every ``worker_sweep_interval`` seconds a
  worker with a free slot that sees a claimable render nudges itself);
- a worker killed mid-render stops renewing its claim (the render row's heartbeat, every second):
  once the heartbeat is older than ``worker_stale_after`` a sweep of any worker gives the render
  back to the queue (or fails it after ``max_render_attempts``) and nudges; the dead worker's
  writes are all conditional on its claim, so it cannot finish the render afterwards. Its FFmpeg
  dies with it (see :mod:`reelforge.ffmpeg.runner`).

Tasks are acknowledged late (after they ran) and rejected back to the broker when the process
running them dies, so a nudge a worker took but never acted on goes to another worker; the lease
(heartbeat) covers everything after the claim. No visibility timeout needs to be longer than the
longest render: a redelivered nudge is one more harmless claim attempt.

Cancellation, progress and events go through the database as in-process: the job reads its
render's ``cancel_requested`` at each heartbeat, and the API and its event streams read progress
and events from the database.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import socket
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from celery import Celery

from reelforge.media.ingest import complete_previews, fail_previews, pending_previews

from .chunks import claimable_chunks
from .observers import RenderObserver
from .queue import candidates
from .worker import RenderWorker

if TYPE_CHECKING:
    from reelforge.settings import Settings

    from .context import JobContext

__all__ = [
    "PREVIEW_TASK",
    "QUEUED_ROLES",
    "RENDER_TASK",
    "ROLES",
    "WEBHOOK_TASK",
    "CeleryNudges",
    "WorkerRuntime",
    "make_celery",
    "queue_name",
    "resident_mb",
    "run_worker",
]

log = logging.getLogger("reelforge.worker")

RENDER_TASK = "reelforge.render"
PREVIEW_TASK = "reelforge.preview"
WEBHOOK_TASK = "reelforge.webhooks"
QUEUED_ROLES = ("renders", "previews", "webhooks")
"""What a worker process can do on Celery tasks; each has its queue ``<prefix>.<role>``."""
ROLES = (*QUEUED_ROLES, "deliveries", "retention")
"""All a worker process can do: also background loops that claim their work from the database
(output deliveries, the retention run), made by the caller (:func:`run_worker`'s ``background``)."""

_TASK_ROLE = {RENDER_TASK: "renders", PREVIEW_TASK: "previews", WEBHOOK_TASK: "webhooks"}


def queue_name(settings: Settings, role: str) -> str:
    """The Celery queue of a role (``renders``, ``previews``, ``webhooks``)."""
    return f"{settings.celery_queue_prefix}.{role}"


def make_celery(settings: Settings) -> Celery:
    """The Celery application of these settings: its broker, queues and the delivery guarantees
    the module describes. A worker process binds the tasks to its :class:`WorkerRuntime`
    (:meth:`WorkerRuntime.install`)."""
    if not settings.broker_url:
        raise ValueError("REELFORGE_QUEUE=celery needs REELFORGE_BROKER_URL (redis://… or amqp://…)")
    app = Celery("reelforge", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,  # a busy worker does not sit on nudges an idle one could take
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        task_routes={task: {"queue": queue_name(settings, role)} for task, role in _TASK_ROLE.items()},
        task_default_queue=queue_name(settings, "renders"),
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,  # a broker restart: reconnect for as long as it takes
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        worker_cancel_long_running_tasks_on_connection_loss=False,  # the render's claim decides
        # Redis: an unacknowledged nudge goes back to the queue after this long (a redelivered
        # nudge costs one claim attempt; the render itself is protected by its lease).
        broker_transport_options={"visibility_timeout": 3600},
    )
    for task, role in _TASK_ROLE.items():
        app.task(name=task, bind=True, acks_late=True, reject_on_worker_lost=True)(_task_body(role))
    return app


def _task_body(role: str) -> Callable[..., Any]:
    def run(task: Any, *args: Any) -> Any:
        runtime: WorkerRuntime | None = getattr(task.app, "reelforge_runtime", None)
        if runtime is None:  # a Celery process started without `reelforge worker`
            raise RuntimeError("no Reelforge worker runtime in this Celery process")
        return runtime.handle(role, *args)

    run.__name__ = f"reelforge_{role}"
    return run


_SEND_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
"""A nudge is not worth holding up a request for: with the broker down, give up within about a
second (the workers' sweep finds the work anyway)."""


class CeleryNudges:
    """The messages a process sends to tell Celery workers of new work. Sent from a thread of
    their own: a request never waits for the broker, and with the broker down the nudges are
    dropped (logged) rather than piled up; the workers' sweep finds the work anyway."""

    def __init__(self, app: Celery, settings: Settings):
        self.app = app
        self.settings = settings
        self._pending: queue.SimpleQueue[tuple[str, str, list[Any] | None]] = queue.SimpleQueue()
        self._sender: threading.Thread | None = None
        self._lock = threading.Lock()

    def _post(self, task: str, role: str, args: list[Any] | None = None) -> None:
        self._pending.put((task, role, args))
        with self._lock:
            if self._sender is None or not self._sender.is_alive():
                self._sender = threading.Thread(target=self._send_loop, name="reelforge-nudges", daemon=True)
                self._sender.start()

    def _send_loop(self) -> None:
        while True:
            task, role, args = self._pending.get()
            try:
                self.app.send_task(
                    task, args=args, queue=queue_name(self.settings, role), retry_policy=_SEND_RETRY
                )
            except Exception:
                dropped = 1
                while not self._pending.empty():
                    self._pending.get_nowait()
                    dropped += 1
                log.warning("the broker does not answer: %d nudge(s) dropped", dropped, exc_info=True)

    def render(self, count: int = 1) -> None:
        """Renders were queued: have ``count`` free worker slots claim one each."""
        for _ in range(max(1, count)):
            self._post(RENDER_TASK, "renders")

    def preview(self, asset_id: str) -> None:
        self._post(PREVIEW_TASK, "previews", [asset_id])

    def webhooks(self) -> None:
        self._post(WEBHOOK_TASK, "webhooks")


def resident_mb() -> float:
    """This process's resident memory, MiB (Linux ``/proc``; 0 where unknown)."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


class WorkerRuntime:
    """One ``reelforge worker`` process: its render worker (started without loops of its own:
    Celery's task threads run :meth:`RenderWorker.run_once`), its webhook dispatcher when it has
    the ``webhooks`` role, and the sweep the module describes."""

    def __init__(
        self,
        services: JobContext,
        app: Celery,
        *,
        roles: Iterable[str] = ROLES,
        concurrency: int,
        name: str | None = None,
        max_renders: int = 0,
        max_memory_mb: int = 0,
        observers: Iterable[RenderObserver] = (),
        background: dict[str, Any] | None = None,
    ):
        self.services = services
        self.background = dict(background or {})
        """Helpers with ``start()`` and ``stop()`` run for the non-queued roles, by role."""
        self.app = app
        self.roles = tuple(roles)
        unknown = set(self.roles) - set(ROLES)
        if unknown:
            raise ValueError(f"unknown worker roles: {', '.join(sorted(unknown))}")
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:celery"
        settings = services.settings
        self.renders = RenderWorker(
            services,
            concurrency=concurrency,
            name=self.name,
            stale_after=settings.worker_stale_after,
            recover_interval=settings.worker_sweep_interval,
        )
        for observer in observers:
            self.renders.observers.add(observer)
        self.nudges = CeleryNudges(app, settings)
        self.max_renders = max_renders
        self.max_memory_mb = max_memory_mb
        self.rendered = 0
        """Renders this process ran to an end (any end)."""
        self._count_lock = threading.Lock()
        self._retiring = threading.Event()
        self._dispatcher: Any = None
        self._stopping = threading.Event()
        self._sweeper: threading.Thread | None = None
        self._stop_lock = threading.Lock()
        self._stopped = False

    # ------------------------------------------------------------------ lifecycle

    def install(self) -> None:
        """Bind the tasks of :func:`make_celery` to this runtime (before the worker starts)."""
        self.app.reelforge_runtime = self

    def start(self) -> None:
        self.services.storage.sweep_temp()  # what a killed process left, never a live one's
        if "renders" in self.roles:
            self.renders.start(loops=False)
        if "webhooks" in self.roles:
            from reelforge.webhooks.dispatcher import WebhookDispatcher
            from reelforge.webhooks.signing import SecretBox

            secrets = getattr(self.services, "secrets", None)
            if secrets is None:
                raise RuntimeError("the webhooks role needs the server's secrets")
            self._dispatcher = WebhookDispatcher(
                self.services.sessions,
                self.services.settings,
                SecretBox(secrets.pepper),
                name=f"{self.name}:webhooks",
            )
            self._dispatcher.start()
        for role, helper in self.background.items():
            if role in self.roles:
                helper.start()
                if role == "deliveries":  # a render that made deliveries wakes it
                    self.services.extras["delivery_worker"] = helper
        self._stopping.clear()
        self._sweeper = threading.Thread(target=self._sweep_loop, name="reelforge-sweep", daemon=True)
        self._sweeper.start()
        log.info("worker %s started: %s", self.name, ", ".join(self.roles))

    def stop(self) -> None:
        """Interrupt running renders (back to the queue, nudged) and stop the dispatcher and
        the background helpers (once: later calls do nothing)."""
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
        self._stopping.set()
        if self._sweeper is not None:
            self._sweeper.join(10)
            self._sweeper = None
        if "renders" in self.roles:
            interrupted = self.renders.busy()
            self.renders.stop()
            if interrupted:  # back in the queue: another worker takes them now, not at its sweep
                try:
                    self.nudges.render(interrupted)
                except Exception:
                    log.warning("could not nudge for the interrupted renders", exc_info=True)
        if self._dispatcher is not None:
            self._dispatcher.stop()
            self._dispatcher = None
        for role, helper in self.background.items():
            if role in self.roles:
                helper.stop()

    # ------------------------------------------------------------------ tasks

    def handle(self, role: str, *args: Any) -> Any:
        if role not in self.roles:
            # Routed here although this process does not consume that queue: nothing to do.
            log.warning("a %s task reached worker %s, which does not run %s", role, self.name, role)
            return None
        if role == "renders":
            return self.render()
        if role == "previews":
            return self.preview(str(args[0]))
        if self._dispatcher is not None:
            self._dispatcher.wake()
        return None

    def render(self) -> str | None:
        """Claim one queued render and run it to its end (the render task). Each claim sends
        the next nudge first, so a batch queued with one message spreads over every free slot
        of every worker (a nudge that finds nothing left sends none)."""
        if self._retiring.is_set():
            from celery.exceptions import Reject

            # Back to the broker for another process (this one exits once its renders end).
            raise Reject("the worker is retiring", requeue=True)
        # Chunks of long renders already running come first: their renders wait for them.
        if self.renders.run_chunk():
            # Another chunk or a render may wait: a nudge that finds nothing sends no other.
            self.nudges.render()
            return None
        render_id = self.renders.run_once(on_claim=lambda _claim: self.nudges.render())
        if render_id is not None:
            with self._count_lock:
                self.rendered += 1
                rendered = self.rendered
            if self.max_renders and rendered >= self.max_renders:
                self._retire(f"it ran {rendered} renders")
            elif self.max_memory_mb and resident_mb() > self.max_memory_mb:
                self._retire(f"its resident memory passed {self.max_memory_mb} MiB")
        return render_id

    def preview(self, asset_id: str) -> str | None:
        """Make an asset's deferred previews (recorded once: the write is conditional on the
        asset still waiting for them, so a duplicated task changes nothing)."""
        try:
            return complete_previews(self.services.sessions, self.services.storage, asset_id)
        except Exception:
            log.exception("the previews of asset %s failed", asset_id)
            fail_previews(self.services.sessions, asset_id)
            return None

    def _retire(self, why: str) -> None:
        """Take no more renders; once those running ended, exit as on SIGTERM (a supervisor
        starts a fresh process): renders are never interrupted for it."""
        if self._retiring.is_set():
            return
        self._retiring.set()
        log.info("worker %s retires: %s", self.name, why)

        def wait_then_exit() -> None:
            while self.renders.busy():
                if self._stopping.wait(0.5):
                    return
            os.kill(os.getpid(), signal.SIGTERM)

        threading.Thread(target=wait_then_exit, name="reelforge-retire", daemon=True).start()

    # ------------------------------------------------------------------ the sweep

    def _sweep_loop(self) -> None:
        interval = self.services.settings.worker_sweep_interval
        if "previews" in self.roles:
            try:  # once per process, as the in-process runner does at its start
                for asset_id in pending_previews(self.services.sessions):
                    self.nudges.preview(asset_id)
            except Exception:
                log.warning("worker %s: could not queue the pending previews", self.name, exc_info=True)
        while True:
            try:
                self.sweep()
            except Exception:  # the database or the broker is restarting: next time
                log.warning("worker %s: sweep failed", self.name, exc_info=True)
            if self._stopping.wait(interval):
                return

    def sweep(self) -> int:
        """Recover renders of dead workers, remove dead processes' temporary files and make
        up for lost nudges; return the nudges sent."""
        self.services.storage.sweep_temp()
        if "renders" not in self.roles or self._retiring.is_set():
            return 0
        self.renders.recover_now()
        idle = self.renders.concurrency - self.renders.busy()
        if idle > 0 and self._claimable():
            self.nudges.render(idle)
            return idle
        return 0

    def _claimable(self) -> bool:
        """Whether a worker would claim something now: the same queries as its claims (a render
        awaiting a transcript's approval, or a chunk of an attempt that ended, is not)."""
        settings = self.services.settings
        with self.services.sessions() as db:
            if db.execute(claimable_chunks(settings.render_chunk_lease).limit(1)).first() is not None:
                return True
            quota = settings.max_running_renders_per_workspace
            return db.execute(candidates(quota).limit(1)).first() is not None


def run_worker(
    services: JobContext,
    *,
    roles: Iterable[str],
    concurrency: int,
    name: str | None = None,
    max_memory_mb: int = 0,
    max_renders: int = 0,
    observers: Iterable[RenderObserver] = (),
    background: dict[str, Any] | None = None,
) -> None:
    """Run a Celery worker in this process until it is stopped (SIGTERM or SIGINT: running
    renders are interrupted and go back to the queue at once; the attempt counts).
    ``observers`` hear of the states and progress of its renders."""
    from celery.signals import worker_shutting_down

    # The application the process already made for its nudges (open_services), else a new one.
    nudges = getattr(services, "nudges", None)
    app = nudges.app if isinstance(nudges, CeleryNudges) else make_celery(services.settings)
    runtime = WorkerRuntime(
        services,
        app,
        roles=roles,
        concurrency=concurrency,
        name=name,
        max_renders=max_renders,
        max_memory_mb=max_memory_mb,
        observers=observers,
        background=background,
    )
    runtime.install()

    def shutting_down(**_: Any) -> None:
        # Celery's warm shutdown waits for its tasks: interrupting the renders ends them now.
        threading.Thread(target=runtime.stop, name="reelforge-stop", daemon=True).start()

    worker_shutting_down.connect(shutting_down, weak=False)
    runtime.start()
    try:
        # Threads, not forked processes: renders spend their time in FFmpeg, and the process's
        # database pool, temporary directory and heartbeat serve them all. Previews and webhook
        # wake-ups share the slots (both are short).
        worker = app.Worker(
            pool="threads",
            concurrency=concurrency,
            queues=[queue_name(services.settings, role) for role in runtime.roles if role in QUEUED_ROLES]
            or [queue_name(services.settings, "idle")],  # only background roles: no task comes
            hostname=f"reelforge@{runtime.name}",
            loglevel="INFO",
            without_gossip=True,
            without_mingle=True,
            without_heartbeat=True,
            optimization="fair",
        )
        worker.start()
    finally:
        runtime.stop()
