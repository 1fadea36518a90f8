"""Tracing with OpenTelemetry, when it is installed (``pip install reelforge[tracing]``) and
configured (``REELFORGE_TRACING_ENDPOINT``); otherwise every function here does nothing, and
nothing imports OpenTelemetry.

Spans: the HTTP request (the API's middleware), every database statement, the queue hop (the
request's W3C trace context is stored with the render it queues and continued by the worker
that runs it, in this process or another), compiling the edit, each FFmpeg run, and each webhook
delivery attempt. Custom attributes use the ``reelforge.`` namespace.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Span, Tracer
    from sqlalchemy.engine import Engine

__all__ = [
    "configure_tracing",
    "continued",
    "current_trace_context",
    "instrument_engine",
    "shutdown_tracing",
    "span",
    "tracing_available",
]

log = logging.getLogger(__name__)

_tracer: Tracer | None = None
_provider: TracerProvider | None = None


def tracing_available() -> bool:
    """The ``tracing`` extra is installed."""
    try:
        import opentelemetry.sdk.trace  # noqa: F401
    except ImportError:
        return False
    return True


def configure_tracing(
    *,
    endpoint: str | None = None,
    exporter: SpanExporter | None = None,
    service_name: str = "reelforge",
    batch: bool = True,
) -> None:
    """Send this process's spans to an OTLP/HTTP ``endpoint`` (``http://collector:4318/v1/traces``)
    or to ``exporter``. Raises RuntimeError, saying what to install, without the extra."""
    global _tracer, _provider
    if not tracing_available():
        raise RuntimeError("tracing needs OpenTelemetry: pip install 'reelforge[tracing]'")
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    if exporter is None:
        if endpoint is None:
            raise ValueError("give an endpoint or an exporter")
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=endpoint)
    shutdown_tracing()
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter))
    _provider = provider
    _tracer = provider.get_tracer("reelforge")


def shutdown_tracing() -> None:
    """Flush and stop this process's spans (at exit; before configuring again)."""
    global _tracer, _provider
    provider, _provider, _tracer = _provider, None, None
    if provider is not None:
        provider.shutdown()


@contextmanager
def span(name: str, *, kind: str = "internal", **attributes: Any) -> Iterator[Span | None]:
    """A span around the block, child of the current one; None (and no cost) when tracing is
    off. An exception leaving the block is recorded and sets the span's status to error."""
    tracer = _tracer
    if tracer is None:
        yield None
        return
    from opentelemetry.trace import SpanKind

    kinds = {
        "internal": SpanKind.INTERNAL,
        "server": SpanKind.SERVER,
        "client": SpanKind.CLIENT,
        "producer": SpanKind.PRODUCER,
        "consumer": SpanKind.CONSUMER,
    }
    values = {k.replace("__", "."): v for k, v in attributes.items() if v is not None}
    with tracer.start_as_current_span(name, kind=kinds[kind], attributes=values) as current:
        yield current


def current_trace_context() -> dict[str, str]:
    """The current span's W3C trace context (``traceparent``, maybe ``tracestate``): what a
    render stores when queued; empty when tracing is off or no span is current."""
    if _tracer is None:
        return {}
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier)
    return carrier


@contextmanager
def continued(carrier: Mapping[str, Any] | None) -> Iterator[None]:
    """Make the trace context in ``carrier`` (headers, or what :func:`current_trace_context`
    stored) the current one in the block, so its spans join that trace."""
    if _tracer is None or not carrier:
        yield
        return
    from opentelemetry import context
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    values = {str(k).lower(): str(v) for k, v in carrier.items() if isinstance(v, str)}
    token = context.attach(TraceContextTextMapPropagator().extract(values))
    try:
        yield
    finally:
        context.detach(token)


def instrument_engine(engine: Engine) -> None:
    """A span per statement the engine runs (``db.query``, with the system and the operation;
    never the parameters). The listeners cost nothing while tracing is off."""
    from sqlalchemy import event

    system = engine.dialect.name

    @event.listens_for(engine, "before_cursor_execute")
    def _start(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        tracer = _tracer
        if tracer is None:
            return
        from opentelemetry.trace import SpanKind

        operation = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""
        started = tracer.start_span(
            f"db {operation}".strip(),
            kind=SpanKind.CLIENT,
            attributes={"db.system.name": system, "db.operation.name": operation},
        )
        conn.info.setdefault("reelforge_spans", []).append(started)

    @event.listens_for(engine, "after_cursor_execute")
    def _end(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        spans = conn.info.get("reelforge_spans")
        if spans:
            spans.pop().end()

    @event.listens_for(engine, "handle_error")
    def _failed(context: Any) -> None:
        conn = context.connection
        spans = conn.info.get("reelforge_spans") if conn is not None else None
        if spans:
            from opentelemetry.trace import Status, StatusCode

            failed = spans.pop()
            failed.set_status(Status(StatusCode.ERROR, type(context.original_exception).__name__))
            failed.end()
