"""The FastAPI application: ``create_app(settings)`` wires database, storage, auth and routers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.concurrency import run_in_threadpool

from reelforge import __version__
from reelforge.metrics import process_exited
from reelforge.services import imports as import_jobs
from reelforge.services import transcripts as transcript_jobs
from reelforge.services import uploads as upload_jobs
from reelforge.services.context import Services, open_services
from reelforge.settings import Settings

from .console import install_console
from .contract import install_contract
from .docs import install_docs
from .idempotency import install_idempotency
from .metrics import MetricsMiddleware
from .middleware import (
    BodyLimitMiddleware,
    RequestContextMiddleware,
    StrictTransportMiddleware,
    TusResumableMiddleware,
)
from .params import refuse_nul_characters
from .problems import install_problem_handlers
from .ratelimit import RateLimiter, RateLimitMiddleware, install_rate_limit_docs
from .routers import accounts as account_routes
from .routers import analytics as analytics_routes
from .routers import asset_versions as asset_version_routes
from .routers import assets, audit, brand_kits, events, keys, projects, renders, system, transcripts
from .routers import batches as batch_routes
from .routers import connected_apps as connected_app_routes
from .routers import destinations as destination_routes
from .routers import outputs as output_routes
from .routers import retention as retention_routes
from .routers import templates as template_routes
from .routers import uploads as upload_routes
from .routers import webhooks as webhook_routes
from .routers import workspaces as workspace_routes

__all__ = ["create_app"]

log = logging.getLogger("reelforge")

DESCRIPTION = """Reelforge renders JSON edits into videos. Authenticate with
`Authorization: Bearer <API key or access token>`. Errors are RFC 9457 problem details; lists
use cursor pagination; every response carries `X-Request-Id`."""


class _WebhookNudges:
    """Stands for the webhook dispatcher where it runs in Celery workers: ``wake`` sends a task."""

    def __init__(self, nudges: Any):
        self._nudges = nudges

    def wake(self) -> None:
        try:
            self._nudges.webhooks()
        except Exception:  # the dispatcher finds due deliveries on its own within seconds
            log.warning("could not wake the webhook dispatcher through the broker", exc_info=True)


def create_app(
    settings: Settings | None = None, *, services: Services | None = None, start_worker: bool = True
) -> FastAPI:
    settings = settings or (services.settings if services else Settings())
    ready: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        svc = app.state.services
        # What processes killed earlier left in the temporary directory (never a live one's),
        # before anything is served: a quick pass, it removes only crash leftovers.
        svc.storage.sweep_temp()
        celery = svc.settings.queue == "celery"
        if start_worker and not celery and svc.settings.workers > 0 and svc.worker is None:
            from reelforge.jobs.worker import RenderWorker

            svc.worker = RenderWorker(svc, concurrency=svc.settings.workers, name=svc.settings.worker_name)
            svc.worker.start()
            ready["worker"] = svc.worker
        if start_worker and svc.settings.webhooks_dispatcher and "webhook_dispatcher" not in svc.extras:
            from reelforge.webhooks.dispatcher import WebhookDispatcher
            from reelforge.webhooks.signing import SecretBox

            name = f"{svc.settings.worker_name}:webhooks" if svc.settings.worker_name else None
            dispatcher = WebhookDispatcher(
                svc.sessions, svc.settings, SecretBox(svc.secrets.pepper), name=name
            )
            dispatcher.start()
            svc.extras["webhook_dispatcher"] = ready["webhook_dispatcher"] = dispatcher
        elif celery and svc.nudges is not None and "webhook_nudges" not in svc.extras:
            # The dispatcher runs in a `reelforge worker --queues webhooks` process: wake it there.
            # Under its own key: it is no loop of this process, so /readyz has nothing to check.
            svc.extras["webhook_nudges"] = ready["webhook_nudges"] = _WebhookNudges(svc.nudges)
        if start_worker and svc.settings.delivery_worker and "delivery_worker" not in svc.extras:
            from reelforge.delivery.worker import DeliveryWorker
            from reelforge.services.destinations import credential_box

            name = f"{svc.settings.worker_name}:delivery" if svc.settings.worker_name else None
            deliverer = DeliveryWorker(
                svc.sessions, svc.storage, svc.settings, credential_box(svc), name=name
            )
            deliverer.start()
            svc.extras["delivery_worker"] = ready["delivery_worker"] = deliverer
        if start_worker and svc.settings.retention_interval > 0 and "retention" not in svc.extras:
            from reelforge.services.retention import RetentionScheduler

            name = f"{svc.settings.worker_name}:retention" if svc.settings.worker_name else None
            scheduler = RetentionScheduler(svc, svc.settings.retention_interval, name=name)
            scheduler.start()
            svc.extras["retention"] = ready["retention"] = scheduler
        svc.previews()  # also queues the previews a stopped process left pending
        import_runner = import_jobs.runner(svc)  # also takes up imports a stopped process left
        transcript_runner = transcript_jobs.runner(svc)  # and transcripts
        await run_in_threadpool(upload_jobs.sweep_expired, svc)
        try:
            yield
        finally:
            import_runner.shutdown()
            svc.extras.pop("import_runner", None)
            transcript_runner.shutdown()
            svc.extras.pop("transcript_runner", None)
            svc.stop_previews()
            if "retention" in ready:
                ready.pop("retention").stop()
                svc.extras.pop("retention", None)
            if "delivery_worker" in ready:
                ready.pop("delivery_worker").stop()
                svc.extras.pop("delivery_worker", None)
            if "webhook_dispatcher" in ready:
                ready.pop("webhook_dispatcher").stop()
                svc.extras.pop("webhook_dispatcher", None)
            if "webhook_nudges" in ready:
                ready.pop("webhook_nudges")
                svc.extras.pop("webhook_nudges", None)
            if "worker" in ready:
                ready.pop("worker").stop()
                svc.worker = None
            process_exited()  # in multiprocess mode, its live-only gauges go with it

    app = FastAPI(
        title="Reelforge",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url=None,  # served from packaged assets by install_docs
        redoc_url=None,
        dependencies=[Depends(refuse_nul_characters)],
    )
    app.state.services = services or open_services(settings)
    install_problem_handlers(app)
    install_contract(app)
    install_docs(app)
    install_idempotency(app)
    app.add_middleware(BodyLimitMiddleware, settings=app.state.services.settings)
    if settings.rate_limiting:  # inside the request id, outside everything that may answer
        app.add_middleware(RateLimitMiddleware, limiter=RateLimiter(settings))  # bad policies fail here
        install_rate_limit_docs(app)
    app.add_middleware(TusResumableMiddleware)  # outside the refusals above: tus answers them too
    app.add_middleware(RequestContextMiddleware)
    if settings.metrics_enabled:  # outside the rest: refusals and their time count too
        app.add_middleware(MetricsMiddleware)
    if settings.hsts_max_age:  # outermost: every answer over TLS, refusals too
        app.add_middleware(StrictTransportMiddleware, max_age=settings.hsts_max_age)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=[
                "X-Request-Id",
                "ETag",
                "Link",
                "Location",
                "RateLimit",
                "RateLimit-Policy",
                "Retry-After",
                "Idempotent-Replayed",
                # tus clients read these (conventions sheet §1.4)
                "Upload-Offset",
                "Upload-Length",
                "Upload-Metadata",
                "Upload-Expires",
                "Upload-Defer-Length",
                "Tus-Resumable",
                "Tus-Version",
                "Tus-Extension",
                "Tus-Max-Size",
                "Tus-Checksum-Algorithm",
                "Reelforge-Asset-Id",
            ],
        )
    app.include_router(system.router)
    app.include_router(keys.router)
    app.include_router(workspace_routes.router)
    app.include_router(asset_version_routes.router)
    for module in (assets, transcripts, projects, renders):
        app.include_router(module.router)
    app.include_router(events.router)
    app.include_router(audit.router)
    app.include_router(webhook_routes.router)
    app.include_router(brand_kits.router)
    app.include_router(batch_routes.router)
    app.include_router(template_routes.router)
    app.include_router(destination_routes.router)
    app.include_router(retention_routes.router)
    app.include_router(output_routes.router)
    app.include_router(analytics_routes.router)
    app.include_router(upload_routes.router)
    app.include_router(account_routes.router)
    app.include_router(connected_app_routes.router)
    install_console(app)
    return app
