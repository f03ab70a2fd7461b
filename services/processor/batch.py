"""One batch of one partition applied to the processor's state, without Kafka or Faust.

The rules (shared.domain.rules) run on a ``BatchState`` over the committed store; the result is
what the batch writes (state entries), what it sends (rows and account changes), and what it
refuses. An input whose effect would grow a state entry beyond what one changelog record may
hold (a pair flapping ten thousand times, a post id claimed by ten thousand replies…) is found by
bisecting the batch and refused — sent to the dead-letter topic — so that no record can ever stop
the pipeline; the rest of the batch goes on.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from shared.domain.rules import AccountRules, Collector, EventRules
from shared.domain.state import BatchState

# Far below what one changelog record may be (1 MiB in Kafka's and aiokafka's defaults), so that
# an entry, its key and the record's overhead always fit.
MAX_ENTRY_BYTES = 256 * 1024

Read = Callable[[bytes], "bytes | None"]


@dataclass
class Outcome:
    writes: dict[bytes, bytes] = field(default_factory=dict)  # state entries the batch writes
    outputs: list[Collector] = field(default_factory=list)  # in order
    refused: list[tuple[Any, str]] = field(default_factory=list)  # (input, why)
    inputs: int = 0


def apply_events(read: Read, partition: int, inputs: list[tuple[int, Any]]) -> Outcome:
    """Stage 1: (position, Event) pairs of one events-topic partition."""
    return _apply(EventRules, read, partition, inputs)


def apply_changes(read: Read, partition: int, inputs: list[tuple[int, Any]]) -> Outcome:
    """Stage 2: (position, Sequenced change) pairs of one account-changes partition."""
    return _apply(AccountRules, read, partition, inputs)


def _apply(rules: type, read: Read, partition: int, inputs: list[tuple[int, Any]]) -> Outcome:
    state, out = BatchState(read), Collector(partition)
    rules(state, out).apply(inputs)
    writes = dict(state.changes())
    limit = MAX_ENTRY_BYTES
    oversized = [key for key, value in writes.items() if len(value) + len(key) > limit]
    if not oversized:
        return Outcome(writes, [out], [], len(inputs))
    if len(inputs) == 1:
        return Outcome(refused=[(inputs[0][1], f"its effect would make a state entry larger than "
                                               f"{limit} bytes ({_describe(oversized[0])})")],
                       inputs=1)
    half = len(inputs) // 2
    first = _apply(rules, read, partition, inputs[:half])
    second = _apply(rules, _over(first.writes, read), partition, inputs[half:])
    return Outcome({**first.writes, **second.writes}, first.outputs + second.outputs,
                   first.refused + second.refused, len(inputs))


def _over(writes: dict[bytes, bytes], read: Read) -> Read:
    def get(key: bytes) -> bytes | None:
        value = writes.get(key)
        return value if value is not None else read(key)
    return get


def _describe(key: bytes) -> str:
    import msgspec  # noqa: PLC0415 - only for this message

    try:
        return "entry " + repr(msgspec.msgpack.decode(key))[:200]
    except msgspec.DecodeError:
        return f"key {key[:80]!r}"
