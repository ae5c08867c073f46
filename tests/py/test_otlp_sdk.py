"""The official OpenTelemetry Python SDK exports metrics to Sightline over OTLP/HTTP
and OTLP/gRPC; the series arrive named and labelled per the OpenTelemetry-to-
Prometheus compatibility spec."""
import time

import pytest
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpExporter
from opentelemetry.metrics import Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource


def make_exporter(kind, s):
    if kind == "http":
        return HttpExporter(endpoint=f"http://127.0.0.1:{s.http_port}/v1/metrics")
    if kind == "http-prometheus-path":
        return HttpExporter(endpoint=f"{s.base}/api/v1/otlp/v1/metrics")
    return GrpcExporter(endpoint=f"127.0.0.1:{s.grpc_port}", insecure=True)


def by_labels(rows):
    return {tuple(sorted(r["metric"].items())): r for r in rows}


@pytest.mark.parametrize("kind", ["http", "grpc", "http-prometheus-path"])
def test_sdk_metrics_arrive_as_prometheus_series(sightline, kind):
    resource = Resource.create({
        "service.name": "checkout",
        "service.namespace": "shop",
        "service.instance.id": f"pod-{kind}",
        "deployment.environment": "test",
    })
    reader = PeriodicExportingMetricReader(make_exporter(kind, sightline), export_interval_millis=60_000)
    provider = MeterProvider(resource=resource, metric_readers=[reader])
    meter = provider.get_meter("sightline.e2e", "1.2.3")

    requests_counter = meter.create_counter("http.server.requests", unit="{request}")
    duration = meter.create_histogram("http.server.duration", unit="ms")
    meter.create_observable_gauge("queue.depth", callbacks=[lambda _: [Observation(7, {"queue": "emails"})]])
    for _ in range(5):
        requests_counter.add(1, {"http.route": "/cart", "http.response.status_code": 200})
    requests_counter.add(1, {"http.route": "/cart", "http.response.status_code": 500})
    for v in (3, 12, 12, 450):
        duration.record(v, {"http.route": "/cart"})
    assert provider.force_flush(timeout_millis=10_000)
    provider.shutdown()

    job = "shop/checkout"
    instance = f"pod-{kind}"
    deadline = time.time() + 10
    while time.time() < deadline and not sightline.export(f'{{job="{job}",instance="{instance}"}}'):
        time.sleep(0.2)

    counters = by_labels(sightline.export(f'http_server_requests_total{{instance="{instance}"}}'))
    ok = counters[tuple(sorted({
        "__name__": "http_server_requests_total", "job": job, "instance": instance,
        "http_route": "/cart", "http_response_status_code": "200",
        "otel_scope_name": "sightline.e2e", "otel_scope_version": "1.2.3",
    }.items()))]
    assert ok["values"][-1] == 5
    errors = [r for k, r in counters.items() if ("http_response_status_code", "500") in k]
    assert errors and errors[0]["values"][-1] == 1

    count = sightline.export(f'http_server_duration_milliseconds_count{{instance="{instance}"}}')
    assert count and count[0]["values"][-1] == 4
    total = sightline.export(f'http_server_duration_milliseconds_sum{{instance="{instance}"}}')
    assert total[0]["values"][-1] == 477
    buckets = sightline.export(f'http_server_duration_milliseconds_bucket{{instance="{instance}"}}')
    by_le = {r["metric"]["le"]: r["values"][-1] for r in buckets}
    assert by_le["+Inf"] == 4
    assert by_le["5"] == 1 and by_le["25"] == 3 and by_le["500"] == 4, by_le

    gauge = sightline.export(f'queue_depth{{instance="{instance}"}}')
    assert gauge and gauge[0]["values"][-1] == 7 and gauge[0]["metric"]["queue"] == "emails"

    info = sightline.export(f'target_info{{instance="{instance}"}}')
    assert info, "target_info missing"
    assert info[0]["metric"]["deployment_environment"] == "test"
    assert info[0]["metric"]["job"] == job
