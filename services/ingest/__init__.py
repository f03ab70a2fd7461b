"""Ingestion service: the event contract (contract §1–2) over HTTP, written durably to Kafka.

``app`` (HTTP surface) -> ``body`` (size limit, framing) -> ``validation`` (per-event contract
checks) -> ``event_log`` (Kafka producer, acks=all). ``server`` runs it under uvicorn;
``services.importers`` feeds files through the same API (with ``services.client``).
"""
