"""Orders and refunds (contract §6): money speaks — who buys something and keeps it.

Per ``order_id`` the first ``conversion`` in (ts, id) order is the order; later conversions with
that id count nothing. Refunds apply in (ts, id) order, each taking back min(its value — or the
remainder when absent —, the remainder), where the remainder is the order's value minus what was
refunded before it. A refund of an unknown order counts nothing until the order arrives. A
refund is attributed to the order's target, on the refund's own day. Events are routed by order
id, so an order and its refunds are one small state; money is Decimal throughout.
"""
from __future__ import annotations

from decimal import Decimal

import msgspec

from shared.domain.contributions import Order, Payload, Refund
from shared.domain.conversation import Outputs
from shared.domain.state import BatchState, EntryKind
from shared.events import Event


class _Conversion(msgspec.Struct, array_like=True, gc=False):
    ts: int
    id: str
    target: str
    actor: str | None
    value: Decimal


class _Refund(msgspec.Struct, array_like=True, gc=False):
    ts: int
    id: str
    value: Decimal | None  # None: the rest of the order


class OrderState(msgspec.Struct, array_like=True, gc=False):
    conversions: list[_Conversion] = msgspec.field(default_factory=list)  # (ts, id) order
    refunds: list[_Refund] = msgspec.field(default_factory=list)  # (ts, id) order

    def holds(self, event_id: str) -> bool:
        return any(c.id == event_id for c in self.conversions) or any(r.id == event_id for r in self.refunds)

    def contributions(self, order_id: str) -> dict[str, tuple[str, Payload]]:
        """What this order adds to its target's figures, by contribution key."""
        if not self.conversions:
            return {}
        order = self.conversions[0]
        found: dict[str, tuple[str, Payload]] = {"order": (order.target, Order(order_id, order.ts, order.value, order.actor))}
        remainder = order.value
        for refund in self.refunds:
            amount = remainder if refund.value is None else min(refund.value, remainder)
            if amount > 0:
                found[refund.id] = (order.target, Refund(refund.ts, amount, order.actor))
            remainder -= amount
        return found


ORDER = EntryKind("o", OrderState)  # (order_id)


class Orders:
    def __init__(self, state: BatchState, out: Outputs) -> None:
        self.state = state
        self.out = out

    def add(self, event: Event) -> None:
        order_id = event.order_id
        order = self.state.get(ORDER, order_id) or OrderState()
        if order.holds(event.id):
            return  # a duplicate delivery
        before = order.contributions(order_id)  # type: ignore[arg-type]
        if event.type == "conversion":
            order.conversions.append(_Conversion(event.ts, event.id, event.target, event.actor, event.value))  # type: ignore[arg-type]
            order.conversions.sort(key=lambda c: (c.ts, c.id))
        else:
            order.refunds.append(_Refund(event.ts, event.id, event.value))
            order.refunds.sort(key=lambda r: (r.ts, r.id))
        self.state.put(ORDER, order, order_id)
        after = order.contributions(order_id)  # type: ignore[arg-type]
        for key in [*before, *(k for k in after if k not in before)]:
            old, new = before.get(key), after.get(key)
            if old == new:
                continue
            if old and new and old[0] == new[0]:
                self.out.change(new[0], old[1], new[1])
            else:
                if old:
                    self.out.change(old[0], old[1], None)
                if new:
                    self.out.change(new[0], None, new[1])
