"""Properties of the reference's v1.1 figures on random small worlds with all nine event types:
a function of the set of distinct events, money conserved (revenue = orders, refunds never more
than an order's value), repeats and self-reactions counting nothing."""
from collections import defaultdict
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.events import Event
from tests.reference import DAY_MS, compute_views

START = 1_793_491_200_000  # 2026-11-01T00:00:00Z
ACCOUNTS = ("a", "b", "c", "d")
POSTS = ("p1", "p2", "p3")
ORDERS = ("o1", "o2", "o3")

times = st.integers(0, 3 * DAY_MS // 3_600_000).map(lambda hours: START + hours * 3_600_000)  # ties are common
money = st.decimals(min_value=0, max_value=500, places=2)


@st.composite
def worlds(draw) -> list[Event]:
    events: list[Event] = []
    for i in range(draw(st.integers(0, 60))):
        kind = draw(st.sampled_from(("follow", "unfollow", "post", "reply", "click", "share", "like",
                                     "conversion", "refund")))
        ts, actor, target = draw(times), draw(st.sampled_from(ACCOUNTS)), draw(st.sampled_from(ACCOUNTS))
        fields: dict = {}
        if kind in ("follow", "unfollow"):
            if actor == target:
                continue
            fields = {"actor": actor, "target": target}
        elif kind == "post":
            fields = {"actor": actor, "post_id": draw(st.sampled_from(POSTS))}
        elif kind == "reply":
            parent = draw(st.sampled_from(POSTS + ("r0", "r1", "r2")))
            fields = {"actor": actor, "post_id": f"r{i % 3}", "parent_id": parent,
                      "root_id": draw(st.sampled_from(POSTS))}
            if parent == fields["post_id"]:
                continue
        elif kind == "click":
            fields = {"actor": draw(st.sampled_from(ACCOUNTS + (None,))), "target": target}
        elif kind in ("share", "like"):
            fields = {"actor": actor, "target": target, "post_id": draw(st.sampled_from(POSTS))}
        elif kind == "conversion":
            fields = {"actor": draw(st.sampled_from(ACCOUNTS + (None,))), "target": target,
                      "order_id": draw(st.sampled_from(ORDERS)), "value": draw(money)}
        else:
            value = draw(st.none() | money.filter(lambda v: v > 0))
            fields = {"order_id": draw(st.sampled_from(ORDERS)), "value": value}
        events.append(Event(id=f"e{i}", type=kind, ts=ts, received_at=ts, **fields))
    return events


def _without_events_view(views: dict) -> dict:
    return {name: rows for name, rows in views.items() if name != "events"}


@settings(max_examples=150, deadline=None)
@given(world=worlds(), data=st.data())
def test_the_views_depend_on_the_set_of_distinct_events_only(world, data):
    delivery = data.draw(st.permutations(world + data.draw(st.lists(st.sampled_from(world), max_size=10))
                                         if world else []))
    assert compute_views(delivery) == compute_views(world)


@settings(max_examples=150, deadline=None)
@given(world=worlds())
def test_money_is_conserved(world):
    views = compute_views(world)
    orders: dict[str, Event] = {}
    for e in sorted(world, key=lambda e: (e.ts, e.id)):
        if e.type == "conversion":
            orders.setdefault(e.order_id, e)
    revenue, refunded = defaultdict(Decimal), defaultdict(Decimal)
    for row in views["account_daily"]:
        assert row["kept_revenue"] == row["revenue"] - row["refunded"]
        assert row["refunded"] >= 0 and row["conversions"] >= row["follower_conversions"]
        revenue[row["account"]] += row["revenue"]
        refunded[row["account"]] += row["refunded"]
    for account in ACCOUNTS:
        sold = sum((o.value for o in orders.values() if o.target == account), Decimal(0))
        assert revenue[account] == sold
        assert refunded[account] <= sold  # never more back than was paid
    for row in views["followers"]:
        assert row["kept_revenue"] >= 0


@settings(max_examples=150, deadline=None)
@given(world=worlds(), data=st.data())
def test_repeats_and_self_reactions_count_nothing(world, data):
    reactions = [e for e in world if e.type in ("share", "like")]
    if not reactions:
        return
    original = data.draw(st.sampled_from(reactions))
    later = original.ts + data.draw(st.integers(0, DAY_MS))
    repeat = Event(id="zz-repeat", type=original.type, ts=later, received_at=later, actor=original.actor,
                   target=data.draw(st.sampled_from(ACCOUNTS)), post_id=original.post_id)
    self_reaction = Event(id="zz-self", type=original.type, ts=later, received_at=later, actor="e",
                          target="e", post_id=original.post_id)
    assert _without_events_view(compute_views(world + [repeat, self_reaction])) == \
        _without_events_view(compute_views(world))


@settings(max_examples=150, deadline=None)
@given(world=worlds())
def test_thread_figures_are_bounded(world):
    views = compute_views(world)
    received = defaultdict(int)
    for row in views["account_daily"]:
        received["share"] += row["shares_received"]
        received["like"] += row["likes_received"]
    for row in views["threads"]:
        assert row["h_index"] <= min(row["max_depth"], row["replies"])
    assert sum(r["shares"] for r in views["threads"]) <= received["share"]
    assert sum(r["likes"] for r in views["threads"]) <= received["like"]
