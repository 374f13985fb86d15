"""service/metrics.py on prometheus_client: the names, labels and values the docs and alerts read."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from service.metrics import Metrics


def _samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(metrics.render())
        for s in family.samples
    }


def test_observations_are_exposed_under_the_documented_names():
    metrics = Metrics()
    for ms in (0.4, 0.8, 30.0):
        metrics.observe_latency("rest", ms)
    metrics.count_prediction("rest", "approve")
    metrics.count_prediction("rest", "approve")
    metrics.count_prediction("gradio_api", "refuse")
    metrics.count_error("rest", "log_write_failed")
    metrics.count_unauthenticated("rest")
    metrics.gauges["gradio_fast_path"] = 1
    samples = _samples(metrics)
    rest = (("channel", "rest"),)
    assert samples[("scoring_request_latency_ms_count", rest)] == 3
    assert samples[("scoring_request_latency_ms_sum", rest)] == 31.2
    assert samples[("scoring_request_latency_ms_bucket", (("channel", "rest"), ("le", "1.0")))] == 2
    assert samples[("scoring_request_latency_ms_bucket", (("channel", "rest"), ("le", "+Inf")))] == 3
    assert samples[("scoring_predictions_total", (("channel", "rest"), ("decision", "approve")))] == 2
    assert samples[("scoring_errors_total", (("channel", "rest"), ("kind", "log_write_failed")))] == 1
    assert samples[("scoring_unauthenticated_total", (("door", "rest"),))] == 1
    assert samples[("gradio_fast_path", ())] == 1
    assert metrics.predictions_total() == 3
    assert any(name == "process_cpu_seconds_total" for name, _ in samples)  # what the switch brought


def test_two_registries_do_not_share_counts():
    first, second = Metrics(), Metrics()
    first.count_prediction("rest", "approve")
    assert second.predictions_total() == 0 and first.predictions_total() == 1
