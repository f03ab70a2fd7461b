"""Realistic social activity as contract events, generated deterministically from a seed (no I/O).

The same configuration always yields the same events with the same ids, so sending a simulation
twice changes nothing downstream. Everything random comes from one ``random.Random(seed)`` and
nothing iterates a hash-ordered set, so the output does not depend on ``PYTHONHASHSEED``.

What the data looks like:

- **Accounts.** Each has a Zipf *fitness* (how attractive it is to follow), a lognormal *activity*
  (how often it posts, follows, replies and clicks: many lurkers, a few very active people) and a
  conversational style: how often it answers its commenters, how readily it follows back.
- **Backstory.** The follow graph that exists when the window opens is sent as follows dated in
  the four weeks before it (with follow-backs), so follower counts are right from day one.
  Targets are drawn by fitness: a few big accounts, a long tail of small ones.
- **Each day** (weekends quieter, activity by hour of day): new follows, half by fitness and half
  by preferential attachment (following whom others follow), each followed back with the target's
  reciprocity; unfollows, more often of accounts whose followers get little from them, sometimes
  answered by an unfollow back; posts; for each post a reply tree and clicks.
- **Reply trees.** Followers (weighted by activity) and some strangers reply to the post; the
  owner may answer each commenter, who may answer back, and so on, with a probability decaying
  by depth; other people sometimes join a branch. Depth therefore decays geometrically, and an
  owner who answers gets deep threads. A stranger whom the owner answered may follow the owner.
- **Clicks** on each post's link (or the profile link), mostly from followers, some from
  strangers, some anonymous, spread over the hours after the post.
- **Likes and shares** (contract v1.1): each post has a lognormal *virality*, so most posts get
  none and a few get many; likers and sharers are mostly engaged followers. Some likes are sent
  twice by the same person (a re-tap, counted once) and owners sometimes like or reshare their
  own posts (counted nowhere).
- **Orders** from clicks: a few % of clicks (the account's audience's buying habit) become an
  order credited to the clicked account, shortly after the click, priced in whole cents. About
  10 % of orders are refunded within days, in full or in part; a few are refunded twice (the
  second one asks for more than remains), and a few instant cancellations are stamped by a
  payment system whose clock lags, so the refund comes before its order.

The story the report tells (three named accounts, whatever the seed):

- ``dailybuzz``: the biggest account, posts a lot, never answers nor follows back; many shallow
  replies, clicks and likes in absolute terms, little per follower, its followers churn, and
  what they buy is returned more often than anyone's.
- ``ameena``: a few dozen followers, posts daily, answers everyone; deep conversations, the
  most traffic per follower, and followers who buy and keep what they buy ("money speaks").
- ``robert``: a steady mid-size account (a good subject for a planted engagement drop).

Volumes follow a budget split of ``events`` (an approximate total) between the backstory and the
day-to-day follow churn, posts, replies, clicks, likes and shares (orders and refunds come on top,
about 1 %). The v1.1 activity draws from a random stream of its own.
"""
from __future__ import annotations

import bisect
import hashlib
import heapq
import itertools
import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Iterator

RICH = "ameena"
BIG = "dailybuzz"
STEADY = "robert"
STORY_ACCOUNTS = (BIG, STEADY, RICH)

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MINUTE_S = 60.0
BACKSTORY_DAYS = 28
MAX_DEPTH = 40

# Share of the event budget per kind of activity (orders and refunds, ~1 %, come from clicks).
GRAPH_SHARE = 0.22  # backstory follows + follows/unfollows during the window
POST_SHARE = 0.05
REPLY_SHARE = 0.25
CLICK_SHARE = 0.34
LIKE_SHARE = 0.11
SHARE_SHARE = 0.025
# Daily follow churn during the window, relative to the size of the backstory graph.
DAILY_FOLLOW_GAIN = 0.010
DAILY_UNFOLLOW = 0.004

# Relative activity by UTC hour: quiet nights, a morning rise, an evening peak.
HOURLY_ACTIVITY = (0.30, 0.20, 0.14, 0.10, 0.10, 0.15, 0.30, 0.60, 0.90, 1.10, 1.20, 1.20,
                   1.25, 1.20, 1.10, 1.05, 1.05, 1.10, 1.25, 1.40, 1.45, 1.30, 0.90, 0.50)
WEEKEND_FACTOR = 0.8

