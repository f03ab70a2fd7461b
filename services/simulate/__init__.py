"""``richness simulate``: realistic, seeded social activity sent through the ingest API."""
