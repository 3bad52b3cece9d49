"""The search box's debounce: the first key is searched at once, a quick burst only once more;
or, paced by the search, the keys typed while a search runs are searched once it ends."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from rupa_desk.ui.widgets.search_box import SearchBox


def test_a_burst_of_keys_is_searched_at_its_first_key_and_once_when_it_settles(
    qtbot: QtBot,
) -> None:
    box = SearchBox(settle_ms=80)
    qtbot.addWidget(box)
    reported: list[str] = []
    box.search_requested.connect(reported.append)

    qtbot.keyClicks(box, "vitamin")  # seven keys, far closer together than 80 ms
    assert reported == ["v"]  # the first key of the burst, at once
    qtbot.waitUntil(lambda: len(reported) == 2, timeout=2000)
    assert reported == ["v", "vitamin"]  # the six keys that followed: one search
    qtbot.wait(200)
    assert reported == ["v", "vitamin"]

    qtbot.keyClicks(box, " d")  # after a pause: its first key is searched at once again
    assert reported[2] == "vitamin "
    qtbot.waitUntil(lambda: reported[-1] == "vitamin d", timeout=2000)
    assert reported == ["v", "vitamin", "vitamin ", "vitamin d"]


def test_enter_searches_the_pending_text_without_waiting(qtbot: QtBot) -> None:
    box = SearchBox(settle_ms=5000)
    qtbot.addWidget(box)
    reported: list[str] = []
    box.search_requested.connect(reported.append)
    qtbot.keyClicks(box, "a1c")
    qtbot.keyClick(box, "\r")
    assert reported == ["a", "a1c"]


def test_a_box_paced_by_search_folds_the_keys_typed_while_a_search_runs(qtbot: QtBot) -> None:
    box = SearchBox(paced_by_search=True)
    qtbot.addWidget(box)
    reported: list[str] = []
    box.search_requested.connect(reported.append)

    qtbot.keyClicks(box, "vit")
    assert reported == ["v"]  # at once; "i" and "t" came while its search ran
    qtbot.keyClicks(box, "amin")
    qtbot.wait(200)  # no pause ends the wait: only the search's end does
    assert reported == ["v"]
    box.search_finished()
    assert reported == ["v", "vitamin"]  # one search for the newest text, at once
    box.search_finished()
    assert reported == ["v", "vitamin"]  # nothing was typed during that one

    for char in " d":  # each key typed after the search ended is searched at once
        qtbot.keyClick(box, char)
        box.search_finished()
    assert reported == ["v", "vitamin", "vitamin ", "vitamin d"]
    qtbot.wait(200)
    assert reported == ["v", "vitamin", "vitamin ", "vitamin d"]  # and only once
