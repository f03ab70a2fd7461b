"""A terminal report over the contract views, read with the read-only ClickHouse user.

Every value reaches ClickHouse as a server-side parameter (``{name:Type}``), never spliced into SQL.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from clickhouse_connect.driver.client import Client
from rich.columns import Columns
from rich.console import Console, Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from shared.clickhouse.client import connect
from shared.config import Settings

OVERVIEW_SQL = """
SELECT count() AS events, uniqExact(actor) AS actors, min(ts) AS first, max(ts) AS last
FROM events
"""

RICHEST_THREADS_SQL = """
SELECT root_id, owner, replies, max_depth, participants, owner_replies
FROM threads
ORDER BY max_depth DESC, participants DESC, replies DESC, root_id
LIMIT {per_owner:UInt32} BY owner
LIMIT {limit:UInt32}
"""

# All-time engagement (replies received + clicks) per current follower. `followers` on an
# account's latest day is its follower count now: every follower change makes a day qualify.
# At least one follower, or there is nothing to divide by.
ACCOUNTS_SQL = """
SELECT account,
       argMax(followers, day)                           AS followers_now,
       sum(replies_received)                            AS total_replies,
       sum(clicks)                                      AS total_clicks,
       max(max_thread_depth)                            AS deepest,
       (total_replies + total_clicks) / followers_now   AS per_follower
FROM account_daily
GROUP BY account
HAVING followers_now >= greatest({min_followers:UInt64}, 1)
"""

FOLLOWERS_SQL = """
SELECT account,
       count()                                          AS followers,
       countIf(mutual)                                  AS mutuals,
       countIf(replies = 0 AND clicks = 0)              AS silent,
       arrayMap(x -> x.2, arraySlice(arraySort(
           groupArrayIf((since, follower), replies = 0 AND clicks = 0)), 1, {examples:UInt32})) AS longest_silent
FROM followers
WHERE account IN {accounts:Array(String)}
GROUP BY account
"""

FOLLOWING_SQL = """
SELECT follower,
       count()                                          AS following,
       countIf(NOT mutual)                              AS not_following_back,
       arraySlice(arraySort(groupArrayIf(account, NOT mutual)), 1, {examples:UInt32}) AS examples
FROM followers
WHERE follower IN {accounts:Array(String)}
GROUP BY follower
"""


# "Money speaks" (contract v1.1): what an account's current followers bought from it and kept,
# all time, per follower. Refunds of their orders are already taken off (followers.kept_revenue).
MONEY_SQL = """
SELECT account,
       count()                                          AS followers_now,
       countIf(conversions > 0)                         AS buyers,
       sum(kept_revenue)                                AS kept_by_followers
