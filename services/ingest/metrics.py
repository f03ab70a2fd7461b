"""Prometheus metrics of the ingest API, in a registry of their own (one per app)."""
from __future__ import annotations

from collections import Counter as Tally

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from shared.events import REJECTION_REASONS


class IngestMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("richness_ingest_requests", "POST /v1/events requests by response status",
                                ["status"], registry=self.registry)
        self.events_accepted = Counter("richness_ingest_events_accepted",
                                       "Events durably written to the event log", registry=self.registry)
        self.events_rejected = Counter("richness_ingest_events_rejected",
                                       "Events rejected by contract validation, by reason", ["reason"],
                                       registry=self.registry)
        self.produce_seconds = Histogram(
            "richness_ingest_produce_seconds", "Time from first send to the last acknowledgement of a request",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30), registry=self.registry)
        self.in_flight = Gauge("richness_ingest_requests_in_flight", "POST /v1/events requests being handled",
                               registry=self.registry)
        # Per API key (label: the key's name, never its secret; unknown keys count only above).
        self.key_requests = Counter("richness_ingest_key_requests", "POST /v1/events requests by API key and status",
                                    ["key", "status"], registry=self.registry)
        self.key_events_accepted = Counter("richness_ingest_key_events_accepted",
                                           "Events durably written to the event log, by API key", ["key"],
                                           registry=self.registry)
        self.key_events_rejected = Counter("richness_ingest_key_events_rejected",
                                           "Events rejected by contract validation, by API key", ["key"],
                                           registry=self.registry)
        # Every reason shows up as 0 from the start, so rate() and alerts work before the first rejection.
        for reason in REJECTION_REASONS:
            self.events_rejected.labels(reason)

    def count_request(self, status: int, key: str | None) -> None:
        self.requests.labels(str(status)).inc()
        if key is not None:
            self.key_requests.labels(key, str(status)).inc()

    def count_accepted(self, count: int, key: str | None) -> None:
        self.events_accepted.inc(count)
        if key is not None:
            self.key_events_accepted.labels(key).inc(count)

    def count_rejections(self, reasons: Tally[str], key: str | None = None) -> None:
        for reason, count in reasons.items():
            self.events_rejected.labels(reason).inc(count)
        if key is not None and reasons:
            self.key_events_rejected.labels(key).inc(sum(reasons.values()))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
