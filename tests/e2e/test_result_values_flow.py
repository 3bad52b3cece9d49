"""Result values from order to inbox: the whole app against the simulator over real HTTP.

An order's results arrive preliminary (some still to come), then final, then corrected after
completion; the Orders pane's table and the results inbox follow, the sidebar counts what
arrived, and "Patient told" marks survive quitting and starting the app again. A correction
that comes after completion reaches the inbox through tracking alone.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal, InvalidOperation

from rupa_desk.desk import Desk
from rupa_desk.sandbox.server import SandboxServer
from rupa_desk.ui.pages.orders import OrdersPage
from rupa_desk.ui.pages.patients import PatientsPage
from rupa_desk.ui.pages.results_inbox import ANALYTE, STATUS, TOLD, ResultsInboxPage
from tests.e2e.test_order_flow import signed_in_desk
from tests.fixtures.desk import MakeDesk
from tests.fixtures.qt import wait_until
from tests.fixtures.sandbox import SandboxControl


def inbox_rows(inbox: ResultsInboxPage, order_id: str) -> dict[str, tuple[str, str, int]]:
    """The inbox's rows of one order: analyte → (status, told, row)."""
    rows = {}
    for row in range(inbox.model.rowCount()):
        if inbox.model.item(row).order_id == order_id:
            rows[inbox.cell(row, ANALYTE)] = (inbox.cell(row, STATUS), inbox.cell(row, TOLD), row)
    return rows


async def open_order(desk: Desk, order_id: str) -> OrdersPage:
    workspace = desk.workspace
    assert workspace is not None
    desk.window.show_pane("orders")
    orders = desk.window.pane("orders")
    assert isinstance(orders, OrdersPage)
    await workspace.orders.orders.open_order(order_id)
    return orders


async def test_preliminary_final_corrected_and_told_survives_a_restart(
    make_desk: MakeDesk, sandbox: SandboxServer, sandbox_control: SandboxControl
) -> None:
    desk = await signed_in_desk(make_desk, sandbox)
    workspace = desk.workspace
    assert workspace is not None
    notifications: list[tuple[str, str]] = []
    workspace.orders.notifier.notified.connect(lambda t, x: notifications.append((t, x)))
    order_id = sandbox_control.create_order()["id"]
    sandbox_control.advance_order(order_id, to="Partial Results")

    # Preliminary: the table says what is still to come; the inbox lists what came.
    await workspace.orders.orders.refresh_all()
    orders = await open_order(desk, order_id)
    detail = orders.detail
    await wait_until(lambda: "still to come" in detail.results.summary.text(), within=30)
    [test] = workspace.store.orders.ordered_tests(order_id)
    preliminary = workspace.store.lab_results.results(test.id)
    assert preliminary is not None
    await wait_until(lambda: desk.window.pane_title("results").startswith("Results inbox ("))
    desk.window.show_pane("results")
    inbox = desk.window.pane("results")
    assert isinstance(inbox, ResultsInboxPage)
    await wait_until(lambda: desk.window.pane_title("results") == "Results inbox")
    came = inbox_rows(inbox, order_id)
    assert set(came) == {r.analyte for r in preliminary.rows if r.status != "Pending"}
    assert {status for status, _, _ in came.values()} == {"Preliminary"}

    # Final: every value came; the inbox shows them final.
    sandbox_control.advance_order(order_id, to="Complete")
    orders = await open_order(desk, order_id)
    await wait_until(lambda: detail.results.summary.text() == "Final results.", within=30)
    await wait_until(lambda: {s for s, _, _ in inbox_rows(inbox, order_id).values()} == {"Final"})
    final = inbox_rows(inbox, order_id)
    assert set(final) == {r.analyte for r in preliminary.rows}
    assert any(title == "Result values" for title, _ in notifications)
    patient = workspace.store.orders.row(order_id).patient_name or ""
    assert patient
    assert not any(patient.split()[-1] in text for _, text in notifications)

    # The patient is told about every value.
    desk.window.show_pane("results")
    inbox.select_rows([row for _, _, row in final.values()])
    inbox.told_button.click()
    await wait_until(lambda: all(t for _, t, _ in inbox_rows(inbox, order_id).values()))

    # Corrected after completion: the changed value comes again, without "told".
    sandbox_control.correct_results(test.id)
    orders = await open_order(desk, order_id)
    await wait_until(lambda: "corrected" in detail.results.summary.text(), within=30)
    table = orders.detail.results
    [corrected] = [
        table.cell(r, 0) for r in range(table.table.rowCount()) if table.cell(r, 5) == "Corrected"
    ]
    await wait_until(lambda: inbox_rows(inbox, order_id)[corrected][0] == "Corrected")
    after = inbox_rows(inbox, order_id)
    assert after[corrected][1] == "", "a corrected value must be told again"
    told_before_restart = {a: t for a, (_, t, _) in after.items() if t}
    assert set(told_before_restart) == set(final) - {corrected}

    # Quit and start again: the marks were kept on this computer.
    paths = desk.paths
    await desk.close()
    again = await signed_in_desk(make_desk, sandbox)
    assert again.paths == paths
    again.window.show_pane("results")
    reopened = again.window.pane("results")
    assert isinstance(reopened, ResultsInboxPage)
    await wait_until(lambda: bool(inbox_rows(reopened, order_id)))
    kept = {a: t for a, (_, t, _) in inbox_rows(reopened, order_id).items() if t}
    assert kept == told_before_restart


