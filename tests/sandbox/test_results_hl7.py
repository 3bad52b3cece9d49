"""The simulator's `results_hl7`: ORU^R01 messages, read by an independent HL7 library
(hl7apy) and compared with what the app's reader makes of them, value by value."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from hl7apy.core import Message, Segment
from hl7apy.parser import parse_message

from rupa_desk.core.hl7_results import UnreadableResults, read_results, result_rows
from rupa_desk.sandbox.__main__ import config_from, parse_args
from rupa_desk.sandbox.config import demo_config
from tests.fixtures.sandbox import SandboxControl
from tests.sandbox.test_lifecycle import fetch, order_with_tests

STATUS_WORDS = {"P": "Preliminary", "F": "Final", "C": "Corrected", "I": "Pending"}
ESCAPES = {"F": "|", "S": "^", "T": "&", "R": "~", "E": "\\", ".br": "\n"}


def unescape(text: str) -> str:
    """The test's own undoing of the escapes the simulator writes (hl7apy keeps them)."""
    return re.sub(r"\\(F|S|T|R|E|\.br)\\", lambda m: ESCAPES[m.group(1)], text)


def independent_rows(message: Message) -> list[dict[str, Any]]:
    """What each OBX says, read through hl7apy's tree: analyte, value, units, range, flags,
    status, in the words the desk is shown."""
    rows = []
    for segment in message.children:
        if segment.name != "OBX":
            continue
        assert isinstance(segment, Segment)
        value_type = segment.obx_2.value
        status = segment.obx_11.value
        components = [c.value for c in segment.obx_3.children]
        if value_type == "NM":
            value = unescape(segment.obx_5[0].value)
        elif value_type == "SN":
            value = "".join(c.value for c in segment.obx_5[0].children)
        elif value_type == "CWE":
            value = unescape(segment.obx_5[0].children[1].value)
        elif value_type == "TX":
            value = "\n".join(unescape(r.value) for r in segment.obx_5)
        else:
            value = ""
        units = [c.value for c in segment.obx_6[0].children] if len(segment.obx_6) else [""]
        rows.append(
            {
                "analyte": unescape(components[1]),
                "value": value or "Pending",
                "units": unescape(units[0]),
                "reference_range": unescape(segment.obx_7.value) if len(segment.obx_7) else "",
                "flag_codes": tuple(r.value for r in segment.obx_8 if r.value not in ("", "N")),
                "status": STATUS_WORDS[status],
            }
        )
    return rows


def app_rows(data: bytes) -> list[dict[str, Any]]:
    return [
        {
            key: value
            for key, value in row.as_dict().items()
            if key in ("analyte", "value", "units", "reference_range", "status")
        }
        | {"flag_codes": row.flag_codes}
        for row in result_rows(read_results(data))
    ]


def hl7_of(api: httpx.Client, ordered_test: dict[str, Any]) -> bytes:
    url = ordered_test["attributes"]["results_hl7"]
    assert url.endswith("/results.hl7")
    response = api.get(url)
    assert response.status_code == 200
    return response.content


def independent(data: bytes) -> Message:
    message = parse_message(data.decode("utf-8"), find_groups=False)
    assert isinstance(message, Message)
    return message


def test_every_value_the_app_shows_is_what_the_message_says(
    api: httpx.Client, sandbox_control: SandboxControl
) -> None:
    tests = api.get("/lab_tests", params={"page[size]": 200}).json()["data"]
    wanted = {"Glucose", "TSH", "Ferritin", "Hemoglobin A1c", "Candida albicans", "MTHFR C677T"}
    ids = [
        t["id"]
        for t in tests
        if t["attributes"]["is_active"] and wanted & set(t["attributes"]["biomarkers"])
    ][:6]
    order = sandbox_control.create_order(lab_tests=[*ids, tests[0]["id"]])
    sandbox_control.advance_order(order["id"], to="Complete")
    _, ordered = fetch(api, order["id"])
    kinds: set[str] = set()
    flags: set[str] = set()
    loincs = 0
    for test in ordered:
        data = hl7_of(api, test)
        message = independent(data)
        assert message.msh.msh_9.to_er7() == "ORU^R01^ORU_R01"
        expected = independent_rows(message)
        assert app_rows(data) == expected
        assert {row["status"] for row in expected} == {"Final"}
        report = read_results(data)
        kinds |= {o.value_type for o in report.observations()}
        flags |= {f.code for o in report.observations() for f in o.flags}
        loincs += sum(1 for o in report.observations() if o.loinc)
    assert {"NM", "TX", "CWE"} <= kinds, "numeric, coded and text results"
    assert flags & {"H", "L", "HH", "LL", "A"}, "some results are flagged"
    assert loincs > 0, "LOINC codes where a plausible one exists"


