"""A clinic's order history: a few thousand orders over the past years, for the reports.

Each order gets its own timeline, drawn from one seeded random stream: submitted, paid (most
within a day; some never), the kit used, the sample received by the lab, then each test's
results after its lab's turnaround. Each lab company has its own pace against the
turnaround it advertises (`estimated_days_for_results`), so some labs run early and some
late, and a few orders stall far past it. Where an order stands now follows from its
timeline: old orders are Complete or Canceled, recent ones are in every status.

Popular tests are ordered far more often than the rest (a few dozen make most orders), as
in a real clinic. Callers hold `state.lock` (the state is being built).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Final

from rupa_desk.sandbox import lifecycle
from rupa_desk.sandbox.state import (
    CANCELED,
    COMPLETE,
    IN_PROGRESS,
    PAID,
    PARTIAL_RESULTS,
    SAMPLE_RECEIVED,
    Order,
    OrderedTest,
    SandboxState,
)

#: Share of orders canceled (before their results).
CANCEL_SHARE: Final = 0.06
#: Share of orders never paid (canceled after a month, or still pending if recent).
UNPAID_SHARE: Final = 0.04
#: Share of orders whose lab stalls far past its advertised turnaround.
STALL_SHARE: Final = 0.03
#: How many tests the clinic orders at all (the rest of the catalog is never ordered).
MENU_SIZE: Final = 120
#: An unpaid order is canceled after this long.
UNPAID_CANCEL_DAYS: Final = 30.0


def seed_history(
    state: SandboxState,
    rng: random.Random,
    now: datetime,
    *,
    clinic_id: str,
    count: int,
    days: int,
) -> None:
    """Add `count` orders of `clinic_id` submitted over the last `days` days."""
    patients = sorted(p.id for p in state.patients.values() if p.clinic_id == clinic_id)
    practitioners = sorted(p.id for p in state.practitioners.values() if p.clinic_id == clinic_id)
    tests = sorted(t.id for t in state.lab_tests.values() if t.is_active)
    if not patients or not practitioners or not tests:
        return
    menu = rng.sample(tests, k=min(MENU_SIZE, len(tests)))
    # Zipf-like popularity: the k-th test of the menu is ordered about 1/k as often.
    weights = [1.0 / (rank + 1) for rank in range(len(menu))]
    pace = {company: 0.55 + rng.random() * 0.6 for company in sorted(state.lab_companies)}
    for _ in range(count):
        submitted = now - timedelta(days=rng.random() * days, seconds=rng.randint(0, 86399))
        chosen = _pick(rng, menu, weights, k=rng.choice((1, 1, 1, 2, 2, 3)))
        practitioner = rng.choice(practitioners)
        order = lifecycle.create_order(
            state,
            clinic_id=clinic_id,
            patient_id=rng.choice(patients),
            patients_practitioner_id=practitioner,
            signing_practitioner_id=practitioner,
            lab_test_ids=chosen,
            payer=rng.choice(("patient", "patient", "patient", "clinic")),
            notes_to_patient="",
            order_intent_id=None,
            at=submitted,
        )
        _live(state, order, rng, now, pace)


def _pick(rng: random.Random, menu: list[str], weights: list[float], *, k: int) -> list[str]:
    chosen: list[str] = []
    while len(chosen) < min(k, len(menu)):
        test = rng.choices(menu, weights)[0]
        if test not in chosen:
            chosen.append(test)
    return chosen


def _live(
    state: SandboxState,
    order: Order,
    rng: random.Random,
    now: datetime,
    pace: dict[str, float],
) -> None:
    """Play the order's timeline up to `now` (every draw happens, whatever the outcome,
    so that one order's fate does not shift the next one's)."""
    fate = rng.random()
    paid = order.date_submitted + timedelta(hours=rng.expovariate(1 / 14))
    kit_used = paid + timedelta(days=0.5 + rng.random() * 2)
    sample_received = kit_used + timedelta(days=1 + rng.random() * 4)
    cancel_at = order.date_submitted + timedelta(days=rng.random() * 12)
    stall = 2.0 + rng.random() * 2 if rng.random() < STALL_SHARE else 1.0
    tests = [state.ordered_tests[t] for t in order.ordered_test_ids]
    results: list[datetime] = []
    for ordered in tests:
        lab_test = state.lab_tests[ordered.lab_test_id]
        lab_pace = pace.get(lab_test.lab_company_id, 1.0)
        noise = rng.lognormvariate(0, 0.2)
        days = lab_test.estimated_days_for_results * lab_pace * noise * stall
        results.append(sample_received + timedelta(days=days))

    if fate < UNPAID_SHARE:
        unpaid_cancel = order.date_submitted + timedelta(days=UNPAID_CANCEL_DAYS)
        if unpaid_cancel <= now:
            _cancel(order, unpaid_cancel)
        return
    canceled = fate < UNPAID_SHARE + CANCEL_SHARE
    if canceled and cancel_at <= now and cancel_at < sample_received:
        if paid < cancel_at:
            _pay(order, tests, paid)
        _cancel(order, cancel_at)
        return
    if paid > now:
        return
    _pay(order, tests, paid)
    order.status = IN_PROGRESS if kit_used <= now else PAID
    if sample_received > now:
        return
    order.status = SAMPLE_RECEIVED
    arrived = 0
    for ordered, received in zip(tests, results, strict=True):
        if received <= now:
            ordered.has_results = True
            ordered.results_final = True
            ordered.date_results_received_from_lab = received
            arrived += 1
    if arrived == len(tests):
        order.status = COMPLETE
        order.date_completed = max(results)
    elif arrived:
        order.status = PARTIAL_RESULTS


def _pay(order: Order, tests: list[OrderedTest], moment: datetime) -> None:
    order.status = PAID
    order.date_paid = moment
    for ordered in tests:
        ordered.has_requisition = True


def _cancel(order: Order, moment: datetime) -> None:
    order.status = CANCELED
    order.date_canceled = moment