async def test_a_late_correction_reaches_the_inbox_without_opening_the_order(
    make_desk: MakeDesk, sandbox: SandboxServer, sandbox_control: SandboxControl
) -> None:
    """Tracking alone: the order completes, its final values come, the patient is told;
    days later the lab corrects a value and the inbox shows it corrected and not told,
    though nobody opened or refreshed the order."""
    desk = await signed_in_desk(make_desk, sandbox)
    workspace = desk.workspace
    assert workspace is not None
    store = workspace.store
    # the seeded orders were listed (and the completed ones watched at the usual cadence)
    await wait_until(lambda: len(store.orders.listing()) >= sandbox.config.orders, within=30)
    schedule = workspace.orders.schedule
    schedule.policy = replace(schedule.policy, base_interval_s=1.0, finished_interval_s=1.0)
    order_id = sandbox_control.create_order()["id"]
    workspace.orders.tracker.refresh_list_soon()  # as when a checkout window closes
    await wait_until(lambda: order_id in schedule, within=30)
    await asyncio.to_thread(sandbox_control.advance_order, order_id, "Complete")

    desk.window.show_pane("results")
    inbox = desk.window.pane("results")
    assert isinstance(inbox, ResultsInboxPage)
    await wait_until(
        lambda: {s for s, _, _ in inbox_rows(inbox, order_id).values()} == {"Final"}, within=30
    )
    assert schedule.watching(order_id)
    [test] = store.orders.ordered_tests(order_id)
    final = store.lab_results.results(test.id)
    assert final is not None
    assert final.status == "Final"
    came = inbox_rows(inbox, order_id)
    assert set(came) == {r.analyte for r in final.rows}
    inbox.select_rows([row for _, _, row in came.values()])
    inbox.told_button.click()
    await wait_until(lambda: all(t for _, t, _ in inbox_rows(inbox, order_id).values()))

    await asyncio.to_thread(sandbox_control.correct_results, test.id)
    await wait_until(
        lambda: "Corrected" in {s for s, _, _ in inbox_rows(inbox, order_id).values()},
        within=30,
    )
    corrected = store.lab_results.results(test.id)
    assert corrected is not None
    [analyte] = [r.analyte for r in corrected.rows if r.status == "Corrected"]
    after = inbox_rows(inbox, order_id)
    assert after[analyte][:2] == ("Corrected", ""), "a corrected value must be told again"
    assert all(told for a, (_, told, _) in after.items() if a != analyte)
    assert schedule.watching(order_id)


async def test_her_trends_follow_her_results_and_a_correction(
    make_desk: MakeDesk, sandbox: SandboxServer, sandbox_control: SandboxControl
) -> None:
    """Two orders of the same test for one patient: her detail in Patients shows each number
    measured twice as a trend (one value from each order), and a corrected value replaces
    the earlier one there too."""
    desk = await signed_in_desk(make_desk, sandbox)
    workspace = desk.workspace
    assert workspace is not None
    store = workspace.store
    first = sandbox_control.create_order(status="Complete")["id"]
    second = sandbox_control.create_order(status="Complete")["id"]
    tests = {}
    for order_id in (first, second):
        await workspace.orders.orders.open_order(order_id)
        [test] = store.orders.ordered_tests(order_id)
        tests[order_id] = test.id
        await wait_until(lambda t=test.id: store.lab_results.results(t) is not None, within=30)
    patient_id = store.orders.row(first).patient_id
    assert patient_id is not None
    assert store.orders.row(second).patient_id == patient_id

    desk.window.show_pane("patients")
    patients = desk.window.pane("patients")
    assert isinstance(patients, PatientsPage)
    await wait_until(lambda: patients.model.row_of(patient_id) >= 0, within=30)
    patients.select_patient(patient_id)
    view = patients.detail.trends

    def values_of(analyte: str) -> list[str]:
        """The trend table's values for `analyte` ([] when it has no trend)."""
        names = [view.analytes.item(i).text() for i in range(view.analytes.count())]
        rows = [i for i, name in enumerate(names) if name.split(" (")[0] == analyte]
        if not rows:
            return []
        view.analytes.setCurrentRow(rows[0])
        cells = (view.values.item(r, 1) for r in range(view.values.rowCount()))
        return [cell.text() for cell in cells if cell is not None]

    def numbers(order_id: str) -> dict[str, str]:
        results = store.lab_results.results(tests[order_id])
        assert results is not None
        return {r.analyte: r.value for r in results.rows if is_number(r.value)}

    both = sorted(set(numbers(first)) & set(numbers(second)))
    assert both  # the same test twice: its numbers measured twice
    await wait_until(lambda: view.analytes.count() > 0, within=30)
    for analyte in both:
        shown = values_of(analyte)
        assert len(shown) == 2, (analyte, shown)
        assert shown[-1].startswith(numbers(second)[analyte]), (analyte, shown)

    # The lab corrects one of the latest order's results: her trends show the values as
    # they are now (a corrected number replaces the earlier one, not a third point).
    before = store.lab_results.results(tests[second])
    sandbox_control.correct_results(tests[second])
    await workspace.orders.orders.open_order(second)
    await wait_until(
        lambda: (store.lab_results.results(tests[second]) or before).corrected, within=30
    )
    patients.select_patient(patient_id)
    now = numbers(second)
    for analyte in both:
        await wait_until(
            lambda a=analyte: values_of(a)[-1:] and values_of(a)[-1].startswith(now[a]),
            within=30,
        )
        assert len(values_of(analyte)) == 2, analyte  # replaced, not added


def is_number(text: str) -> bool:
    try:
        Decimal(text)
    except InvalidOperation:
        return False
    return True
