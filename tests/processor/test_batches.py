"""The processor's batches without a broker: events in, state writes and outputs out (services/processor/batch.py)."""
from shared.domain.contributions import decode_changes, encode_changes
from shared.domain.rows import AccountDayRow, FollowerRow, ThreadRow
from shared.domain.state import DictStore
from tests.domain.builders import ROOT, click, follow, post, reply, unfollow
from services.processor import batch
from services.processor.batch import apply_changes, apply_events


def numbered(items, first=0):
    return [(first + i, item) for i, item in enumerate(items)]


def test_events_in_state_writes_and_outputs_out():
    store = DictStore()
    outcome = apply_events(store.data.get, 3, numbered([
        post("p", actor="ameena"), reply("r1", "a", ROOT, actor="robert"), follow("f1", "sharon", "ameena"),
        click("c1", "ameena", actor="sharon")]))
    assert outcome.inputs == 4 and outcome.refused == []
    [out] = outcome.outputs
    assert [type(r) for r in out.rows] == [ThreadRow]
    assert {s.account for s in out.changes} == {"ameena"}
    assert {s.source for s in out.changes} == {3}
    assert outcome.writes  # nothing is committed by the batch itself
    assert store.data == {}


def test_changes_in_account_rows_out():
    events = apply_events({}.get, 0, numbered([follow("f1", "sharon", "ameena", ts=5),
                                               click("c1", "ameena", ts=7, actor="sharon")]))
    changes = [c for out in events.outputs for c in out.changes]
    # They travel as records: what arrives is what was encoded.
    changes = decode_changes(encode_changes(changes))
    outcome = apply_changes({}.get, 0, numbered(changes))
    rows = [r for out in outcome.outputs for r in out.rows]
    [day] = [r for r in rows if isinstance(r, AccountDayRow) and r.account == "ameena"]
    assert (day.followers, day.clicks, day.follower_clicks, day.qualifies) == (1, 1, 1, True)
    assert [r.follower for r in rows if isinstance(r, FollowerRow)] == ["sharon"]


def test_a_replayed_batch_of_changes_is_applied_once():
    events = apply_events({}.get, 0, numbered([click("c1", "ameena", ts=7, actor="sharon")]))
    changes = [c for out in events.outputs for c in out.changes]
    store = DictStore()
    first = apply_changes(store.data.get, 1, numbered(changes))
    store.data.update(first.writes)
    again = apply_changes(store.data.get, 1, numbered(changes, first=10))
    assert again.writes == {} or all(store.data.get(k) == v for k, v in again.writes.items())
    assert [r for out in again.outputs for r in out.rows] == []


def test_an_input_that_would_grow_an_entry_beyond_a_record_is_refused_and_the_rest_goes_on(monkeypatch):
    # One pair flapping hundreds of times: its state is one entry, which must stay a record
    # (the limit is lowered to keep the test short; the real one is MAX_ENTRY_BYTES).
    monkeypatch.setattr(batch, "MAX_ENTRY_BYTES", 4096)
    flaps = [(follow if i % 2 == 0 else unfollow)(f"e{i}", "x", "y", ts=i) for i in range(1000)]
    store = DictStore()
    outcome = apply_events(store.data.get, 0, numbered(flaps + [follow("ok", "a", "b", ts=1)]))
    assert outcome.refused, "the pair's entry should have hit the limit"
    assert all(len(k) + len(v) <= 4096 for k, v in outcome.writes.items())
    refused_ids = {event.id for event, _ in outcome.refused}
    assert "ok" not in refused_ids and "e0" not in refused_ids
    assert "state entry larger than" in outcome.refused[0][1]
    accepted = [c for out in outcome.outputs for c in out.changes]
    assert any(s.account == "b" for s in accepted)
