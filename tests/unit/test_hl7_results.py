"""Structured results: an ORU^R01 message read into panels, results, flags and statuses."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rupa_desk.core.hl7_results import (
    ResultsReport,
    ResultStatus,
    UnreadableResults,
    read_results,
    result_rows,
)

MSH = "MSH|^~\\&|LAB|ACME|RUPA|DESK|20261207101500||ORU^R01^ORU_R01|MSG1|P|2.5.1"


def message(*segments: str, msh: str = MSH) -> str:
    return "\r".join([msh, "PID|1||P1", *segments])


PANEL = "OBR|1|OT1||24323-8^Comprehensive metabolic panel^LN|||20261205||||||||||||||||||F"


def test_a_numeric_result_has_its_value_units_range_flag_and_loinc_code() -> None:
    report = read_results(message(PANEL, "OBX|1|NM|2345-7^Glucose^LN||105|mg/dL|70-99|H|||F"))
    (glucose,) = report.panels[0].observations
    assert (glucose.analyte, glucose.value, glucose.numeric) == ("Glucose", "105", Decimal(105))
    assert (glucose.units, glucose.reference_range, glucose.loinc) == ("mg/dL", "70-99", "2345-7")
    assert [(f.code, f.words) for f in glucose.flags] == [("H", "High")]
    assert glucose.status is ResultStatus.FINAL
    assert report.panels[0].name == "Comprehensive metabolic panel"
    assert report.panels[0].loinc == "24323-8"


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("H", "High"),
        ("L", "Low"),
        ("HH", "Critically high"),
        ("LL", "Critically low"),
        ("A", "Abnormal"),
        ("ZQ", "Flagged by the lab"),
    ],
)
def test_abnormal_flags_read_as_words(code: str, words: str) -> None:
    report = read_results(message(PANEL, f"OBX|1|NM|X^Iron||9|ug/dL|50-170|{code}|||F"))
    assert result_rows(report)[0].flags == (words,)
    assert report.abnormal_count == 1


def test_a_normal_flag_is_no_flag() -> None:
    report = read_results(message(PANEL, "OBX|1|NM|X^Iron||90|ug/dL|50-170|N|||F"))
    assert result_rows(report)[0].flags == ()
    assert report.abnormal_count == 0


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("P", ResultStatus.PRELIMINARY),
        ("F", ResultStatus.FINAL),
        ("C", ResultStatus.CORRECTED),
        ("X", ResultStatus.CANCELED),
        ("Q", ResultStatus.PRELIMINARY),  # unknown: never shown as final
    ],
)
def test_result_statuses(code: str, status: ResultStatus) -> None:
    report = read_results(message(PANEL, f"OBX|1|NM|X^Iron||90|ug/dL|50-170||||{code}"))
    assert report.panels[0].observations[0].status is status


def test_a_result_not_in_yet_is_pending_and_named_as_such() -> None:
    report = read_results(
        message(
            PANEL.replace("||F", "||P"),
            "OBX|1|NM|2345-7^Glucose^LN||105|mg/dL|70-99||||P",
            "OBX|2||2951-2^Sodium^LN||||||||I",
        )
    )
    assert report.panels[0].pending == ("Sodium",)
    assert result_rows(report)[1].value == "Pending"
    assert report.status is ResultStatus.PENDING


def test_structured_numeric_coded_and_text_values() -> None:
    report = read_results(
        message(
            PANEL,
            "OBX|1|SN|5048-4^ANA titer^LN||^1^:^160||<1:40|A|||F",
            "OBX|2|SN|X^CRP||<^0.5|mg/L|<3||||F",
            "OBX|3|CWE|5778-6^Color^LN||YEL^Yellow^HL70000||||||F",
            "OBX|4|TX|X^Interpretation||First line~Second line||||||F",
        )
    )
    values = [(o.value, o.numeric) for o in report.observations()]
    assert values == [
        ("1:160", None),
        ("<0.5", None),
        ("Yellow", None),
        ("First line\nSecond line", None),
    ]


def test_escapes_are_undone_and_line_breaks_kept() -> None:
    report = read_results(
        message(
            PANEL,
            "OBX|1|TX|X^Note||A \\T\\ B \\F\\ C\\.br\\next \\S\\ \\E\\||||||F",
            "NTE|1||Fasting \\T\\ rested",
        )
    )
    (note,) = report.observations()
    assert note.value == "A & B | C\nnext ^ \\"
    assert note.comments == ("Fasting & rested",)


def test_a_long_text_result_and_a_long_comment_are_read_whole() -> None:
    """A lab's interpretation runs to paragraphs: a line is not a short field."""
    paragraph = " ".join(["Interpretation"] * 60)
    report = read_results(
        message(PANEL, f"OBX|1|TX|X^Note||{paragraph}~Second line||||||F", f"NTE|1||{paragraph}")
    )
    (note,) = report.observations()
    assert note.value == f"{paragraph}\nSecond line"
    assert note.comments == (paragraph,)
    with pytest.raises(UnreadableResults):
        read_results(message(PANEL, f"OBX|1|NM|X^{paragraph}||90||||||F"))  # a name is short


def test_comments_belong_to_the_result_panel_or_message_they_follow() -> None:
    report = read_results(
        message(
            "NTE|1||About the whole report",
            PANEL,
            "NTE|1||About the panel",
            "OBX|1|NM|X^Iron||90|ug/dL|50-170||||F",
            "NTE|1||About iron",
        )
    )
    assert report.comments == ("About the whole report",)
    assert report.panels[0].comments == ("About the panel",)
    assert report.panels[0].observations[0].comments == ("About iron",)


