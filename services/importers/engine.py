"""Importing a file through the ingest API, resumably, whatever its format.

Every event goes through ``POST /v1/events``, so it meets the same validation and the same
durable write as live traffic. Records are read one at a time (``reading``), mapped to contract
events (``formats``), sent in batches, and after each acknowledged batch a checkpoint next to the
input records how far the file is done; running the import again continues from there (after a
crash, an interrupt, or completion). A batch that was written but not yet checkpointed is sent
again: harmless, since events are deduplicated by id downstream.
"""
from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, Callable

import msgspec

from services.client.ingest import NDJSON, IngestClient, IngestError, IngestUnreachable
from services.importers import checkpoint
from services.importers.mapping import Outcome, Unmappable
from services.importers.reading import BadInput, BadRow, Record
from services.importers.sources import ImportOptions, Source, open_source

MAX_REPORTED_ERRORS = 20
MAX_EXAMPLES = 5  # locations kept per skip/note reason

Progress = Callable[[int, int], None]  # (bytes done, bytes total)
Stage = Callable[[str], None]  # what the import is doing now, when it changes


class ImportFailed(RuntimeError):
    """The import cannot go on; what was acknowledged so far stays checkpointed."""


@dataclass
class RejectedLine:
    line: int  # where the record is: its 1-based line, or item number for JSON documents
    id: str | None
    error: str


@dataclass
class Tally:
    """How often one reason came up, and the first places (``at: detail``)."""

    reason: str
    count: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, at: int, detail: str | None) -> None:
        self.count += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(f"{at}: {detail}" if detail else str(at))


@dataclass
class ImportSummary:
    """Totals for the whole file, including earlier runs that this one resumed."""

    format: str = "contract"
    unit: str = "line"  # what RejectedLine.line and the examples count: "line" or "item"
    sent: int = 0
    accepted: int = 0
    rejected: int = 0  # by the API, or records that are not valid objects of their format
    errors: list[RejectedLine] = field(default_factory=list)  # the first MAX_REPORTED_ERRORS
    skipped: dict[str, Tally] = field(default_factory=dict)  # code -> what yielded no event, and why
    derived: dict[str, Tally] = field(default_factory=dict)  # code -> events imported with a derived value
    warnings: list[str] = field(default_factory=list)  # said once for the whole file
    resumed_from: int = 0  # lines or items done before this run (0: started from the top)

    @property
    def resumed_from_line(self) -> int:
        return self.resumed_from

    @classmethod
    def restore(cls, saved: dict[str, Any]) -> ImportSummary:
        summary = cls(**{k: v for k, v in saved.items() if k not in ("errors", "skipped", "derived")})
        summary.errors = [RejectedLine(**e) for e in saved["errors"]]
        summary.skipped = {code: Tally(**t) for code, t in saved["skipped"].items()}
        summary.derived = {code: Tally(**t) for code, t in saved["derived"].items()}
        return summary


@dataclass
class _Batch:
    events: list[bytes] = field(default_factory=list)  # one JSON object each
    at: list[int] = field(default_factory=list)  # the record of each event
    size: int = 0
    # Outcomes of the records completed in this batch: they count once the batch is
    # acknowledged, together with the checkpoint that moves past those records.
    rejections: list[RejectedLine] = field(default_factory=list)
    skips: list[tuple[int, Outcome]] = field(default_factory=list)
    resume: dict[str, Any] | None = None  # after the last record completed in this batch
    read_bytes: int = 0  # how far the file was read when the batch was handed over (progress)


