"""The results inbox: values newest and flagged first, the "flagged, patient not told"
filter, the marks with who and when (kept on this PC), and "seen" when it is shown."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from pytestqt.qtbot import QtBot

from rupa_desk.paths import AppPaths
from rupa_desk.sandbox.results_hl7 import NUMERIC, HL7Facts, render_oru
from rupa_desk.services.store import Store
from rupa_desk.services.store.lab_results import LabResults
from rupa_desk.ui.pages.results_inbox import ANALYTE, FLAG, REVIEWED, TOLD, ResultsInboxPage
from rupa_desk.ui.presenters.results_inbox import (
    FIRST_PART_SIZE,
    PART_SIZE,
    ResultsInboxPresenter,
)
from rupa_desk.ui.theme import Tone
from rupa_desk.ui.widgets.keyed_table import CHIP_ROLE
from tests.fixtures.qt import wait_until

COLLECTED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def message(test_id: str, markers: tuple[str, ...]) -> bytes:
    return render_oru(
        HL7Facts(
            ordered_test_id=test_id,
            order_id="ord_Inbox01",
            test_name="Metabolic Panel",
            lab_name="Acme Labs",
            biomarkers=markers,
            patient_id="pat_0000001",
            patient_first_name="Ada",
            patient_last_name="Lovelace",
            patient_birthday="1990-01-01",
            collected=COLLECTED,
            reported=COLLECTED,
            final=True,
            corrected=False,
        )
    )


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def store(app_paths: AppPaths) -> Iterator[Store]:
    with Store.open(app_paths.data_dir / "inbox-test.sqlite3") as opened:
        yield opened


async def test_newest_and_flagged_first_the_filter_and_the_marks(
    qtbot: QtBot, store: Store
) -> None:
    clock = Clock()
    results = LabResults(store.db, clock=clock)
    markers = ("Glucose", "Sodium", "Potassium", "TSH", "Ferritin", "Iron", "Calcium")
    results.save("ord_Inbox01", "ordts_Old01", COLLECTED, message("ordts_Old01", markers))
    clock.now += timedelta(hours=2)
    results.save("ord_Inbox01", "ordts_New01", COLLECTED, message("ordts_New01", markers))
    presenter = ResultsInboxPresenter(results, who="Front Desk")
    page = ResultsInboxPage(presenter)
    qtbot.addWidget(page)
    items = results.inbox()
    assert [i.ordered_test_id for i in items[: len(items) // 2]] == ["ordts_New01"] * (
        len(items) // 2
    ), "newest first"
    newest = [i for i in items if i.ordered_test_id == "ordts_New01"]
    flagged = [i.abnormal for i in newest]
    assert flagged == sorted(flagged, reverse=True), "flagged first among one arrival"
    assert any(flagged)
    assert page.model.rowCount() == len(items)
    for row, item in enumerate(items):
        assert page.cell(row, ANALYTE) == item.analyte
        tone = page.model.index(row, FLAG).data(CHIP_ROLE)
        assert (tone in (Tone.WARNING, Tone.DANGER)) == item.abnormal
        assert (page.cell(row, FLAG) != "") == item.abnormal  # words, not colour alone

    page.not_told.setChecked(True)
    abnormal = [i for i in items if i.abnormal]
    assert page.model.rowCount() == len(abnormal)
    page.select_rows([0, 1])
    chosen = page.selected_ids()
    assert len(chosen) == 2
    clock.now += timedelta(minutes=5)
    page.told_button.click()
    assert page.model.rowCount() == len(abnormal) - 2, "told: off the filtered list"
    page.not_told.setChecked(False)
    told_rows = [r for r in range(page.model.rowCount()) if page.cell(r, TOLD)]
    assert len(told_rows) == 2
    assert page.cell(told_rows[0], TOLD).startswith("Front Desk, ")
    marked = {i.id: i for i in results.inbox()}
    assert {marked[i].told_by for i in chosen} == {"Front Desk"}
    assert {marked[i].told_at for i in chosen} == {clock.now}

    # "Reviewed by practitioner": who and when, kept here, shown in its column
    page.select_rows([0])
    [reviewed] = page.selected_ids()
    clock.now += timedelta(minutes=5)
    page.reviewed_button.click()
    assert page.cell(0, REVIEWED).startswith("Front Desk, ")
    marked = {i.id: i for i in results.inbox()}
    assert (marked[reviewed].reviewed_by, marked[reviewed].reviewed_at) == ("Front Desk", clock.now)
    assert [i for i in marked.values() if i.reviewed_by is not None] == [marked[reviewed]]


async def test_showing_the_inbox_counts_as_having_looked(qtbot: QtBot, store: Store) -> None:
    store.lab_results.save(
        "ord_Inbox01", "ordts_One01", COLLECTED, message("ordts_One01", ("TSH",))
    )
    assert store.lab_results.unseen_count() == 2  # TSH and the interpretation
    presenter = ResultsInboxPresenter(store.lab_results, who="Front Desk")
    seen: list[bool] = []
    presenter.seen.connect(lambda: seen.append(True))
    page = ResultsInboxPage(presenter)
    qtbot.addWidget(page)
    assert store.lab_results.unseen_count() == 2  # built, not shown yet
    page.show()
    assert seen == [True]
    assert store.lab_results.unseen_count() == 0


async def test_a_long_inbox_is_read_in_parts_and_lists_every_value(
    qtbot: QtBot, store: Store
) -> None:
    markers = tuple(NUMERIC)[:49]
    for index in range(10):  # 10 x 50 values: more than two parts
        test_id = f"ordts_Long{index:02d}"
        store.lab_results.save("ord_Inbox01", test_id, COLLECTED, message(test_id, markers))
    expected = [str(item.id) for item in store.lab_results.inbox()]
    assert len(expected) > FIRST_PART_SIZE + PART_SIZE
    presenter = ResultsInboxPresenter(store.lab_results, who="Front Desk")
    page = ResultsInboxPage(presenter)
    qtbot.addWidget(page)
    assert page.model.rowCount() == FIRST_PART_SIZE, "the first part at once"
    assert page.loading
    assert "reading more" in page.count_label.text()
    await wait_until(lambda: not page.loading)
    assert page.model.keys() == expected
    assert page.count_label.text().startswith(f"{len(expected)} values, ")
