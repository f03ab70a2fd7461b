"""The report's "money speaks" section, rendered from known figures: money in the deployment's
currency, exact to the cent, the two rankings side by side and the comparison sentence."""
from __future__ import annotations

from decimal import Decimal

from rich.console import Console

from services.demo.report import MoneyAccount, MoneySpeaks, _money_speaks


def render(money: MoneySpeaks) -> str:
    console = Console(record=True, width=200)
    console.print(_money_speaks(money))
    return console.export_text()


BIG = MoneyAccount("dailybuzz", followers=400, buyers=9, kept_by_followers=Decimal("180.0000"),
                   revenue=Decimal("1000.0000"), refunded=Decimal("300.0000"))
RICH = MoneyAccount("ameena", followers=40, buyers=12, kept_by_followers=Decimal("2250.5000"),
                    revenue=Decimal("2500.0000"), refunded=Decimal("25.0000"))
QUIET = MoneyAccount("o'brien", followers=12, buyers=0, kept_by_followers=Decimal("0"))


def test_per_follower_is_exact_and_the_refund_share_is_of_all_orders():
    assert RICH.per_follower == Decimal("56.2625")
    assert BIG.refund_share == 0.3 and QUIET.refund_share is None


def test_the_section_compares_the_biggest_accounts_with_those_whose_followers_keep_most():
    text = render(MoneySpeaks("EUR", by_followers=[BIG, RICH, QUIET], by_value=[RICH, BIG, QUIET],
                              follower_rank={"dailybuzz": 1, "ameena": 2, "o'brien": 3}))
    assert "Money speaks" in text and "Biggest accounts" in text and "Most kept revenue per follower" in text
    assert "56.26 EUR" in text and "0.45 EUR" in text  # 2250.50 / 40 and 180 / 400
    assert "40 (#2)" in text and "30%" in text and "1%" in text
    assert "dailybuzz has 10.0× the followers of ameena, but each of ameena's followers brings 125.0× the kept " \
           "revenue" in " ".join(text.split())
