"""The contract's example events (contract §1), shared by the tests that replay them."""

CONTRACT_EXAMPLES = [
    {"id": "e1", "type": "post", "ts": "2026-11-20T09:00:00Z", "actor": "ameena", "post_id": "p1"},
    {"id": "e2", "type": "reply", "ts": "2026-11-20T09:05:00Z", "actor": "robert", "post_id": "r1",
     "parent_id": "p1", "root_id": "p1"},
    {"id": "e3", "type": "reply", "ts": "2026-11-20T09:30:00Z", "actor": "ameena", "post_id": "r2",
     "parent_id": "r1", "root_id": "p1"},
    {"id": "e4", "type": "follow", "ts": "2026-11-20T10:00:00Z", "actor": "sharon", "target": "ameena"},
    {"id": "e5", "type": "click", "ts": 1763632800000, "actor": None, "target": "ameena", "post_id": "p1",
     "url": "https://example.org/a"},
]
