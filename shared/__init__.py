"""Richness's common package: configuration, the event model, topic layout and the adapters
every service shares (Kafka, ClickHouse). Domain rules live here as plain Python too."""