def import_file(path: str | os.PathLike[str], ingest_url: str, api_key: str, batch_size: int = 5000,
                progress: Progress | None = None, *, format: str | None = None,
                options: ImportOptions | None = None, restart: bool = False, stage: Stage | None = None,
                output: IO[bytes] | None = None, max_attempts: int = 8, max_backoff_s: float = 10.0, max_batch_bytes: int = 4 * 1024 * 1024,
                timeout_s: float = 120.0) -> ImportSummary:
    """Send the events of a file to the ingest API; ``format`` None detects it (see ``detect``).

    Retries 429/5xx answers and connection errors with exponential backoff (``max_attempts`` per
    batch), then raises ``ImportFailed``; so does a 401 or a refused batch. Rejected events and
    records that yield no event do not stop the import: they are counted and the first ones
    reported with their place in the file. ``restart`` ignores an earlier run's checkpoint.

    ``output``: write the mapped events there as contract NDJSON instead of sending them (no API,
    no checkpoint; ``accepted`` then counts what was written): to look before sending, or to
    convert a file once.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    path = Path(path)
    options = options or ImportOptions()
    report = progress or (lambda done, total: None)
    announce = stage or (lambda what: None)
    total = path.stat().st_size

    with open(path, "rb") as file:
        try:
            source = open_source(file, path, format, options)
        except (BadInput, ValueError) as exc:
            raise ImportFailed(str(exc)) from None
        try:
            client = None if output is not None else IngestClient(
                ingest_url, api_key, max_attempts=max_attempts, max_backoff_s=max_backoff_s, timeout_s=timeout_s)
            return _Import(source, path, client, output, batch_size, max_batch_bytes, report, announce,
                           restart or output is not None).run(total)
        finally:
            source.close()


class _Import:
    def __init__(self, source: Source, path: Path, client: IngestClient | None, output: IO[bytes] | None,
                 batch_size: int, max_batch_bytes: int, report: Progress, announce: Stage, restart: bool) -> None:
        self.source, self.path = source, path
        self.batch_size, self.max_batch_bytes = batch_size, max_batch_bytes
        self.report, self.announce = report, announce
        self.checkpoint = checkpoint.checkpoint_path(path)
        self.expected = checkpoint.fingerprint(path, format=source.format, options=source.options_key)
        position, saved = (None, None) if restart else checkpoint.load(self.checkpoint, self.expected)
        self.position = position
        self.summary = ImportSummary.restore(saved) if saved else ImportSummary(
            format=source.format, unit=source.reader.unit, warnings=list(source.warnings))
        self.summary.resumed_from = position.get("line", position.get("items", 0)) if position else 0
        self.client, self.output = client, output
        self._sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-send")
        self._in_flight: Future | None = None

    def run(self, total: int) -> ImportSummary:
        self.total = total
        try:
            if self.source.index_links is not None:
                self._index_threads()
            self.report(self._done_bytes(), total)
            batch = _Batch()
            try:
                for record in self.source.reader.records(self.position):
                    batch = self._add(record, batch)
            except BadInput as exc:
                raise ImportFailed(str(exc)) from None
            batch.resume = self.source.reader.end()
            self._flush(batch)
            self._wait_in_flight()
        finally:
            self._sender.shutdown(wait=True)
            if self.client is not None:
                self.client.close()
        return self.summary

    def _done_bytes(self) -> int:
        return (self.position or {}).get("offset", 0)

    def _index_threads(self) -> None:
        """First pass for formats whose replies name only their parent: every post's parent, so
        that each reply's root can be found (``threads``). Skipped for a file indexed before."""
        key = f"{self.expected['input_size']}:{self.expected['input_mtime_ns']}:{self.path.resolve()}"
        index = self.source.index
        if index.has_indexed(key):
            return
        self.announce("finding each reply's conversation root")

        def links():
            for record in self.source.reader.records(None):
                if isinstance(record.value, BadRow):
                    continue
                try:
                    yield from self.source.index_links(record.value)
                except Unmappable:
                    continue  # reported when the record is mapped
        try:
            index.add(links(), key)
        except BadInput as exc:
            raise ImportFailed(str(exc)) from None
        self.announce("writing" if self.output is not None else "sending")

    def _add(self, record: Record, batch: _Batch) -> _Batch:
        if isinstance(record.value, BadRow):
            batch.rejections.append(RejectedLine(record.at, None, str(record.value)))
        else:
            try:
                outcome = self.source.map(record.value)
            except Unmappable as exc:
                batch.rejections.append(RejectedLine(record.at, exc.id, str(exc)))
            else:
                last = len(outcome.events) - 1
                for i, event in enumerate(outcome.events):
                    encoded = event if isinstance(event, bytes) else msgspec.json.encode(event)
                    batch.events.append(encoded)
                    batch.at.append(record.at)
                    batch.size += len(encoded)
                    if i < last and self._full(batch):
                        # A record whose events fill more than a batch: checkpointed up to the
                        # record before it, it completes in the next batch.
                        batch = self._flush(batch)
                if outcome.skips or outcome.notes:
                    batch.skips.append((record.at, outcome))
        batch.resume = record.resume
        return self._flush(batch) if self._full(batch) else batch

    def _full(self, batch: _Batch) -> bool:
        return len(batch.events) >= self.batch_size or batch.size >= self.max_batch_bytes

    def _flush(self, batch: _Batch) -> _Batch:
        """Hand the batch to the sending thread and go on mapping: one batch is in flight while
        the next is read and mapped. Batches are sent, counted and checkpointed in order."""
        self._wait_in_flight()
        batch.read_bytes = self.source.reader.tell()
        if batch.resume is not None:
            self.source.commit()  # mapping state first: a checkpoint must never get ahead of it
        self._in_flight = self._sender.submit(self._complete, batch)
        return _Batch()

    def _wait_in_flight(self) -> None:
        if self._in_flight is not None:
            done, self._in_flight = self._in_flight, None
            done.result()  # re-raises what went wrong while sending

    def _complete(self, batch: _Batch) -> None:
        """Send the batch; once acknowledged, count it and move the checkpoint past the last
        record whose events were all acknowledged (none yet: the summary is saved later)."""
        rejections = list(batch.rejections)
        if batch.events:
            accepted, api_rejections = self._send(batch)
            self.summary.sent += len(batch.events)
            self.summary.accepted += accepted
            rejections += api_rejections
        self.summary.rejected += len(rejections)
        room = max(MAX_REPORTED_ERRORS - len(self.summary.errors), 0)
        self.summary.errors += sorted(rejections, key=lambda r: r.line)[:room]
        for at, outcome in batch.skips:
            for skip in outcome.skips:
                self.summary.skipped.setdefault(skip.code, Tally(skip.reason)).add(at, skip.detail)
            for note in outcome.notes:
                self.summary.derived.setdefault(note.code, Tally(note.reason)).add(at, None)
        if batch.resume is not None and self.output is None:
            checkpoint.save(self.checkpoint, self.expected, batch.resume, asdict(self.summary))
        self.report(batch.read_bytes, self.total)

    def _send(self, batch: _Batch) -> tuple[int, list[RejectedLine]]:
        if self.output is not None:
            self.output.write(b"".join(event + b"\n" for event in batch.events))
            return len(batch.events), []
        where = f"{self.summary.unit}s {batch.at[0]}-{batch.at[-1]}"
        try:
            result = self.client.send(b"\n".join(batch.events), NDJSON)
        except IngestUnreachable as exc:
            raise ImportFailed(f"{where}: {exc}; run the import again to resume") from None
        except IngestError as exc:
            raise ImportFailed(f"{where}: {exc}") from None
        return result.accepted, [RejectedLine(batch.at[e.index], e.id, e.error) for e in result.errors]
