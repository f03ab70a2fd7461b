"""Clients of the ingest API, for the tools that send many batches (import, connect, simulate).

Kept apart from ``services.ingest`` (the server): the two share only the wire format in
``shared.ingest_api``.
"""
