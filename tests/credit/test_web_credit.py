"""POST /api/credit/check through FastAPI, against the fake credit service."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from paymatch.credit.client import CreditClient
from paymatch.credit.decision import CreditChecker
from paymatch.credit.signing import HmacSigner
from paymatch.instalments.config import DEFAULT_CONFIG
from paymatch.web.credit import make_router
from tests.credit.fake_service import FakeCreditService

SECRET = "web-secret"


@pytest.fixture
def api():
    with FakeCreditService(HmacSigner(SECRET.encode()), available_fen=50_000) as svc:
        checker = CreditChecker(CreditClient(svc.url, secret=SECRET, timeout=0.5, retries=0, total_timeout=1.0),
                                outstanding=lambda m: 10_000 if m == "m1" else 0,
                                config=DEFAULT_CONFIG, channel="huabei")
        app = FastAPI()
        app.include_router(make_router(checker))
        yield TestClient(app), svc


def test_yuan_amount_approved_with_remaining_limit(api):
    client, _ = api
    r = client.post("/api/credit/check", json={"member_id": "m1", "amount": "399.99", "term": 6})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["approve"] and body["remaining_limit_fen"] == 40_000 and body["remaining_limit"] == "400.00"


def test_amount_fen_denied_over_limit(api):
    client, _ = api
    r = client.post("/api/credit/check", json={"member_id": "m1", "amount_fen": 40_001, "term": 3})
    assert r.status_code == 200 and not r.json()["approve"]


def test_service_failure_answers_policy(api):
    client, svc = api
    svc.mode = "5xx"
    body = client.post("/api/credit/check", json={"member_id": "m2", "amount": "1.00", "term": 3}).json()
    assert body == {**body, "approve": False, "reason": "credit service unavailable", "remaining_limit": None,
                    "source": "policy"}


@pytest.mark.parametrize("payload", [
    {"member_id": "m1", "amount": "1.001", "term": 3},
    {"member_id": "m1", "amount": "1.00", "amount_fen": 100, "term": 3},
    {"member_id": "m1", "term": 3},
    {"member_id": "m1", "amount": "-1.00", "term": 3},
    {"member_id": "m1", "amount": "1.00", "term": 0},
    {"member_id": "m1", "amount": "1.00", "term": 5},
    {"member_id": "", "amount": "1.00", "term": 3},
    {"member_id": "m1", "amount_fen": "100", "term": 3},
])
def test_bad_requests_are_422(api, payload):
    client, svc = api
    r = client.post("/api/credit/check", json=payload)
    assert r.status_code == 422, r.text
    assert svc.calls == 0
