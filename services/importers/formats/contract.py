"""The contract's own formats: NDJSON (one event a line, sent as it is: the API validates it) and
CSV whose header names contract fields (``id,type,ts,actor,target,post_id,parent_id,root_id,url``;
extra columns are passed on and ignored by the API; an empty cell means the field is absent;
``ts`` is integer epoch milliseconds or RFC 3339)."""
from __future__ import annotations

import re
from typing import Any

import msgspec

from services.importers.mapping import Outcome

_INTEGER = re.compile(r"-?[0-9]+")


def map_line(raw: bytes) -> Outcome:
    return Outcome(events=[raw])  # already JSON: the API validates it


def map_csv_row(row: dict[str, str]) -> Outcome:
    event: dict[str, Any] = {}
    for name, cell in row.items():
        if cell == "":
            continue  # empty cell: the field is absent
        event[name] = int(cell) if name == "ts" and _INTEGER.fullmatch(cell) else cell
    return Outcome(events=[msgspec.json.encode(event)])
