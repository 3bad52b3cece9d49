"""Every RupaClient action against the simulator over real HTTP, and pagination to the end of
a 5,000-test catalog."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from rupa_desk.core.status import is_finished
from rupa_desk.sandbox.server import SandboxServer
from rupa_desk.services import listings
from rupa_desk.services.errors import NotFound, ValidationFailed
from tests.fixtures.browser import PractitionerBrowser
from tests.fixtures.rupa_client import RequestLog, signed_in
from tests.fixtures.sandbox import SandboxControl, SandboxFactory


async def test_the_signed_in_practitioner_and_their_clinic(
    sandbox: SandboxServer, practitioner_browser: PractitionerBrowser
) -> None:
    async with signed_in(sandbox.url, practitioner_browser) as (_, client):
        me = await client.me()
    assert me.clinic is not None
    assert me.clinic_id == me.clinic.id
    assert me.titled_full_name


async def test_patients_list_filter_create_and_get(
    sandbox: SandboxServer, practitioner_browser: PractitionerBrowser
) -> None:
    email = f"new-{uuid.uuid4().hex[:8]}@example.test"
    async with signed_in(sandbox.url, practitioner_browser) as (_, client):
        patients = [p async for p in client.iterate(listings.patients(page_size=7))]
        created, was_new = await client.create_patient("Ada", "Lovelace", email)
        again, was_new_again = await client.create_patient("Ada", "Lovelace", email)
        by_email = [p async for p in client.iterate(listings.patients(email))]
        fetched = await client.get_patient(created.id)
        page = await client.first_page(listings.patients(page_size=5))
        with pytest.raises(NotFound):
            await client.get_patient("pat_0000000")
        with pytest.raises(ValidationFailed) as invalid:
            await client.create_patient("Ada", "Lovelace", "not an email")
    assert len(patients) == 30  # small_config
    assert len({p.id for p in patients}) == 30
    assert (was_new, was_new_again) == (True, False)
    assert again.id == created.id
    assert [p.id for p in by_email] == [created.id]
    assert fetched.email == email
    assert len(page.items) == 5
    assert "email" in invalid.value.field_errors


async def test_lab_companies_and_lab_tests(
    sandbox: SandboxServer, practitioner_browser: PractitionerBrowser
) -> None:
    async with signed_in(sandbox.url, practitioner_browser) as (_, client):
        companies = [c async for c in client.iterate(listings.lab_companies(page_size=10))]
        company = companies[0]
        companies_page = await client.first_page(listings.lab_companies(page_size=10))
        tests = [
            t async for t in client.iterate(listings.lab_tests(include_company=True, page_size=100))
        ]
        of_company = [t async for t in client.iterate(listings.lab_tests(lab_company=company.id))]
        first = await client.first_page(listings.lab_tests(page_size=100))
        second = await client.next_page(first)
    assert len(companies) == 35
    assert len(companies_page.items) == 10
    assert len(tests) == 300
    assert all(t.lab_company is not None and t.lab_company.id == t.lab_company_id for t in tests)
    assert of_company
    assert all(t.lab_company_id == company.id for t in of_company)
    assert [t.id for t in second.items] == [t.id for t in tests[100:200]]


async def test_order_intents_create_update_get_and_find_by_draft(
    sandbox: SandboxServer, practitioner_browser: PractitionerBrowser
) -> None:
    draft_id = f"draft-{uuid.uuid4().hex[:8]}"
    return_url = f"http://127.0.0.1:1/return?draft={draft_id}"
    async with signed_in(sandbox.url, practitioner_browser) as (_, client):
        patient = await anext(client.iterate(listings.patients()))
        tests = (await client.first_page(listings.lab_tests(page_size=3))).items[:3]
        intent = await client.create_order_intent(
            patient.id, [tests[0].id], return_url, {"draft_id": draft_id}, "first note"
        )
        updated = await client.update_order_intent(
            intent.id, lab_test_ids=[tests[1].id, tests[2].id], notes=""
        )
        fetched = await client.get_order_intent(intent.id)
        found = await client.order_intents_for_draft(draft_id)
        none_found = await client.order_intents_for_draft("no-such-draft")
    assert intent.checkout_url
    assert intent.status == "open"
    assert intent.patient_id == patient.id
    assert intent.lab_test_ids == (tests[0].id,)
    assert intent.notes == "first note"
    assert intent.metadata == {"draft_id": draft_id}
    assert updated.lab_test_ids == (tests[1].id, tests[2].id)
    assert updated.notes == ""
    assert fetched.lab_test_ids == updated.lab_test_ids
    assert fetched.order_id is None
    assert [i.id for i in found] == [intent.id]
    assert none_found == []


async def test_orders_list_filters_get_and_download_results(
    sandbox: SandboxServer,
    practitioner_browser: PractitionerBrowser,
    sandbox_control: SandboxControl,
    tmp_path: Path,
) -> None:
    made = sandbox_control.create_order(status="Complete")
    order_id = made["id"]
    async with signed_in(sandbox.url, practitioner_browser) as (_auth, client):
        orders = [o async for o in client.iterate(listings.orders(page_size=10))]
        patient_id = orders[0].patient_id
        assert patient_id is not None
        of_patient = [o async for o in client.iterate(listings.orders(patient=patient_id))]
        complete = [o async for o in client.iterate(listings.orders(status="Complete"))]
        open_ones = [
            o async for o in client.iterate(listings.orders(status=["Paid", "In Progress"]))
        ]
        me = await client.me()
        mine = [o async for o in client.iterate(listings.orders(practitioner=me.id))]
        page = await client.first_page(listings.orders(page_size=5))
        order = await client.get_order(order_id)
        ordered_test = order.ordered_tests[0]
        assert ordered_test.results_pdf is not None
        saved = await client.download(ordered_test.results_pdf, tmp_path / "results.pdf")
    assert len(orders) >= 22  # small_config's 21 and the one made here
    assert all(o.patient_id == patient_id for o in of_patient)
    assert order_id in {o.id for o in complete}
    assert all(o.status == "Complete" for o in complete)
    assert all(o.status in ("Paid", "In Progress") for o in open_ones)
    assert mine
    assert len(page.items) == 5
    assert order.status == "Complete"
    assert is_finished(order)
    assert order.patient is not None
    assert order.patient.id == order.patient_id
    assert len(order.ordered_tests) == len(order.ordered_test_ids) >= 1
    assert ordered_test.date_results_received_from_lab is not None
    assert saved.read_bytes().startswith(b"%PDF")


async def test_pagination_to_the_end_of_a_5000_test_catalog(
    sandbox_factory: SandboxFactory,
) -> None:
    sandbox = sandbox_factory(lab_tests=5000)
    log = RequestLog(sandbox.url)
    with PractitionerBrowser(sandbox.url) as browser:
        async with signed_in(sandbox.url, browser) as (_, client):
            since = await log.last_seq()
            ids = [t.id async for t in client.iterate(listings.lab_tests(page_size=100))]
    assert len(ids) == 5000
    assert len(set(ids)) == 5000
    pages = [e for e in await log.entries(since) if e.path == "/lab_tests"]
    assert len(pages) == 50
    assert all(e.status == 200 for e in pages)
