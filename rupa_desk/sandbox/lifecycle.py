"""Orders: creation and their walk through the statuses, on the simulated clock or on demand.

`Pending Payment → Paid → In Progress → Sample Received → Partial Results → Complete`, and
`Canceled` from any step before Complete. Dates are set as steps happen; at Paid the tests get
requisitions, at Partial Results some tests get results, at Complete all of them (a result
that was preliminary is re-issued as final, with a new received date). A share of completed
tests (`hl7_correction_rate`) gets a corrected result a simulated day later (`correct`).

Callers hold `state.lock`.
"""

from __future__ import annotations

import math
import zlib
from datetime import datetime
from typing import Final

from rupa_desk.sandbox.clock import wall_now
from rupa_desk.sandbox.ids import ORDER, ORDERED_TEST
from rupa_desk.sandbox.state import (
    CANCELED,
    COMPLETE,
    IN_PROGRESS,
    LIFECYCLE,
    PAID,
    PARTIAL_RESULTS,
    PENDING_PAYMENT,
    SAMPLE_RECEIVED,
    TERMINAL_STATUSES,
    Order,
    OrderedTest,
    SandboxState,
)

HOUR: Final = 3600.0
DAY: Final = 24 * HOUR
#: How long (simulated seconds) an order stays in each status before the next step.
STEP_DURATION: Final[dict[str, float]] = {
    PENDING_PAYMENT: 2 * HOUR,
    PAID: 1 * DAY,
    IN_PROGRESS: 2 * DAY,
    SAMPLE_RECEIVED: 3 * DAY,
    PARTIAL_RESULTS: 2 * DAY,
}


class LifecycleError(Exception):
    """The requested status change is not possible (e.g. cancelling a completed order)."""


def create_order(
    state: SandboxState,
    *,
    clinic_id: str,
    patient_id: str,
    patients_practitioner_id: str,
    signing_practitioner_id: str,
    lab_test_ids: list[str],
    payer: str,
    notes_to_patient: str,
    order_intent_id: str | None,
    at: datetime | None = None,
    pace: float = 1.0,
) -> Order:
    """A new order in Pending Payment with one ordered test per lab test."""
    order_id = state.ids.new(ORDER)
    ordered = []
    for lab_test_id in lab_test_ids:
        ordered_test = OrderedTest(
            id=state.ids.new(ORDERED_TEST), order_id=order_id, lab_test_id=lab_test_id
        )
        state.ordered_tests[ordered_test.id] = ordered_test
        ordered.append(ordered_test.id)
    total = sum(state.lab_tests[t].price for t in lab_test_ids if t in state.lab_tests)
    order = Order(
        id=order_id,
        clinic_id=clinic_id,
        patient_id=patient_id,
        patients_practitioner_id=patients_practitioner_id,
        signing_practitioner_id=signing_practitioner_id,
        order_intent_id=order_intent_id,
        status=PENDING_PAYMENT,
        payer=payer,
        total_price=round(total, 2),
        notes_to_patient=notes_to_patient,
        date_submitted=at or wall_now(),
        ordered_test_ids=ordered,
        status_since_sim=state.clock.now(),
        pace=pace,
    )
    state.orders[order.id] = order
    return order


def next_status(status: str) -> str:
    """The status after `status` in the lifecycle (LifecycleError when terminal)."""
    if status in TERMINAL_STATUSES:
        raise LifecycleError(f"An order in {status!r} does not change any more.")
    return LIFECYCLE[LIFECYCLE.index(status) + 1]


def advance(state: SandboxState, order: Order, at: datetime | None = None) -> str:
    """Move `order` one step forward; returns the new status."""
    moment = at or wall_now()
    status = next_status(order.status)
    order.status = status
    tests = [state.ordered_tests[t] for t in order.ordered_test_ids]
    if status == PAID:
        order.date_paid = moment
        for test in tests:
            test.has_requisition = True
    elif status == PARTIAL_RESULTS:
        _give_partial_results(tests, moment)
    elif status == COMPLETE:
        for test in tests:
            if not test.has_results or not test.results_final:
                test.date_results_received_from_lab = moment
            test.has_results = True
            test.results_final = True
            if _will_be_corrected(test, state.faults.hl7_correction_rate):
                test.correction_due_sim = state.clock.now() + DAY * order.pace
        order.date_completed = moment
    order.status_since_sim = state.clock.now()
    return status


def _give_partial_results(tests: list[OrderedTest], moment: datetime) -> None:
    """Half the tests (rounded down) get final results; a single test gets preliminary ones."""
    if len(tests) == 1:
        tests[0].has_results = True
        tests[0].results_final = False
        tests[0].date_results_received_from_lab = moment
        return
    for test in tests[: math.floor(len(tests) / 2)]:
        test.has_results = True
        test.results_final = True
        test.date_results_received_from_lab = moment


def _will_be_corrected(test: OrderedTest, rate: float) -> bool:
    """Whether a completed test's results are corrected later (stable per test)."""
    return rate > 0 and zlib.crc32(test.id.encode()) % 1000 < rate * 1000


def correct(test: OrderedTest, at: datetime | None = None) -> None:
    """A corrected result for a completed test: a new result event, with a new date."""
    if not (test.has_results and test.results_final):
        raise LifecycleError("Only final results can be corrected.")
    test.results_corrected = True
    test.correction_due_sim = None
    test.date_results_received_from_lab = at or wall_now()


def cancel(state: SandboxState, order: Order, at: datetime | None = None) -> None:
    """Cancel an order that is not finished yet."""
    if order.status in TERMINAL_STATUSES:
        raise LifecycleError(f"An order in {order.status!r} cannot be canceled.")
    order.status = CANCELED
    order.date_canceled = at or wall_now()
    order.status_since_sim = state.clock.now()


def move_to(state: SandboxState, order: Order, target: str, at: datetime | None = None) -> None:
    """Advance step by step to `target` (a later lifecycle status), or cancel."""
    if target == CANCELED:
        cancel(state, order, at)
        return
    if target not in LIFECYCLE:
        raise LifecycleError(f"Unknown status {target!r}; use one of {', '.join(LIFECYCLE)}.")
    if order.status == CANCELED or (
        order.status in LIFECYCLE and LIFECYCLE.index(target) < LIFECYCLE.index(order.status)
    ):
        raise LifecycleError(f"An order in {order.status!r} cannot go to {target!r}.")
    while order.status != target:
        advance(state, order, at)


def catch_up(state: SandboxState, *, force: bool = False) -> int:
    """Apply every step that is due on the simulated clock; returns how many happened.

    Dates are those at which the simulated clock reached each step, not the moment of the
    catch-up. With the clock stopped nothing is due unless `force` (after a jump).
    """
    clock = state.clock
    if clock.speed <= 0 and not force:
        return 0
    now = clock.now()
    steps = 0
    for order in state.orders.values():
        while order.status not in TERMINAL_STATUSES:
            due = order.status_since_sim + STEP_DURATION[order.status] * order.pace
            if due > now:
                break
            advance(state, order, clock.wall_time_of(due))
            order.status_since_sim = due
            steps += 1
    for test in state.ordered_tests.values():
        if test.correction_due_sim is not None and test.correction_due_sim <= now:
            correct(test, clock.wall_time_of(test.correction_due_sim))
    return steps


def open_order_count(state: SandboxState) -> int:
    """Orders that will still change."""
    return sum(1 for o in state.orders.values() if o.status not in TERMINAL_STATUSES)
