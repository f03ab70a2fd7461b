"""Importing a file of events (NDJSON or CSV) through the ingest API, resumably.

Every event goes through ``POST /v1/events``, so it meets the same validation and the same
durable write as live traffic. After each acknowledged batch, a checkpoint next to the input
(``<file>.richness-import.json``) records how far the file is done; running the import again
continues from there (after a crash, an interrupt, or completion). A batch that was written but
not yet checkpointed is sent again: harmless, since events are deduplicated by id downstream.

CSV: the header names contract fields (``id,type,ts,actor,target,post_id,parent_id,root_id,url``;
extra columns are passed on and ignored by the API); an empty cell means the field is absent;
``ts`` is integer epoch milliseconds or RFC 3339.
"""
from __future__ import annotations

import csv
import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Iterator

import httpx
import msgspec

from services.ingest.client import IngestClient, IngestUnreachable

CHECKPOINT_SUFFIX = ".richness-import.json"
MAX_REPORTED_ERRORS = 20

Progress = Callable[[int, int], None]  # (bytes done, bytes total)
_INTEGER = re.compile(r"-?[0-9]+")


class ImportFailed(RuntimeError):
    """The import cannot go on; what was acknowledged so far stays checkpointed."""


@dataclass
class RejectedLine:
    line: int  # 1-based line number in the input file (for CSV: where the row starts)
    id: str | None
    error: str


@dataclass
class ImportSummary:
    """Totals for the whole file, including earlier runs that this one resumed."""

    sent: int = 0
    accepted: int = 0
    rejected: int = 0
    errors: list[RejectedLine] = field(default_factory=list)  # the first MAX_REPORTED_ERRORS
    resumed_from_line: int = 0  # lines already done before this run (0: started from the top)


@dataclass
class _Batch:
    events: list[bytes]  # one JSON object each
    lines: list[int]  # input line of each event
    local_rejections: list[RejectedLine]  # rows that cannot even be sent (CSV shape errors)
    end_offset: int  # byte offset just after the batch's last line
    end_line: int