def test_results_are_preliminary_with_pending_ones_then_final(
    api: httpx.Client, sandbox_control: SandboxControl
) -> None:
    order = order_with_tests(api, sandbox_control, 1)
    sandbox_control.advance_order(order["id"], to="Partial Results")
    _, (test,) = fetch(api, order["id"])
    preliminary = read_results(hl7_of(api, test))
    statuses = [o.status.value for o in preliminary.observations()]
    assert "Pending" in statuses
    assert "Preliminary" in statuses
    assert "Final" not in statuses
    assert preliminary.panels[0].pending
    assert app_rows(hl7_of(api, test)) == independent_rows(independent(hl7_of(api, test)))

    sandbox_control.advance_order(order["id"], to="Complete")
    _, (test,) = fetch(api, order["id"])
    final = read_results(hl7_of(api, test))
    assert {o.status.value for o in final.observations()} == {"Final"}
    assert not final.panels[0].pending


def test_a_correction_after_completion_is_a_new_result_event_marked_corrected(
    api: httpx.Client, sandbox_control: SandboxControl
) -> None:
    order = order_with_tests(api, sandbox_control, 1)
    sandbox_control.advance_order(order["id"], to="Complete")
    _, (before,) = fetch(api, order["id"])
    sandbox_control.correct_results(before["id"])
    _, (after,) = fetch(api, order["id"])
    assert (
        after["attributes"]["date_results_received_from_lab"]
        != before["attributes"]["date_results_received_from_lab"]
    )
    data = hl7_of(api, after)
    assert app_rows(data) == independent_rows(independent(data))
    corrected = [o for o in read_results(data).observations() if o.status.value == "Corrected"]
    assert len(corrected) == 1
    assert corrected[0].comments[0].startswith("Corrected result: previously reported as")


def test_results_can_only_be_corrected_once_final(
    api: httpx.Client, sandbox_control: SandboxControl
) -> None:
    order = order_with_tests(api, sandbox_control, 1)
    _, (test,) = fetch(api, order["id"])
    with pytest.raises(httpx.HTTPStatusError):
        sandbox_control.correct_results(test["id"])


def test_some_completed_tests_are_corrected_a_day_later_on_the_clock(
    api: httpx.Client, sandbox_control: SandboxControl
) -> None:
    sandbox_control.set_faults(hl7_correction_rate=1.0)
    order = order_with_tests(api, sandbox_control, 2)
    sandbox_control.advance_order(order["id"], to="Complete")
    _, ordered = fetch(api, order["id"])
    assert all(
        "C" not in {o.status.name[0] for o in read_results(hl7_of(api, t)).observations()}
        for t in ordered
    )
    sandbox_control.set_clock(advance_s=2 * 24 * 3600)
    _, ordered = fetch(api, order["id"])
    for test in ordered:
        statuses = {o.status.value for o in read_results(hl7_of(api, test)).observations()}
        assert "Corrected" in statuses


def test_fault_unknown_segments_are_in_the_message_and_skipped_by_the_app(
    api: httpx.Client, sandbox_control: SandboxControl
) -> None:
    sandbox_control.set_faults(hl7_unknown_segments=True)
    order = order_with_tests(api, sandbox_control, 1)
    sandbox_control.advance_order(order["id"], to="Complete")
    _, (test,) = fetch(api, order["id"])
    data = hl7_of(api, test)
    assert {s.name for s in independent(data).children} >= {"ZRS", "ZPI"}
    assert read_results(data).unknown_segments == ("ZRS", "ZPI")
    assert app_rows(data) == independent_rows(independent(data))


@pytest.mark.parametrize(
    ("fault", "words"),
    [("hl7_malformed", "could not be read"), ("hl7_wrong_charset", "character set")],
)
def test_fault_messages_the_app_cannot_read_are_refused_with_words(
    api: httpx.Client, sandbox_control: SandboxControl, fault: str, words: str
) -> None:
    sandbox_control.set_faults(**{fault: True})
    order = order_with_tests(api, sandbox_control, 1)
    sandbox_control.advance_order(order["id"], to="Complete")
    _, (test,) = fetch(api, order["id"])
    with pytest.raises(UnreadableResults, match=words):
        read_results(hl7_of(api, test))


def test_demo_mode_corrects_some_results_after_completion() -> None:
    config = demo_config()
    assert 0 < config.hl7_correction_rate < 1
    assert config.fault_settings().hl7_correction_rate == config.hl7_correction_rate


def test_the_command_line_sets_the_hl7_switches() -> None:
    config = config_from(
        parse_args(["--hl7-malformed", "--hl7-wrong-charset", "--hl7-correction-rate", "0.5"])
    )
    assert (config.hl7_malformed, config.hl7_wrong_charset) == (True, True)
    assert config.hl7_unknown_segments is False
    assert config.hl7_correction_rate == 0.5
    with pytest.raises(ValueError, match="hl7_correction_rate"):
        config_from(parse_args(["--hl7-correction-rate", "2"]))
