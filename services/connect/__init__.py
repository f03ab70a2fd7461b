"""Live connectors: a platform's public stream mapped (as by ``services.importers``) and sent
into the ingest API as it happens. ``bluesky``: the Jetstream WebSocket."""