STRANGER_REPLY_SHARE = 0.15
STRANGER_CLICK_SHARE = 0.30
ANONYMOUS_STRANGER_CLICKS = 0.40  # of strangers' clicks: no actor at all
PROFILE_CLICK_SHARE = 0.15  # clicks on the profile link rather than a post's
FOLLOW_AFTER_ANSWER = 0.30  # a stranger whom the owner answered follows the owner
UNFOLLOW_BACK = 0.25  # an account unfollowed by a mutual unfollows back
MAX_ACTIVITY = 8.0

# Likes and shares: a post's virality is lognormal with mean 1, so the expected volumes hold while
# most posts get nothing and a few get most of it.
VIRALITY_SIGMA = 1.8
STRANGER_REACTION_SHARE = 0.20
REPEATED_LIKE = 0.03  # a like sent again by the same person (counted once)
SELF_LIKE = 0.04  # per post: the owner likes it (counted nowhere)
SELF_SHARE = 0.01
# Orders and refunds.
BUY_RATE = 0.03  # of clicks, for an ordinary audience
MEDIAN_ORDER_CENTS = 3_500
REFUND_RATE = 0.10
PARTIAL_REFUND = 0.35  # of refunds: part of the order only
SECOND_REFUND = 0.10  # of refunded orders: another refund later, asking for more than remains
INSTANT_CANCEL = 0.15  # of refunds: within minutes, stamped by a clock up to 5 minutes behind

FIRST_NAMES = (
    "aaliyah", "abebe", "adele", "aiko", "alejandro", "amara", "anders", "anouk", "arjun", "astrid",
    "bao", "beatriz", "bilal", "bongani", "carmen", "chen", "chioma", "dara", "dmitri", "elif",
    "emeka", "esther", "fatima", "felix", "farida", "giulia", "goran", "hana", "hamid", "ines",
    "ivan", "jae", "jamal", "jonas", "kalani", "kasia", "keanu", "kemal", "lars", "leila", "lina",
    "luca", "mahmoud", "maren", "mateo", "mei", "milan", "nadia", "naveen", "nia", "noor", "olga",
    "omar", "oskar", "paloma", "priya", "quinn", "rafael", "rania", "rosa", "sakura", "samir",
    "sanna", "sharon", "sione", "tamar", "tariq", "teresa", "thabo", "uma", "valentina", "vikram",
    "wanjiru", "xin", "yara", "yusuf", "zainab", "zoe",
)
HANDLE_WORDS = (
    "reads", "writes", "codes", "cooks", "hikes", "bakes", "builds", "sketches", "sails", "films",
    "garden", "notes", "lab", "studio", "daily", "travels", "tunes", "maps", "photos", "thinks",
    "design", "data", "bikes", "brews", "poems", "science", "history", "climbs", "knits", "plays",
)


@dataclass(frozen=True)
class Drop:
    """A planted engagement drop: on the window's last ``days`` days, ``percent`` % of the
    replies and clicks that ``account`` would have received never happen."""

    account: str
    percent: float = 60.0
    days: int = 1