def checkpoint_path(path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    return path.with_name(path.name + CHECKPOINT_SUFFIX)


def import_file(path: str | os.PathLike[str], ingest_url: str, api_key: str, batch_size: int = 5000,
                progress: Progress | None = None, *, max_attempts: int = 8, max_backoff_s: float = 10.0,
                max_batch_bytes: int = 4 * 1024 * 1024, timeout_s: float = 120.0) -> ImportSummary:
    """Send the events of an NDJSON or CSV file (by extension; else sniffed) to the ingest API.

    Retries 429/5xx answers and connection errors with exponential backoff (``max_attempts`` per
    batch), then raises ``ImportFailed``; so does a 401 or a refused batch. Rejected events do not
    stop the import: they are counted and the first ones reported with their line numbers.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    path = Path(path)
    stat = path.stat()
    fingerprint = {"input_size": stat.st_size, "input_mtime_ns": stat.st_mtime_ns}
    checkpoint = checkpoint_path(path)
    summary, offset, line = _load_checkpoint(checkpoint, fingerprint)
    summary.resumed_from_line = line
    report = progress or (lambda done, total: None)
    report(offset, stat.st_size)

    sender = _Sender(ingest_url, api_key, max_attempts, max_backoff_s, timeout_s)
    try:
        with open(path, "rb") as file:
            batches = (_csv_batches if _is_csv(path, file) else _ndjson_batches)(
                file, offset, line, batch_size, max_batch_bytes)
            for batch in batches:
                if batch.events:
                    accepted, rejections = sender.send(batch)
                    summary.sent += len(batch.events)
                    summary.accepted += accepted
                else:
                    rejections = []
                rejections += batch.local_rejections
                summary.rejected += len(rejections)
                room = MAX_REPORTED_ERRORS - len(summary.errors)
                summary.errors += sorted(rejections, key=lambda r: r.line)[:max(room, 0)]
                _save_checkpoint(checkpoint, fingerprint, summary, batch.end_offset, batch.end_line)
                report(batch.end_offset, stat.st_size)
    finally:
        sender.close()
    return summary


# --- reading ------------------------------------------------------------------------------------

def _is_csv(path: Path, file: IO[bytes]) -> bool:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return True
    if suffix in (".ndjson", ".jsonl", ".json"):
        return False
    head = file.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    file.seek(0)
    return not head.startswith(b"{")


def _ndjson_batches(file: IO[bytes], offset: int, line: int, batch_size: int,
                    max_bytes: int) -> Iterator[_Batch]:
    file.seek(offset)
    batch, size = _Batch([], [], [], offset, line), 0
    for raw in file:
        line += 1
        offset += len(raw)
        if line == 1:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
        # Blank lines are skipped here exactly as the API skips them, so indexes map to lines.
        if raw.strip():
            batch.events.append(raw.rstrip(b"\r\n"))
            batch.lines.append(line)
            size += len(raw)
        batch.end_offset, batch.end_line = offset, line
        if len(batch.events) >= batch_size or size >= max_bytes:
            yield batch
            batch, size = _Batch([], [], [], offset, line), 0
    yield batch  # the rest (possibly only blank lines: still worth checkpointing)


class _LineTracker:
    """Feeds decoded lines to ``csv.reader`` while counting lines and bytes consumed: when the
    reader yields a row, the tracker stands exactly at the end of that row."""

    def __init__(self, file: IO[bytes], offset: int, line: int) -> None:
        self.file, self.offset, self.line = file, offset, line

    def __iter__(self) -> Iterator[str]:
        for raw in self.file:
            self.line += 1
            self.offset += len(raw)
            try:
                yield raw.decode("utf-8-sig" if self.line == 1 else "utf-8")
            except UnicodeDecodeError:
                raise ImportFailed(f"line {self.line} is not UTF-8 text") from None


def _csv_header(file: IO[bytes]) -> tuple[list[str], int, int]:
    """The header row, and the byte offset and line just after it."""
    file.seek(0)
    tracker = _LineTracker(file, 0, 0)
    header = next(csv.reader(tracker), None)
    if not header or "type" not in header:
        raise ImportFailed("a CSV file needs a header row naming the contract fields (id,type,ts,...)")
    return [name.strip() for name in header], tracker.offset, tracker.line


def _csv_event(header: list[str], row: list[str]) -> bytes:
    event: dict[str, Any] = {}
    for name, cell in zip(header, row, strict=True):
        if cell == "":
            continue  # empty cell: the field is absent
        event[name] = int(cell) if name == "ts" and _INTEGER.fullmatch(cell) else cell
    return msgspec.json.encode(event)


def _csv_batches(file: IO[bytes], offset: int, line: int, batch_size: int,
                 max_bytes: int) -> Iterator[_Batch]:
    header, header_end, header_lines = _csv_header(file)
    if line < header_lines:  # a fresh start
        offset, line = header_end, header_lines
    file.seek(offset)
    tracker = _LineTracker(file, offset, line)
    batch, size = _Batch([], [], [], offset, line), 0
    row_start = line + 1
    for row in csv.reader(tracker):
        if row:
            if len(row) != len(header):
                batch.local_rejections.append(RejectedLine(
                    row_start, None, f"expected {len(header)} CSV columns, got {len(row)}"))
            else:
                encoded = _csv_event(header, row)
                batch.events.append(encoded)
                batch.lines.append(row_start)
                size += len(encoded)
        batch.end_offset, batch.end_line = tracker.offset, tracker.line
        row_start = tracker.line + 1
        if len(batch.events) >= batch_size or size >= max_bytes:
            yield batch
            batch, size = _Batch([], [], [], tracker.offset, tracker.line), 0
    yield batch


# --- checkpoint ---------------------------------------------------------------------------------

def _load_checkpoint(path: Path, fingerprint: dict[str, int]) -> tuple[ImportSummary, int, int]:
    """(summary so far, byte offset, line) to resume from; a fresh start if the input changed."""
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        return ImportSummary(), 0, 0
    if not isinstance(saved, dict) or any(saved.get(k) != v for k, v in fingerprint.items()):
        return ImportSummary(), 0, 0
    summary = ImportSummary(sent=saved["sent"], accepted=saved["accepted"], rejected=saved["rejected"],
                            errors=[RejectedLine(**e) for e in saved["errors"]])
    return summary, saved["offset"], saved["line"]


def _save_checkpoint(path: Path, fingerprint: dict[str, int], summary: ImportSummary, offset: int,
                     line: int) -> None:
    state = {"version": 1, **fingerprint, "offset": offset, "line": line, "sent": summary.sent,
             "accepted": summary.accepted, "rejected": summary.rejected,
             "errors": [asdict(e) for e in summary.errors]}
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(json.dumps(state))
    os.replace(partial, path)  # atomic: a crash leaves the old checkpoint or the new one


# --- sending ------------------------------------------------------------------------------------

class _Sender:
    def __init__(self, ingest_url: str, api_key: str, max_attempts: int, max_backoff_s: float,
                 timeout_s: float) -> None:
        self._client = IngestClient(ingest_url, api_key, max_attempts=max_attempts,
                                    max_backoff_s=max_backoff_s, timeout_s=timeout_s)

    def close(self) -> None:
        self._client.close()

    def send(self, batch: _Batch) -> tuple[int, list[RejectedLine]]:
        """POST one batch until it is answered; (accepted, rejections mapped to input lines)."""
        where = f"lines {batch.lines[0]}-{batch.lines[-1]}"
        try:
            response = self._client.post(b"\n".join(batch.events), "application/x-ndjson")
        except IngestUnreachable as exc:
            raise ImportFailed(f"{where}: {exc}; run the import again to resume") from None
        return self._outcome(response, batch, where)

    @staticmethod
    def _outcome(response: httpx.Response, batch: _Batch, where: str) -> tuple[int, list[RejectedLine]]:
        if response.status_code == 401:
            raise ImportFailed("the ingest API refused the API key (401)")
        if response.status_code == 413:
            raise ImportFailed(f"{where}: batch larger than the ingest API's body limit (413); "
                               "use a smaller batch size")
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code in (202, 400) and "accepted" in body:
            rejections = [RejectedLine(batch.lines[e["index"]], e.get("id"), e["error"]) for e in body["errors"]]
            return body["accepted"], rejections
        detail = body.get("error") if isinstance(body, dict) else None
        raise ImportFailed(f"{where}: the ingest API answered {response.status_code}: "
                           f"{detail or response.text[:200]}")
