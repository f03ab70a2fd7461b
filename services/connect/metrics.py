"""Prometheus metrics of a connector, in a registry of its own."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class ConnectorMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.messages = Counter("richness_connector_messages", "Stream messages received (events in), by kind",
                                ["kind"], registry=r)
        self.events = Counter("richness_connector_events", "Events sent to the ingest API and answered (events "
                              "out), by outcome: accepted or rejected", ["outcome"], registry=r)
        self.skipped = Counter("richness_connector_skipped", "Messages, or parts of them, that yield no event, "
                               "by reason", ["reason"], registry=r)
        self.lag = Gauge("richness_connector_lag_seconds", "Wall-clock time minus the stream time (time_us) of "
                         "the last message, when it was received", registry=r)
        self.last_message = Gauge("richness_connector_last_message_time_seconds", "Stream time (time_us) of the "
                                  "last message received", registry=r)
        self.cursor = Gauge("richness_connector_cursor_time_seconds", "Stream time up to which every message's "
                            "events are acknowledged by the ingest API: the saved cursor", registry=r)
        self.connected = Gauge("richness_connector_connected", "1 while the stream's WebSocket is open",
                               registry=r)
        self.reconnects = Counter("richness_connector_reconnects", "Connections to the stream lost or refused",
                                  registry=r)
        for outcome in ("accepted", "rejected"):
            self.events.labels(outcome)
