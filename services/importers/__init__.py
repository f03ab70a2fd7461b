"""``richness import``: files of events — the contract's NDJSON/CSV or a platform's own export
(Reddit, Hacker News, Bluesky Jetstream, Mastodon, X archive) — sent through the ingest API.

``engine`` streams any format (read → map → batch → send → checkpoint); ``reading`` holds the
streaming readers, ``checkpoint`` the resume state, ``ids`` the deterministic event ids,
``threads`` the root-finding for platforms whose replies name only their parent, ``detect`` the
format sniffing; ``formats/`` has one small, pure mapping module per platform.
"""
