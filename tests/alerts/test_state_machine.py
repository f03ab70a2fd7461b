"""The alert state machine (shared/alerting/state.py): pending → firing → resolved, each change once."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.alerting.state import FIRING, PENDING, Observation, from_json, parse_duration, step, to_json

T0 = datetime(2026, 11, 20, 6, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)
RULES = {"drop": 2 * HOUR, "instant": timedelta(0)}


def seen(account: str, rule: str = "drop", value: float = 0.6) -> Observation:
    return Observation(rule, {"alertname": rule, "account": account}, {"summary": f"{account} dropped"}, {"B": value})


def run(evaluations):
    """Feed (time, observations) in order; every transition as (hours after T0, status, account)."""
    states, log = {}, []
    for at, observed in evaluations:
        states, transitions = step(states, at, RULES, RULES, observed)
        log += [((t.at - T0) / HOUR, t.status, t.instance.labels["account"]) for t in transitions]
    return states, log


def test_a_condition_held_for_the_rules_for_fires_once_then_resolves_once():
    states, log = run([(T0 + h * HOUR, [seen("robert")]) for h in range(5)] + [(T0 + 5 * HOUR, [])])
    assert log == [(2.0, "firing", "robert"), (5.0, "resolved", "robert")]
    assert states == {}


def test_pending_until_the_for_has_passed():
    states, log = run([(T0, [seen("robert")]), (T0 + 119 * timedelta(minutes=1), [seen("robert")])])
    assert log == [] and [i.state for i in states.values()] == [PENDING]


def test_a_pending_alert_that_stops_holding_is_forgotten_without_a_notification():
    states, log = run([(T0, [seen("robert")]), (T0 + HOUR, []), (T0 + 2 * HOUR, [seen("robert")]),
                       (T0 + 3 * HOUR, [seen("robert")])])
    assert log == []  # the second run started at 2 h: not yet held for 2 h
    assert [i.active_since for i in states.values()] == [T0 + 2 * HOUR]


def test_for_zero_fires_at_the_first_evaluation():
    _, log = run([(T0, [seen("robert", rule="instant")])])
    assert log == [(0.0, "firing", "robert")]


def test_a_steady_account_and_a_firing_one_are_independent():
    _, log = run([(T0 + h * HOUR, [seen("robert", rule="instant")]) for h in range(3)])
    assert log == [(0.0, "firing", "robert")]  # never repeated while it keeps firing


def test_each_account_is_its_own_instance():
    _, log = run([(T0, [seen("a", "instant"), seen("b", "instant")]), (T0 + HOUR, [seen("b", "instant")])])
    assert sorted(log) == [(0.0, "firing", "a"), (0.0, "firing", "b"), (1.0, "resolved", "a")]


def test_a_firing_alert_keeps_its_start_and_shows_the_latest_values():
    states, _ = run([(T0, [seen("robert", "instant", 0.6)]), (T0 + HOUR, [seen("robert", "instant", 0.7)])])
    [instance] = states.values()
    assert instance.fired_at == T0 and instance.values == {"B": 0.7}


def test_a_rule_that_could_not_be_evaluated_keeps_its_alerts_as_they_are():
    states, transitions = step({}, T0, RULES, ["instant", "drop"], [seen("a", "instant"), seen("b", "drop")])
    assert [t.status for t in transitions] == ["firing"]
    # ClickHouse is down: nothing evaluated. Nothing resolves, and the pending one does not fire.
    later, transitions = step(states, T0 + 3 * HOUR, RULES, [], [])
    assert transitions == [] and later == states


def test_a_rule_that_disappeared_resolves_its_firing_alerts():
    states, _ = step({}, T0, RULES, ["instant"], [seen("a", "instant")])
    after, transitions = step(states, T0 + HOUR, {"drop": 2 * HOUR}, ["drop"], [])
    assert [(t.status, t.instance.rule_uid) for t in transitions] == [("resolved", "instant")] and after == {}


def test_a_clock_going_backwards_does_not_fire_early():
    states, _ = step({}, T0, RULES, RULES, [seen("a")])
    states, transitions = step(states, T0 - 5 * HOUR, RULES, RULES, [seen("a")])
    assert transitions == [] and [i.state for i in states.values()] == [PENDING]


def test_observations_must_come_from_evaluated_rules():
    with pytest.raises(ValueError, match="not evaluated"):
        step({}, T0, RULES, ["drop"], [seen("a", "instant")])
    with pytest.raises(ValueError, match="without a `for`"):
        step({}, T0, RULES, ["unknown"], [])


def test_the_states_survive_a_round_trip_through_json_and_continue_the_same():
    states, _ = run([(T0, [seen("o'brien ü")]), (T0 + 2 * HOUR, [seen("o'brien ü"), seen("x", "instant")])])
    restored = from_json(to_json(states))
    assert restored == states and {i.state for i in restored.values()} == {FIRING}
    _, transitions = step(restored, T0 + 3 * HOUR, RULES, RULES, [seen("o'brien ü"), seen("x", "instant")])
    assert transitions == []  # a restart repeats nothing


@pytest.mark.parametrize("text, expected", [("2h", 2 * HOUR), ("1h30m", 1.5 * HOUR), ("0s", timedelta(0)),
                                            ("90s", timedelta(seconds=90)), ("1d", 24 * HOUR)])
def test_durations(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "2", "2 h", "h", "-1m", "1.5h"])
def test_bad_durations_are_refused(text):
    with pytest.raises(ValueError):
        parse_duration(text)
