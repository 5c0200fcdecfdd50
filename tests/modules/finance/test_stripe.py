"""Stripe Connect over real HTTP: the SDK against a local fake Stripe, webhooks signed by the SDK."""

from __future__ import annotations

import asyncio
import socket
import uuid

import orjson
import pytest
import stripe
import uvicorn

from tests.modules.finance.conftest import Books
from tests.modules.finance.test_postings_api import INVOICES, _sold
from tests.support.fake_stripe import FakeStripe

SECRET = "whsec_test_secret"


@pytest.fixture(scope="module")
async def fake_stripe():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    fake = FakeStripe()
    server = uvicorn.Server(uvicorn.Config(fake.app, host="127.0.0.1", port=port, log_level="error"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    fake.base = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
    yield fake
    server.should_exit = True
    await task


@pytest.fixture
def stripe_settings(settings, fake_stripe, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(settings, "stripe_secret_key", "sk_test_jishi")
    monkeypatch.setattr(settings, "stripe_webhook_secret", SECRET)
    monkeypatch.setattr(settings, "stripe_api_base", fake_stripe.base)
    return settings


def signed(event: dict, secret: str = SECRET) -> tuple[bytes, dict]:
    payload = orjson.dumps(event).decode()
    header = stripe.WebhookSignature.generate_signature_header(payload, secret)
    return payload.encode(), {"stripe-signature": header, "content-type": "application/json"}


async def test_a_card_payment_from_intent_to_webhook(books: Books, client, fake_stripe, stripe_settings):
    oid, _ = await _sold(books)
    invoice = (await books(INVOICES, {"id": oid}))["data"]["node"]["invoices"][0]
    create = """mutation($i: ID!) { paymentIntentCreate(input: {invoiceId: $i}) { paymentIntentId clientSecret
        amount { amount currencyCode } userErrors { field code } } }"""
    r = await books(create, {"i": invoice["id"]})
    assert r["data"]["paymentIntentCreate"]["userErrors"][0]["code"] == "STRIPE_NOT_CONNECTED"
    account = f"acct_{uuid.uuid4().hex[:12]}"
    r = await books("""mutation($a: String!) { financeSettingsUpdate(input: {stripeAccountId: $a}) {
        settings { stripeAccountId } userErrors { code } } }""", {"a": account})
    assert r["data"]["financeSettingsUpdate"]["settings"]["stripeAccountId"] == account
    first = (await books(create, {"i": invoice["id"]}))["data"]["paymentIntentCreate"]
    again = (await books(create, {"i": invoice["id"]}))["data"]["paymentIntentCreate"]
    assert first["amount"] == {"amount": "359.00", "currencyCode": "USD"} and first["clientSecret"]
    assert again["paymentIntentId"] == first["paymentIntentId"]  # the same idempotency key
    sent = fake_stripe.requests[-1]
    assert sent["headers"]["stripe-account"] == account
    assert sent["headers"]["idempotency-key"].startswith("jishi-pi-")
    assert sent["form"]["amount"] == "35900" and sent["form"]["currency"] == "usd"
    intent_id = first["paymentIntentId"]
    metadata = next(r for r in fake_stripe.requests if r["headers"]["stripe-account"] == account)["form"]
    succeeded = {"id": f"evt_{uuid.uuid4().hex[:10]}", "object": "event", "type": "payment_intent.succeeded",
                 "account": account, "data": {"object": {
                     "id": intent_id, "object": "payment_intent", "amount": 35900, "amount_received": 35900,
                     "currency": "usd", "metadata": {"jishi_invoice": metadata["metadata[jishi_invoice]"]}}}}
    body, headers = signed(succeeded)
    r = await client.post("/webhooks/stripe", content=body, headers=headers)
    assert r.status_code == 200 and r.json()["outcome"].startswith("payment PAY-")
    r = await client.post("/webhooks/stripe", content=body, headers=headers)  # Stripe retries
    assert r.json()["outcome"] == "duplicate"
    bad_body, bad_headers = signed(succeeded, secret="whsec_wrong")
    assert (await client.post("/webhooks/stripe", content=bad_body, headers=bad_headers)).status_code == 400
    tampered = body.replace(b"35900", b"99900")
    assert (await client.post("/webhooks/stripe", content=tampered, headers=headers)).status_code == 400
    paid = (await books(INVOICES, {"id": oid}))["data"]["node"]["invoices"][0]
    assert paid["status"] == "PAID"
    r = await books("{ payments(first: 5) { totalCount nodes { method amount { amount } } } }")
    assert r["data"]["payments"] == {"totalCount": 1, "nodes": [{"method": "STRIPE", "amount": {"amount": "359.00"}}]}
    refunded = {"id": f"evt_{uuid.uuid4().hex[:10]}", "object": "event", "type": "charge.refunded", "account": account,
                "data": {"object": {"id": "ch_1", "object": "charge", "payment_intent": intent_id,
                                    "amount_refunded": 10000, "currency": "usd"}}}
    body, headers = signed(refunded)
    r = await client.post("/webhooks/stripe", content=body, headers=headers)
    assert r.json()["outcome"] == "refund 100.00"
    reopened = (await books(INVOICES, {"id": oid}))["data"]["node"]["invoices"][0]
    assert (reopened["status"], reopened["balanceDue"]) == ("PARTIALLY_PAID", {"amount": "100.00"})
    assert await books.balance("ar") == "100.00"
    tb = await books.trial_balance()
    assert tb["totalDebit"] == tb["totalCredit"]


async def test_events_of_unknown_accounts_are_ignored(client, stripe_settings):
    body, headers = signed({"id": "evt_x", "object": "event", "type": "payment_intent.succeeded",
                            "account": "acct_nobody", "data": {"object": {"id": "pi_x", "object": "payment_intent"}}})
    r = await client.post("/webhooks/stripe", content=body, headers=headers)
    assert r.status_code == 200 and r.json()["outcome"] == "ignored: unknown account"
