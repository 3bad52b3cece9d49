"""RupaClient lists with records it cannot read (issue 18): the rest of the list arrives, the
count is logged, nothing of the records themselves is (they may hold patient data)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from rupa_desk.services import listings
from rupa_desk.services.api import RupaClient
from rupa_desk.services.errors import MalformedResponse
from tests.fixtures.fake_rupa import (
    FakeTokenSource,
    fast_environment,
    order_intent_resource,
    patient_resource,
)


def answering(body: dict[str, Any]) -> RupaClient:
    def handler(request: httpx.Request) -> httpx.Response:
        content = json.dumps(body)  # ASCII: a lone surrogate is sent escaped
        return httpx.Response(
            200, content=content, headers={"Content-Type": "application/vnd.api+json"}
        )

    return RupaClient(fast_environment(), FakeTokenSource(), transport=httpx.MockTransport(handler))


def order_resource(order_id: str, **attributes: Any) -> dict[str, Any]:
    return {
        "id": order_id,
        "type": "order",
        "attributes": {"status": "Paid", **attributes},
        "relationships": {"patient": {"data": {"type": "patient", "id": "pat_1"}}},
    }


async def test_a_patient_list_leaves_out_unreadable_patients_and_logs_only_the_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hostile = patient_resource("pat_2", email="grace@example.test")
    hostile["attributes"]["last_name"] = "Hopper\ud800"
    climbing = patient_resource("../../pat_3", email="alan@example.test")
    body = {"data": [patient_resource("pat_1"), hostile, climbing], "links": {"next": None}}
    async with answering(body) as client:
        patients = [p async for p in client.iterate(listings.patients())]
    assert [p.id for p in patients] == ["pat_1"]
    assert "left out 2 unreadable patient records" in caplog.text
    assert "example.test" not in caplog.text
    assert "Hopper" not in caplog.text
    assert "pat_3" not in caplog.text


async def test_an_order_page_keeps_its_skipped_count() -> None:
    body = {
        "data": [order_resource("ord_1"), order_resource("ord_2", total_price=1e30)],
        "links": {"next": None},
    }
    async with answering(body) as client:
        page = await client.first_page(listings.orders())
    assert [o.id for o in page.items] == ["ord_1"]
    assert page.skipped == 1


async def test_order_intents_by_draft_fail_whole_when_one_cannot_be_read() -> None:
    """Leaving one out would make the outbox create the draft's intent a second time."""
    bad = order_intent_resource("ordin_2", "draft_1")
    bad["attributes"]["checkout_url"] = "javascript:alert(1)"
    body = {"data": [order_intent_resource("ordin_1", "draft_1"), bad], "links": {}}
    async with answering(body) as client:
        with pytest.raises(MalformedResponse):
            await client.order_intents_for_draft("draft_1")


async def test_one_unreadable_order_intent_is_a_malformed_response(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bad = order_intent_resource("ordin_1", "draft_1")
    bad["attributes"]["checkout_url"] = "file:///etc/passwd"
    async with answering({"data": bad}) as client:
        with pytest.raises(MalformedResponse):
            await client.get_order_intent("ordin_1")
    assert "checkout_url is not an http(s) URL" in caplog.text
    assert "/etc/passwd" not in caplog.text