@dataclass(frozen=True)
class SimulationConfig:
    seed: int
    end: datetime  # the window ends here (exclusive); every event is earlier
    days: int = 14
    events: int = 50_000  # approximate total
    accounts: int | None = None  # default: one account per 40 events, at least 30
    drop: Drop | None = None

    @property
    def account_count(self) -> int:
        return self.accounts if self.accounts is not None else max(30, self.events // 40)

    @property
    def start(self) -> datetime:
        return self.end - timedelta(days=self.days)

    @property
    def id_prefix(self) -> str:
        """Names this simulation's ids. The drop is left out on purpose: a simulation with a drop
        is the same events minus the dropped ones, not a different history."""
        key = f"{self.seed}|{self.days}|{self.events}|{self.account_count}|{_ms(self.end)}"
        return "sim-" + hashlib.sha256(key.encode()).hexdigest()[:10]

    def validate(self) -> None:
        if self.days < 1:
            raise ValueError("days must be at least 1")
        if self.events < 100:
            raise ValueError("events must be at least 100")
        if self.account_count < 10:
            raise ValueError("accounts must be at least 10")
        if self.end.tzinfo is None:
            raise ValueError("end must carry a time zone")
        if self.drop is not None:
            if not 0 < self.drop.percent <= 100:
                raise ValueError("the drop percent must be in (0, 100]")
            if not 1 <= self.drop.days <= self.days:
                raise ValueError("the drop must last between 1 day and the whole window")
            if self.drop.account not in account_names(self.seed, self.account_count):
                raise ValueError(f"no account {self.drop.account!r} in this simulation "
                                 f"(the named ones are {', '.join(STORY_ACCOUNTS)})")


def start_of_today() -> datetime:
    """The default end of the window: today 00:00 UTC, so the last simulated day is a whole day
    and re-running the same command on the same day sends exactly the same events."""
    now = datetime.now(timezone.utc)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def simulate(config: SimulationConfig) -> Iterator[dict]:
    """The simulation's events as contract JSON objects, in (ts, creation) order."""
    config.validate()
    events = _Simulation(config).events()
    if config.drop is not None:
        drop_start = _ms(config.end) - config.drop.days * DAY_MS
        events = plant_drop(events, config.drop, drop_start, config.seed)
    return events


def plant_drop(events: Iterator[dict], drop: Drop, start_ms: int, seed: int) -> Iterator[dict]:
    """Remove ``drop.percent`` % of the engagement ``drop.account`` receives from ``start_ms`` on.

    Decided per click, like, share and order and per reply *branch* (a direct reply to one of the
    account's posts, with everything under it), so the account's received replies fall by the
    same share as the rest and no kept reply answers a removed one. A removed order takes its
    later refunds with it (one stamped before its order stays: a refund of an unknown order, which
    counts nothing). Uses its own random stream, so the rest of the simulation is exactly the same
    as without the drop.
    """
    rng = random.Random(f"drop|{seed}|{drop.account}")
    share = drop.percent / 100
    owned_roots: set[str] = set()
    removed: set[str] = set()  # post_ids of removed replies
    removed_orders: set[str] = set()
    for event in events:
        kind = event["type"]
        if kind == "post" and event["actor"] == drop.account:
            owned_roots.add(event["post_id"])
        elif kind == "reply" and event["root_id"] in owned_roots:
            if event["parent_id"] in removed:
                removed.add(event["post_id"])
                continue
            if (event["parent_id"] == event["root_id"] and event["ts"] >= start_ms
                    and event["actor"] != drop.account and rng.random() < share):
                removed.add(event["post_id"])
                continue
        elif kind in ("click", "like", "share", "conversion") and event["target"] == drop.account \
                and event["ts"] >= start_ms and event.get("actor") != drop.account:
            if rng.random() < share:
                if kind == "conversion":
                    removed_orders.add(event["order_id"])
                continue
        elif kind == "refund" and event["order_id"] in removed_orders:
            continue
        yield event


def account_names(seed: int, count: int) -> list[str]:
    """The story accounts, then ``count - 3`` plausible, unique handles."""
    rng = random.Random(f"names|{seed}")
    names = list(STORY_ACCOUNTS)
    taken = set(names)
    while len(names) < count:
        first = rng.choice(FIRST_NAMES)
        style = rng.random()
        if style < 0.35:
            name = first
        elif style < 0.65:
            name = f"{first}_{rng.choice(HANDLE_WORDS)}"
        elif style < 0.8:
            name = f"{rng.choice(HANDLE_WORDS)}.{first}"
        else:
            name = f"{first}{rng.randrange(1, 1000)}"
        if name in taken:
            name = f"{name}{len(names)}"  # unique: no generated handle ends in this exact count
        if name not in taken:
            taken.add(name)
            names.append(name)
    return names[:count]


# --- the simulation -------------------------------------------------------------------------------

@dataclass
class _Style:
    """How an account behaves."""

    fitness: float  # Zipf weight: how attractive to follow
    activity: float  # how much it does (and how likely it is to interact as a follower)
    posts_per_day: float  # before the global scale for ordinary accounts; absolute for the story
    click_appeal: float  # clicks per follower per post, relative
    reply_appeal: float  # direct replies per follower per post, relative
    answers: float  # probability the owner answers a commenter (before decay)
    answers_back: float  # probability a commenter answers the owner back in its threads
    depth_decay: float  # each level deeper, both probabilities are multiplied by this
    joins: float  # probability someone else joins a branch at a commenter's reply
    follows_back: float  # probability of following back a new follower
    like_appeal: float = 1.0  # likes per follower per post, relative
    share_appeal: float = 1.0  # shares per follower per post, relative
    buy_rate: float = BUY_RATE  # probability that a click on the account's links becomes an order
    refund_rate: float = REFUND_RATE  # probability that an order is refunded
    price: float = 1.0  # the account's shop: order values relative to the median
    scheduled: bool = False  # posts exactly posts_per_day every day, at regular hours


class _Bag:
    """A set with O(1) add, remove and uniform random choice (a list plus positions)."""

    __slots__ = ("items", "positions")

    def __init__(self) -> None:
        self.items: list = []
        self.positions: dict = {}

    def __len__(self) -> int:
        return len(self.items)

    def __contains__(self, item: object) -> bool:
        return item in self.positions

    def add(self, item: object) -> None:
        if item not in self.positions:
            self.positions[item] = len(self.items)
            self.items.append(item)

    def remove(self, item: object) -> None:
        index = self.positions.pop(item)
        last = self.items.pop()
        if index < len(self.items):
            self.items[index] = last
            self.positions[last] = index

    def pick(self, rng: random.Random):
        return self.items[rng.randrange(len(self.items))]


class _Simulation:
    def __init__(self, config: SimulationConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        # Likes, shares, orders and refunds draw from their own stream (and their styles are drawn
        # from it too), so tuning them never reshuffles the follow graph or the conversations.
        self.value_rng = random.Random(f"value|{config.seed}")
        self.names = account_names(config.seed, config.account_count)
        self.start_ms = _ms(config.start)
        self.end_ms = _ms(config.end)
        self.prefix = config.id_prefix
        self.counter = itertools.count(1)
        self.pending: list[tuple[int, int, dict]] = []  # (ts, sequence, event): a min-heap
        self.edges = _Bag()  # (follower, account) of active edges
        self.followers = [_Bag() for _ in self.names]
        self.edge_last_ts: dict[tuple[int, int], int] = {}
        self.styles = self._styles()
        self.activity_cum = list(itertools.accumulate(s.activity for s in self.styles))
        self.fitness_cum = list(itertools.accumulate(s.fitness for s in self.styles))
        self.hour_cum = list(itertools.accumulate(HOURLY_ACTIVITY))
        self.max_unfollow_weight = max(self._unfollow_weight(i) for i in range(len(self.names)))

    # --- accounts ---------------------------------------------------------------------------------
    def _styles(self) -> list[_Style]:
        rng, count = self.rng, len(self.names)
        # Zipf ranks: dailybuzz is the most attractive, robert and ameena fixed further down,
        # everyone else shuffled over the remaining ranks.
        story_ranks = {BIG: 1, STEADY: 3 + round(count * 0.005), RICH: 6 + round(count * 0.015)}
        others = [rank for rank in range(1, count + 1) if rank not in story_ranks.values()]
        rng.shuffle(others)
        ranks = iter(others)
        styles = []
        for name in self.names:
            rank = story_ranks[name] if name in story_ranks else next(ranks)
            answers = rng.betavariate(1.2, 4.0)
            styles.append(_Style(
                fitness=1.0 / rank,
                activity=min(MAX_ACTIVITY, max(0.05, rng.lognormvariate(0.0, 1.0))),
                posts_per_day=0.0,  # set by _scale_engagement once the graph exists
                click_appeal=_clamp(rng.lognormvariate(0.0, 0.4), 0.3, 2.5),
                reply_appeal=_clamp(rng.lognormvariate(0.0, 0.4), 0.3, 2.5),
                answers=answers,
                answers_back=0.2 + 0.4 * answers,
                depth_decay=0.8,
                joins=0.05,
                follows_back=0.1 + 0.7 * answers,  # people who answer also follow back
            ))
        story = {
            BIG: dict(activity=3.0, posts_per_day=4, click_appeal=0.12, reply_appeal=0.25, answers=0.01,
                      answers_back=0.2, depth_decay=0.7, joins=0.03, follows_back=0.005),
            STEADY: dict(activity=2.0, posts_per_day=3, click_appeal=1.5, reply_appeal=1.2, answers=0.3,
                         answers_back=0.35, depth_decay=0.8, joins=0.05, follows_back=0.3),
            RICH: dict(activity=3.0, posts_per_day=1, click_appeal=5.0, reply_appeal=4.0, answers=0.85,
                       answers_back=0.7, depth_decay=0.9, joins=0.12, follows_back=0.75),
        }
        value_rng = self.value_rng
        for style in styles:
            style.like_appeal = _clamp(value_rng.lognormvariate(0.0, 0.5), 0.2, 4.0)
            style.share_appeal = _clamp(value_rng.lognormvariate(0.0, 0.6), 0.1, 4.0)
            style.buy_rate = _clamp(BUY_RATE * value_rng.lognormvariate(0.0, 0.5), 0.005, 0.12)
            style.refund_rate = _clamp(REFUND_RATE * value_rng.lognormvariate(0.0, 0.3), 0.02, 0.3)
            style.price = _clamp(value_rng.lognormvariate(0.0, 0.5), 0.3, 4.0)
        story[BIG].update(like_appeal=0.5, share_appeal=0.3, buy_rate=0.01, refund_rate=0.3, price=0.6)
        story[STEADY].update(like_appeal=1.0, share_appeal=1.0, buy_rate=0.03, refund_rate=0.1, price=1.0)
        story[RICH].update(like_appeal=3.0, share_appeal=3.0, buy_rate=0.08, refund_rate=0.03, price=1.5)
        for name, overrides in story.items():
            style = styles[self.names.index(name)]
            style.scheduled = True
            for attribute, value in overrides.items():
                setattr(style, attribute, value)
        return styles

    def _unfollow_weight(self, account: int) -> float:
        """How likely this account's followers are to leave: more when they get little from it."""
        return 1.0 / (0.5 + self.styles[account].click_appeal)

    # --- the event stream -------------------------------------------------------------------------
    def events(self) -> Iterator[dict]:
        budget = self.config.events
        graph_budget = budget * GRAPH_SHARE
        # During the window the graph gains and loses a small share of its edges per day.
        churn_share = self.config.days * (DAILY_FOLLOW_GAIN + DAILY_UNFOLLOW)
        backstory_edges = graph_budget / (1 + churn_share)
        self._backstory(backstory_edges)
        mean_follow_back = sum(s.follows_back for s in self.styles) / len(self.styles)
        follows_per_day = backstory_edges * DAILY_FOLLOW_GAIN / (1 + mean_follow_back)
        unfollows_per_day = backstory_edges * DAILY_UNFOLLOW
        self._scale_engagement(budget)

        for day in range(self.config.days):
            day_start = self.start_ms + day * DAY_MS
            pace = WEEKEND_FACTOR if _weekday(day_start) >= 5 else 1.0
            for _ in range(_poisson(self.rng, follows_per_day * pace)):
                self._random_follow(self._time_in_day(day_start))
            for _ in range(_poisson(self.rng, unfollows_per_day * pace)):
                self._random_unfollow(self._time_in_day(day_start))
            for account, style in enumerate(self.styles):
                if style.scheduled:
                    for ts in self._schedule(day_start, round(style.posts_per_day)):
                        self._post(account, ts)
                else:
                    for _ in range(_poisson(self.rng, style.posts_per_day * pace)):
                        self._post(account, self._time_in_day(day_start))
            yield from self._due(day_start + DAY_MS)
        # Whatever was scheduled after the window's end has not happened yet.

    def _emit(self, ts: int, event: dict) -> None:
        if ts < self.end_ms:
            sequence = next(self.counter)
            event["id"] = f"{self.prefix}-{sequence}"
            event["ts"] = ts
            heapq.heappush(self.pending, (ts, sequence, event))

    def _due(self, before_ms: int) -> Iterator[dict]:
        while self.pending and self.pending[0][0] < before_ms:
            yield heapq.heappop(self.pending)[2]

    def _new_id(self, kind: str) -> str:
        return f"{self.prefix}-{kind}{next(self.counter)}"

    # --- time -------------------------------------------------------------------------------------
    def _time_in_day(self, day_start: int) -> int:
        hour = _weighted(self.rng, self.hour_cum)
        return day_start + hour * HOUR_MS + self.rng.randrange(HOUR_MS)

    def _schedule(self, day_start: int, posts: int) -> list[int]:
        """A publication schedule: ``posts`` times spread from 08:00 to 20:00 UTC, a little jittered."""
        step = 12 * HOUR_MS // posts
        return [day_start + 8 * HOUR_MS + i * step + self.rng.randrange(HOUR_MS // 2) for i in range(posts)]

    def _later(self, ts: int, median_minutes: float, spread: float = 1.0, rng: random.Random | None = None) -> int:
        """ts plus a lognormal delay (at least a few seconds: an answer follows what it answers)."""
        seconds = (rng or self.rng).lognormvariate(math.log(median_minutes * MINUTE_S), spread)
        return ts + max(5_000, int(seconds * 1000))

    # --- follow graph -----------------------------------------------------------------------------
    def _backstory(self, edges: float) -> None:
        """The graph as it stands when the window opens: out-degrees by activity, targets by
        fitness, follow-backs by the target's reciprocity, dated over the weeks before."""
        rng, count = self.rng, len(self.names)
        mean_follow_back = sum(s.follows_back for s in self.styles) / count
        mean_activity = self.activity_cum[-1] / count
        per_account = edges / count / (1 + mean_follow_back)
        span_start = self.start_ms - BACKSTORY_DAYS * DAY_MS
        for account, style in enumerate(self.styles):
            wanted = min(count - 1, _poisson(rng, per_account * style.activity / mean_activity))
            chosen = 0
            for _ in range(wanted * 20):  # fitness is skewed: draws repeat, so allow retries
                if chosen == wanted:
                    break
                target = self._by_fitness()
                if target != account and (account, target) not in self.edges:
                    day = span_start + rng.randrange(BACKSTORY_DAYS) * DAY_MS
                    self._follow(account, target, self._time_in_day(day))
                    chosen += 1

    def _random_follow(self, ts: int) -> None:
        for _ in range(5):
            follower = self._by_activity()
            # Half by fitness, half by preferential attachment: the target of a random edge is
            # an account chosen in proportion to its current followers.
            target = self.edges.pick(self.rng)[1] if self.edges and self.rng.random() < 0.5 else self._by_fitness()
            if follower != target and (follower, target) not in self.edges:
                self._follow(follower, target, ts)
                return

    def _follow(self, follower: int, account: int, ts: int, may_follow_back: bool = True) -> None:
        ts = self._edge_event(follower, account, ts, "follow")
        self.edges.add((follower, account))
        self.followers[account].add(follower)
        if (may_follow_back and (account, follower) not in self.edges
                and self.rng.random() < self.styles[account].follows_back):
            self._follow(account, follower, self._later(ts, 180), may_follow_back=False)

    def _random_unfollow(self, ts: int) -> None:
        if not self.edges:
            return
        for _ in range(20):
            follower, account = self.edges.pick(self.rng)
            if self.rng.random() * self.max_unfollow_weight < self._unfollow_weight(account):
                break
        self._unfollow(follower, account, ts)
        if (account, follower) in self.edges and self.rng.random() < UNFOLLOW_BACK:
            self._unfollow(account, follower, self._later(ts, 240))

    def _unfollow(self, follower: int, account: int, ts: int) -> None:
        self._edge_event(follower, account, ts, "unfollow")
        self.edges.remove((follower, account))
        self.followers[account].remove(follower)

    def _edge_event(self, follower: int, account: int, ts: int, kind: str) -> int:
        # One edge's events stay in the order they were decided, whatever their delays.
        ts = max(ts, self.edge_last_ts.get((follower, account), 0) + 1_000)
        self.edge_last_ts[(follower, account)] = ts
        self._emit(ts, {"type": kind, "actor": self.names[follower], "target": self.names[account]})
        return ts

    # --- who -----------------------------------------------------------------------------------
    def _by_activity(self) -> int:
        return _weighted(self.rng, self.activity_cum)

    def _by_fitness(self) -> int:
        return _weighted(self.rng, self.fitness_cum)

    def _engaged_follower(self, account: int, rng: random.Random | None = None) -> int:
        """A follower of the account, in proportion to the square of its activity: a core of active
        followers does most of the engaging and lurkers almost never do (silent followers)."""
        rng = rng or self.rng
        followers = self.followers[account]
        best = followers.pick(rng)
        for _ in range(60):  # rejection sampling; acceptance averages about 1 in 12
            candidate = followers.pick(rng)
            activity = self.styles[candidate].activity
            if rng.random() * MAX_ACTIVITY ** 2 < activity ** 2:
                return candidate
            if activity > self.styles[best].activity:
                best = candidate
        return best

    def _replier(self, owner: int) -> int | None:
        if self.followers[owner] and self.rng.random() >= STRANGER_REPLY_SHARE:
            return self._engaged_follower(owner)
        stranger = self._by_activity()
        return None if stranger == owner else stranger

    def _clicker(self, owner: int) -> int | None:
        """Who clicked; None for an anonymous click."""
        if self.followers[owner] and self.rng.random() >= STRANGER_CLICK_SHARE:
            return self._engaged_follower(owner)
        if self.rng.random() < ANONYMOUS_STRANGER_CLICKS:
            return None
        stranger = self._by_activity()
        return None if stranger == owner else stranger

    # --- posts, conversations, clicks -------------------------------------------------------------
    def _scale_engagement(self, budget: int) -> None:
        """Set posting rates and the per-post reply and click scales so that the window's
        expected volumes match the budget, given the graph as it stands now."""
        days = self.config.days
        story = [self.names.index(name) for name in STORY_ACCOUNTS]
        story_posts = sum(self.styles[i].posts_per_day for i in story) * days
        ordinary_posts = max(budget * POST_SHARE - story_posts, budget * POST_SHARE * 0.1)
        ordinary_activity = sum(s.activity for i, s in enumerate(self.styles) if i not in story)
        for i, style in enumerate(self.styles):
            if i not in story:
                style.posts_per_day = ordinary_posts / days * style.activity / ordinary_activity
        click_weight = reply_weight = like_weight = share_weight = 0.0
        for account, style in enumerate(self.styles):
            audience = len(self.followers[account]) + 1
            click_weight += style.posts_per_day * style.click_appeal * audience
            reply_weight += (style.posts_per_day * style.reply_appeal * audience ** 0.8
                             * expected_branch_size(style))
            like_weight += style.posts_per_day * style.like_appeal * audience
            share_weight += style.posts_per_day * style.share_appeal * audience
        self.clicks_per_appeal = budget * CLICK_SHARE / (click_weight * days)
        self.replies_per_appeal = budget * REPLY_SHARE / (reply_weight * days)
        self.likes_per_appeal = budget * LIKE_SHARE / (like_weight * days)
        self.shares_per_appeal = budget * SHARE_SHARE / (share_weight * days)

    def _post(self, owner: int, ts: int) -> None:
        style = self.styles[owner]
        root = self._new_id("post")
        self._emit(ts, {"type": "post", "actor": self.names[owner], "post_id": root})
        audience = len(self.followers[owner]) + 1
        for _ in range(_poisson(self.rng, self.replies_per_appeal * style.reply_appeal * audience ** 0.8)):
            replier = self._replier(owner)
            if replier is not None:
                self._conversation(owner, root, replier, self._later(ts, 25, 1.2))
        for _ in range(_poisson(self.rng, self.clicks_per_appeal * style.click_appeal * audience)):
            self._click(owner, root, self._later(ts, 40, 1.2))
        self._reactions(owner, root, ts, audience)

    def _conversation(self, owner: int, root: str, first_replier: int, ts: int) -> None:
        """A branch under the post: a reply, then the owner and the commenter answering each other
        with probabilities decaying by depth; others may join at a commenter's reply."""
        style = self.styles[owner]
        branches = [(root, first_replier, ts, 1)]  # (parent, commenter, ts, depth)
        while branches:
            parent, commenter, ts, depth = branches.pop()
            node, speaker, answered = parent, commenter, False
            while ts < self.end_ms and depth <= MAX_DEPTH:
                node = self._reply(speaker, node, root, ts)
                decay = style.depth_decay ** (depth - 1)
                if speaker == owner:
                    if (not answered and commenter not in self.followers[owner]
                            and self.rng.random() < FOLLOW_AFTER_ANSWER):
                        self._follow(commenter, owner, self._later(ts, 60))
                    answered = True
                    speaker, chance = commenter, style.answers_back * decay
                else:
                    if self.rng.random() < style.joins * decay:
                        joiner = self._replier(owner)
                        if joiner not in (None, owner, commenter):
                            branches.append((node, joiner, self._later(ts, 40), depth + 1))
                    speaker, chance = owner, style.answers * decay
                if self.rng.random() >= chance:
                    break
                ts, depth = self._later(ts, 45 if speaker == owner else 30), depth + 1

    def _reply(self, actor: int, parent: str, root: str, ts: int) -> str:
        reply = self._new_id("reply")
        self._emit(ts, {"type": "reply", "actor": self.names[actor], "post_id": reply,
                        "parent_id": parent, "root_id": root})
        return reply

    def _click(self, owner: int, post: str, ts: int) -> None:
        name = self.names[owner]
        event: dict = {"type": "click", "target": name}
        clicker = self._clicker(owner)
        if clicker is not None:
            event["actor"] = self.names[clicker]
        if self.rng.random() < PROFILE_CLICK_SHARE:
            event["url"] = f"https://{name.replace('_', '-')}.example.org/"
        else:
            event["post_id"] = post
            event["url"] = f"https://{name.replace('_', '-')}.example.org/posts/{post}"
        self._emit(ts, event)
        if self.value_rng.random() < self.styles[owner].buy_rate:
            self._order(owner, clicker, event.get("post_id"), ts)

    # --- likes, shares, orders, refunds (contract v1.1) -------------------------------------------
    def _reactions(self, owner: int, post: str, ts: int, audience: int) -> None:
        """The post's likes and shares: heavy-tailed through its virality, mostly from followers."""
        rng, style, name = self.value_rng, self.styles[owner], self.names[owner]
        virality = rng.lognormvariate(-VIRALITY_SIGMA ** 2 / 2, VIRALITY_SIGMA)  # mean 1
        for kind, per_appeal, appeal, spread in (("like", self.likes_per_appeal, style.like_appeal, 1.3),
                                                 ("share", self.shares_per_appeal, style.share_appeal, 1.5)):
            for _ in range(_poisson(rng, per_appeal * appeal * audience * virality)):
                actor = self._reactor(owner)
                if actor is None:
                    continue
                when = self._later(ts, 60, spread, rng)
                event = {"type": kind, "actor": self.names[actor], "target": name, "post_id": post}
                if kind == "share" and rng.random() < 0.5:
                    event["url"] = f"https://{name.replace('_', '-')}.example.org/posts/{post}"
                self._emit(when, event)
                if kind == "like" and rng.random() < REPEATED_LIKE:
                    self._emit(self._later(when, 30, 1.5, rng), dict(event))
        if rng.random() < SELF_LIKE:
            self._emit(self._later(ts, 5, 1.0, rng), {"type": "like", "actor": name, "target": name, "post_id": post})
        if rng.random() < SELF_SHARE:
            self._emit(self._later(ts, 240, 1.0, rng),
                       {"type": "share", "actor": name, "target": name, "post_id": post})

    def _reactor(self, owner: int) -> int | None:
        """Who likes or shares: mostly engaged followers, some strangers (never the owner here)."""
        if self.followers[owner] and self.value_rng.random() >= STRANGER_REACTION_SHARE:
            return self._engaged_follower(owner, self.value_rng)
        stranger = _weighted(self.value_rng, self.activity_cum)
        return None if stranger == owner else stranger

    def _order(self, owner: int, buyer: int | None, post: str | None, click_ts: int) -> None:
        """An order after a click (anonymous when the click was), and maybe its refunds."""
        rng, style, name = self.value_rng, self.styles[owner], self.names[owner]
        order_id = self._new_id("order")
        cents = max(100, round(MEDIAN_ORDER_CENTS * style.price * rng.lognormvariate(0.0, 0.8)))
        value = Decimal(cents).scaleb(-2)  # whole cents: money never goes through a float
        ts = self._later(click_ts, 12, 1.0, rng)
        order: dict = {"type": "conversion", "target": name, "order_id": order_id, "value": value,
                       "url": f"https://shop.{name.replace('_', '-')}.example.org/orders/{order_id}"}
        if buyer is not None:
            order["actor"] = self.names[buyer]
        if post is not None:
            order["post_id"] = post
        self._emit(ts, order)
        if rng.random() >= style.refund_rate:
            return
        refund: dict = {"type": "refund", "order_id": order_id}
        if buyer is not None:
            refund["actor"] = self.names[buyer]
        if rng.random() < INSTANT_CANCEL:
            # The payment system's clock lags by up to 5 minutes: the refund may predate its order.
            # Never before the click, so the stream stays in time order.
            when = max(click_ts, ts + rng.randrange(10_000, 120_000) - rng.randrange(300_000))
        else:
            when = self._later(ts, 3 * 24 * 60, 0.8, rng)
        if rng.random() < PARTIAL_REFUND:
            refund["value"] = (value * Decimal(rng.randrange(10, 90)) / 100).quantize(Decimal("0.01"))
        self._emit(when, refund)
        if rng.random() < SECOND_REFUND:
            again = {**refund, "value": value}  # asks for the whole order again: gets what remains
            self._emit(self._later(max(when, ts), 2 * 24 * 60, 0.8, rng), again)


def expected_branch_size(style: _Style) -> float:
    """Expected replies in one branch started by a direct reply (the owner and the commenter
    answering each other, plus joiners), by backward induction over depth."""
    commenter_node = owner_node = 1.0  # expected subtree sizes below MAX_DEPTH
    for depth in range(MAX_DEPTH, 0, -1):
        decay = style.depth_decay ** (depth - 1)
        commenter_node, owner_node = (
            1 + style.answers * decay * owner_node + style.joins * decay * commenter_node,
            1 + style.answers_back * decay * commenter_node,
        )
    return commenter_node


# --- helpers ------------------------------------------------------------------------------------

def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _weekday(ms: int) -> int:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).weekday()


def _weighted(rng: random.Random, cumulative: list[float]) -> int:
    """An index drawn in proportion to the weights whose running sums are ``cumulative``."""
    index = bisect.bisect_right(cumulative, rng.random() * cumulative[-1])
    return min(index, len(cumulative) - 1)  # rounding may land exactly on the total


def _clamp(value: float, low: float, high: float) -> float:
    return min(high, max(low, value))


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 40:  # normal approximation; Knuth's method would underflow and crawl
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count
