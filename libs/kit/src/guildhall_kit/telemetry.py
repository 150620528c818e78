"""OpenTelemetry traces and metrics for one service process.

Export is off unless ``GUILDHALL_OTLP_ENDPOINT`` is set: locally the providers
still create spans (so trace ids appear in logs and propagate through Kafka
headers), they are just not shipped anywhere. The grpc (aio server and client)
and pymongo instrumentations are switched on here, once per process.

Kafka is traced by the event bus itself, not by the generic aiokafka
instrumentation: the bus writes exactly one ``traceparent`` header per event
(CloudEvents binary mode), opens a producer span around each publish and a
consumer span around each *handler run* continuing the producer's trace. The
generic instrumentation would add a second ``traceparent`` header and close
its consumer span when the record is fetched, before the handler runs, so the
trace from a request to the effect it caused would break at the consumer.
"""

from __future__ import annotations

from dataclasses import dataclass

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from guildhall_kit.logging import get_logger

_log = get_logger(__name__)


@dataclass
class Telemetry:
    """Handles to the providers; call :meth:`shutdown` on exit to flush."""

    tracer_provider: TracerProvider
    meter_provider: MeterProvider

    def shutdown(self) -> None:
        """Flush and stop exporters. Blocks up to the exporters' timeouts."""
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


DURATION_BUCKETS: tuple[float, ...] = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)
"""Bucket bounds (seconds) of every request-duration histogram: the SDK's default
bounds are for milliseconds and would put every request in the first few."""

_current: Telemetry | None = None


def setup_telemetry(
    service: str,
    otlp_endpoint: str = "",
    *,
    instrument: bool = True,
    metrics_port: int = 0,
    metrics_host: str = "127.0.0.1",
) -> Telemetry:
    """Install global tracer and meter providers for ``service``. Idempotent per process.

    With ``otlp_endpoint`` empty nothing is exported over OTLP. With
    ``metrics_port`` non-zero every metric is also served in the Prometheus text
    format at ``http://metrics_host:metrics_port/metrics`` (docs/metrics.md).
    With ``instrument`` the grpc (aio server and client) and pymongo
    instrumentations are enabled (Kafka spans come from the bus, see the module
    docstring).
    """
    global _current  # noqa: PLW0603 - the providers are process-global by OpenTelemetry's design
    if _current is not None:
        return _current
    resource = Resource.create({"service.name": service, "service.namespace": "guildhall"})
    tracer_provider = TracerProvider(resource=resource)
    readers: list[MetricReader] = []
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        tracer_provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint, insecure=True))
        )
        readers.append(
            PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=otlp_endpoint, insecure=True))
        )
    if metrics_port:
        from opentelemetry.exporter.prometheus import PrometheusMetricReader
        from prometheus_client import start_http_server

        readers.append(PrometheusMetricReader())
        start_http_server(metrics_port, addr=metrics_host)
    meter_provider = MeterProvider(resource=resource, metric_readers=readers)
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)
    if instrument:
        _instrument()
    _current = Telemetry(tracer_provider, meter_provider)
    _log.info("telemetry ready", otlp_export=bool(otlp_endpoint), metrics_port=metrics_port)
    return _current


def _instrument() -> None:
    from opentelemetry.instrumentation.grpc import (
        GrpcAioInstrumentorClient,
        GrpcAioInstrumentorServer,
    )
    from opentelemetry.instrumentation.pymongo import PymongoInstrumentor

    GrpcAioInstrumentorServer().instrument()  # type: ignore[no-untyped-call]
    GrpcAioInstrumentorClient().instrument()  # type: ignore[no-untyped-call]
    PymongoInstrumentor().instrument()