def test_unknown_segments_are_skipped_and_named() -> None:
    report = read_results(
        message(PANEL, "ZLB|1|lab stuff", "OBX|1|NM|X^Iron||90|ug/dL|||||F", "ZLB|2")
    )
    assert report.unknown_segments == ("ZLB",)
    assert len(list(report.observations())) == 1


def test_line_feeds_between_segments_are_read_like_carriage_returns() -> None:
    text = message(PANEL, "OBX|1|NM|X^Iron||90|ug/dL|||||F").replace("\r", "\r\n")
    assert result_rows(read_results(text))[0].value == "90"
    assert result_rows(read_results(text.replace("\r\n", "\n")))[0].value == "90"


def test_bytes_are_decoded_by_the_declared_character_set() -> None:
    utf8 = MSH + "||||||UNICODE UTF-8"
    latin = MSH + "||||||8859/1"
    obx = "OBX|1|TX|X^Note||Trés bien||||||F"
    assert read_results(message(PANEL, obx, msh=utf8).encode())  # utf-8 as declared
    assert (
        next(read_results(message(PANEL, obx, msh=latin).encode("latin-1")).observations()).value
        == "Trés bien"
    )
    with pytest.raises(UnreadableResults, match="character set"):
        read_results(message(PANEL, obx, msh=utf8).encode("latin-1"))
    with pytest.raises(UnreadableResults, match="character set"):
        read_results(message(PANEL, obx, msh=MSH + "||||||ISO IR87").encode())


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello",
        "MSH",
        "MSH|^~\\&",
        "PID|1||P1\rOBX|1|NM|X||1",
        "MSH|^~\\&|LAB|ACME|||20261207||ADT^A01|1|P|2.5.1",  # not results
        "MSH|aaaa|LAB",
        message(PANEL, "OBX|1|NM|X^Iron\x07||90"),  # a control character
        message(PANEL, "OBX|1|NM|X^Iron||90|||H\\T\\X|||F"),  # a flag that is no flag
        message(PANEL, "OBX|1|TX|X^Note||a\\\\b"),  # an empty escape sequence
        message(PANEL, "OBX|1|TX|X^Note||a\\.sp99999999\\b"),  # a count beyond reason
        message(PANEL, "OBX|1|TX|X^Note||a\\Zlocal\\b"),  # a sequence it cannot undo
    ],
)
def test_what_is_not_a_results_message_is_refused_with_words_for_the_desk(text: str) -> None:
    with pytest.raises(UnreadableResults) as caught:
        read_results(text)
    assert "PDF" in caught.value.user_message


def test_the_rows_say_the_same_as_the_json() -> None:
    report = read_results(message(PANEL, "OBX|1|NM|2345-7^Glucose^LN||105|mg/dL|70-99|H|||C"))
    (row,) = result_rows(report)
    assert row.as_dict() == {
        "panel": "Comprehensive metabolic panel",
        "analyte": "Glucose",
        "value": "105",
        "units": "mg/dL",
        "reference_range": "70-99",
        "flags": ["High"],
        "flag_codes": ["H"],
        "status": "Corrected",
        "comments": "",
    }


field_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40
) | st.sampled_from(["NM", "SN", "CWE", "TX", "H", "LL", "F", "C", "P", "^", "~", "\\", "&"])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.lists(field_text, min_size=0, max_size=15), min_size=1, max_size=5))
def test_random_result_content_is_read_or_refused_never_a_crash(
    obx_fields: list[list[str]],
) -> None:
    segments = [PANEL, *("OBX|" + "|".join(fields) for fields in obx_fields)]
    text = message(*segments)
    for data in (text, text.encode("utf-8", "surrogatepass")):
        outcome = read_or_refuse(data)
        if isinstance(outcome, UnreadableResults):
            assert outcome.user_message
        else:
            assert isinstance(outcome, ResultsReport)
            for row in result_rows(outcome):
                assert isinstance(row.value, str)


def read_or_refuse(data: bytes | str) -> ResultsReport | UnreadableResults:
    try:
        return read_results(data)
    except UnreadableResults as exc:
        return exc


def test_reading_leaves_the_cycle_collector_as_it_found_it() -> None:
    """The collector is paused while a message is read: on again after, also after a
    message that cannot be read, and left off when it was off (someone else's choice)."""
    import gc

    good = message(PANEL, "OBX|1|NM|2345-7^Glucose^LN||105|mg/dL|70-99|H|||F")
    assert gc.isenabled()
    read_results(good)
    assert gc.isenabled()
    with pytest.raises(UnreadableResults):
        read_results("not a message")
    assert gc.isenabled()
    gc.disable()
    try:
        read_results(good)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_readings_in_several_threads_turn_the_collector_back_on_after_the_last() -> None:
    import gc
    import threading

    big = message(
        PANEL, *(f"OBX|{i}|NM|2345-7^Glucose {i}^LN||{i}|mg/dL|70-99||||F" for i in range(1, 200))
    )
    start = threading.Barrier(4)
    failures: list[BaseException] = []

    def read_many() -> None:
        try:
            start.wait()
            for _ in range(20):
                assert len(read_results(big).panels[0].observations) == 199
        except BaseException as exc:  # reported below, in the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=read_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert gc.isenabled()