FROM followers
GROUP BY account
HAVING followers_now >= greatest({min_followers:UInt64}, 1)
"""

# Every order and refund credited to those accounts (followers, strangers, anonymous buyers).
REVENUE_SQL = """
SELECT account, sum(revenue) AS revenue, sum(refunded) AS refunded
FROM account_daily
WHERE account IN {accounts:Array(String)}
GROUP BY account
"""


@dataclass
class Overview:
    events: int
    actors: int
    first: datetime | None
    last: datetime | None


@dataclass
class Thread:
    root_id: str
    owner: str | None
    replies: int
    max_depth: int
    participants: int
    owner_replies: int


@dataclass
class Account:
    account: str
    followers: int
    replies: int
    clicks: int
    deepest: int
    per_follower: float


@dataclass
class MoneyAccount:
    account: str
    followers: int
    buyers: int  # followers with at least one order credited to the account
    kept_by_followers: Decimal  # their orders minus their refunds, all time
    revenue: Decimal = Decimal(0)  # every order credited to the account, all time
    refunded: Decimal = Decimal(0)

    @property
    def per_follower(self) -> Decimal:
        return self.kept_by_followers / self.followers

    @property
    def refund_share(self) -> float | None:
        return float(self.refunded / self.revenue) if self.revenue else None


@dataclass
class MoneySpeaks:
    currency: str
    by_followers: list[MoneyAccount] = field(default_factory=list)  # the biggest accounts
    by_value: list[MoneyAccount] = field(default_factory=list)  # most kept revenue per follower
    follower_rank: dict[str, int] = field(default_factory=dict)


@dataclass
class FollowerLedger:
    account: str
    followers: int
    mutuals: int
    silent: int
    longest_silent: list[str]
    following: int
    not_following_back: int
    not_following_back_examples: list[str]

    @property
    def follow_back_ratio(self) -> float | None:
        return self.mutuals / self.followers if self.followers else None


@dataclass
class Report:
    overview: Overview
    richest_threads: list[Thread]
    by_followers: list[Account]
    by_engagement: list[Account]
    follower_rank: dict[str, int]  # account -> its rank by follower count
    ledgers: list[FollowerLedger]
    money: MoneySpeaks


def load_report(settings: Settings, *, top: int = 8, min_followers: int = 10, ledger_accounts: int = 5,
                examples: int = 2) -> Report:
    """Read the report with the read-only user. Accounts with fewer than ``min_followers`` are
    left out of the rankings: a per-follower figure over three followers says nothing."""
    client = connect(settings, reader=True)
    try:
        return _load(client, top, min_followers, ledger_accounts, examples, settings.currency)
    finally:
        client.close()


def _load(client: Client, top: int, min_followers: int, ledger_accounts: int, examples: int,
          currency: str) -> Report:
    overview = Overview(*client.query(OVERVIEW_SQL).result_rows[0])
    if not overview.events:
        overview.first = overview.last = None  # min/max of nothing are placeholder dates
    # A few per owner, so the list compares owners instead of repeating the best one.
    threads = [Thread(*row) for row in client.query(
        RICHEST_THREADS_SQL, parameters={"limit": top, "per_owner": 3}).result_rows]
    accounts = [Account(*row) for row in
                client.query(ACCOUNTS_SQL, parameters={"min_followers": min_followers}).result_rows]
    by_followers = sorted(accounts, key=lambda a: (-a.followers, a.account))
    by_engagement = sorted(accounts, key=lambda a: (-a.per_follower, a.account))
    follower_rank = {a.account: rank for rank, a in enumerate(by_followers, 1)}

    # The ledger for the biggest accounts, and for the one whose followers engage most.
    chosen = [a.account for a in by_followers[:ledger_accounts]]
    if by_engagement and by_engagement[0].account not in chosen:
        chosen.append(by_engagement[0].account)
    parameters = {"accounts": chosen, "examples": examples}
    followers = {row[0]: row[1:] for row in client.query(FOLLOWERS_SQL, parameters=parameters).result_rows}
    following = {row[0]: row[1:] for row in client.query(FOLLOWING_SQL, parameters=parameters).result_rows}
    ledgers = [FollowerLedger(name, *followers.get(name, (0, 0, 0, [])), *following.get(name, (0, 0, [])))
               for name in chosen]
    money = _load_money(client, top, min_followers, currency)
    return Report(overview, threads, by_followers[:top], by_engagement[:top], follower_rank, ledgers, money)


def _load_money(client: Client, top: int, min_followers: int, currency: str) -> MoneySpeaks:
    accounts = [MoneyAccount(*row) for row in
                client.query(MONEY_SQL, parameters={"min_followers": min_followers}).result_rows]
    by_followers = sorted(accounts, key=lambda a: (-a.followers, a.account))
    by_value = sorted(accounts, key=lambda a: (-a.per_follower, a.account))
    shown = {a.account: a for a in by_followers[:top] + by_value[:top]}
    for account, revenue, refunded in client.query(REVENUE_SQL, parameters={"accounts": sorted(shown)}).result_rows:
        shown[account].revenue, shown[account].refunded = revenue, refunded
    return MoneySpeaks(currency, by_followers[:top], by_value[:top],
                       {a.account: rank for rank, a in enumerate(by_followers, 1)})


# --- rendering ----------------------------------------------------------------------------------

def render_report(report: Report, console: Console) -> None:
    overview = report.overview
    if not overview.events:
        console.print("ClickHouse holds no events yet: send some (`richness simulate`) and drain.")
        return
    console.print(f"{overview.events:,} events from {overview.actors:,} accounts, "
                  f"{overview.first:%Y-%m-%d %H:%M} to {overview.last:%Y-%m-%d %H:%M} UTC", highlight=False)
    console.print(_richest_threads(report))
    console.print(_rankings(report))
    if report.money.by_value:
        console.print(_money_speaks(report.money))
    if report.ledgers:
        console.print(_follow_backs(report))
        console.print(_silent_followers(report))


def _richest_threads(report: Report) -> Table:
    table = Table(title="Richest conversations (deepest, then most participants; at most 3 per owner)",
                  title_justify="left")
    table.add_column("owner", no_wrap=True, style="bold")
    for column in ("depth", "participants", "replies", "owner's replies"):
        table.add_column(column, justify="right")
    table.add_column("conversation", no_wrap=True, style="dim")
    for thread in report.richest_threads:
        table.add_row(escape(thread.owner or "(unknown)"), str(thread.max_depth), f"{thread.participants:,}",
                      f"{thread.replies:,}", f"{thread.owner_replies:,}", escape(thread.root_id))
    return table


def _rankings(report: Report) -> Group:
    """The same accounts ranked by followers and by engagement per follower, side by side when
    the terminal is wide enough."""
    by_followers = Table("#", title="Ranked by followers", title_justify="left")
    by_followers.add_column("account", no_wrap=True, style="bold")
    by_followers.add_column("followers", justify="right")
    by_followers.add_column("per follower", justify="right", style="dim")
    for rank, account in enumerate(report.by_followers, 1):
        by_followers.add_row(str(rank), escape(account.account), f"{account.followers:,}",
                             f"{account.per_follower:.1f}")
    by_engagement = Table("#", title="Ranked by engagement per follower", title_justify="left")
    by_engagement.add_column("account", no_wrap=True, style="bold")
    by_engagement.add_column("per follower", justify="right")
    by_engagement.add_column("followers (rank)", justify="right", style="dim")
    by_engagement.add_column("deepest thread", justify="right")
    for rank, account in enumerate(report.by_engagement, 1):
        by_engagement.add_row(str(rank), escape(account.account), f"{account.per_follower:.1f}",
                              f"{account.followers:,} (#{report.follower_rank[account.account]})",
                              str(account.deepest))
    parts: list = [Text("Follower counts lie", style="bold"), Columns([by_followers, by_engagement], padding=(0, 3)),
                   Text("engagement = replies received + clicks, all time; per follower = divided by followers now",
                        style="dim")]
    parts.extend(_biggest_against_richest(report.by_followers, report.by_engagement, "the replies and clicks"))
    return Group(*parts)


def _biggest_against_richest(by_followers: list, by_value: list, what: str) -> list[Text]:
    """One line when the most followed account is not the one whose followers bring the most."""
    if not (by_followers and by_value):
        return []
    big, rich = by_followers[0], by_value[0]
    if big.account == rich.account or big.per_follower <= 0:
        return []
    return [Text.from_markup(
        f"[bold]{escape(big.account)}[/] has {big.followers / rich.followers:.1f}× the followers of "
        f"[bold]{escape(rich.account)}[/], but each of {escape(rich.account)}'s followers brings "
        f"{rich.per_follower / big.per_follower:.1f}× {what}.")]


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


def _money_speaks(money: MoneySpeaks) -> Group:
    """Kept revenue per follower next to the follower count: the accounts whose followers buy and
    keep what they buy are rarely the biggest."""
    currency = money.currency
    biggest = Table("#", title="Biggest accounts", title_justify="left")
    biggest.add_column("account", no_wrap=True, style="bold")
    biggest.add_column("followers", justify="right")
    biggest.add_column("kept per follower", justify="right", style="dim")
    for rank, account in enumerate(money.by_followers, 1):
        biggest.add_row(str(rank), escape(account.account), f"{account.followers:,}",
                        _money(account.per_follower, currency))
    valuable = Table("#", title="Most kept revenue per follower", title_justify="left")
    valuable.add_column("account", no_wrap=True, style="bold")
    valuable.add_column("kept per follower", justify="right")
    valuable.add_column("followers (rank)", justify="right", style="dim")
    valuable.add_column("buyers", justify="right")
    valuable.add_column("refunded", justify="right")
    for rank, account in enumerate(money.by_value, 1):
        share = account.refund_share
        valuable.add_row(str(rank), escape(account.account), _money(account.per_follower, currency),
                         f"{account.followers:,} (#{money.follower_rank[account.account]})",
                         f"{account.buyers:,}", "–" if share is None else f"{share:.0%}")
    parts: list = [Text("Money speaks: who buys and keeps it", style="bold"),
                   Columns([biggest, valuable], padding=(0, 3)),
                   Text("kept = the current followers' orders minus their refunds, all time; per follower = divided "
                        "by followers now; refunded = share of all orders credited to the account", style="dim")]
    parts.extend(_biggest_against_richest(money.by_followers, money.by_value, "the kept revenue"))
    return Group(*parts)


def _follow_backs(report: Report) -> Table:
    table = Table(title="Who follows back", title_justify="left")
    table.add_column("account", no_wrap=True)
    for column in ("followers", "mutuals", "follow-back ratio", "not following back"):
        table.add_column(column, justify="right")
    table.add_column("e.g.")
    for ledger in report.ledgers:
        ratio = ledger.follow_back_ratio
        table.add_row(escape(ledger.account), f"{ledger.followers:,}", f"{ledger.mutuals:,}",
                      "–" if ratio is None else f"{ratio:.0%}",
                      f"{ledger.not_following_back:,} of {ledger.following:,} followed",
                      escape(", ".join(ledger.not_following_back_examples)))
    return table


def _silent_followers(report: Report) -> Table:
    table = Table(title="Silent followers (no reply, no click): the spring-cleaning list",
                  title_justify="left")
    table.add_column("account", no_wrap=True)
    for column in ("followers", "silent", "share"):
        table.add_column(column, justify="right")
    table.add_column("silent the longest")
    for ledger in report.ledgers:
        share = ledger.silent / ledger.followers if ledger.followers else 0.0
        table.add_row(escape(ledger.account), f"{ledger.followers:,}", f"{ledger.silent:,}", f"{share:.0%}",
                      escape(", ".join(ledger.longest_silent)))
    return table
