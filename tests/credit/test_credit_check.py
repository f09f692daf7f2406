"""Credit checks against the fake credit service on 127.0.0.1: every mode, the time bound, RSA, audit."""

from __future__ import annotations

import json
import time

import duckdb
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from paymatch.credit.audit import DuckDBAudit, JsonlAudit
from paymatch.credit.client import CreditClient
from paymatch.credit.decision import UNAVAILABLE, CreditChecker, CreditPolicy
from paymatch.credit.signing import HmacSigner, RsaSigner
from paymatch.errors import ChannelError
from paymatch.instalments.config import DEFAULT_CONFIG
from paymatch.instalments.plan import PlanError
from tests.credit.fake_service import FakeCreditService

SECRET = b"test-shared-secret"


def _client(url, **kw):
    opts = {"secret": SECRET, "timeout": 0.3, "retries": 1, "total_timeout": 1.0}
    opts.update(kw)
    return CreditClient(url, **opts)


@pytest.fixture
def service():
    with FakeCreditService(HmacSigner(SECRET), available_fen=100_000, delay=1.5) as svc:
        yield svc


def test_approve_within_remaining_limit(service):
    checker = CreditChecker(_client(service.url))
    d = checker.check("m1", 50_000, 6, outstanding_fen=30_000)
    assert (d.approve, d.remaining_limit_fen, d.source) == (True, 70_000, "service")
    assert service.bad_requests == 0


def test_outstanding_instalments_can_push_over_the_limit(service):
    checker = CreditChecker(_client(service.url), outstanding=lambda member: 80_000)
    d = checker.check("m1", 30_000, 3)
    assert not d.approve and d.remaining_limit_fen == 20_000
    assert "exceeds remaining limit 200.00" in d.reason and "outstanding instalments 800.00" in d.reason


def test_deny_mode(service):
    service.mode = "deny"
    d = CreditChecker(_client(service.url)).check("m1", 100, 3)
    assert not d.approve and d.source == "service" and "risk score too low" in d.reason


@pytest.mark.parametrize("mode", ["slow", "5xx", "malformed", "badsig"])
def test_failures_fail_closed_by_default(service, mode):
    service.mode = mode
    d = CreditChecker(_client(service.url)).check("m1", 100, 3)
    assert (d.approve, d.reason, d.remaining_limit_fen, d.source) == (False, UNAVAILABLE, None, "policy")


@pytest.mark.parametrize("mode", ["5xx", "badsig"])
def test_fail_open_below_threshold(service, mode):
    service.mode = mode
    checker = CreditChecker(_client(service.url), policy=CreditPolicy(fail_open_below_fen=10_000))
    assert checker.check("m1", 9_999, 3).approve
    assert not checker.check("m1", 10_000, 3).approve


def test_client_errors_name_service_and_request(service):
    service.mode = "malformed"
    with pytest.raises(ChannelError, match=r"credit service http://127\.0\.0\.1:\d+/v1/credit/limit: request r-1: malformed"):
        _client(service.url).query("m1", 100, 3, request_id="r-1")
    service.mode = "badsig"
    with pytest.raises(ChannelError, match="signature"):
        _client(service.url).query("m1", 100, 3)


def test_retries_5xx_then_succeeds(service):
    service.mode, service.fail_first = "flaky", 1
    answer = _client(service.url, retries=2).query("m1", 100, 3)
    assert answer.approve and service.calls == 2


@pytest.mark.parametrize("mode", ["trickle", "trickle_headers"])
def test_a_trickling_service_is_cut_off_at_the_total_timeout(service, mode):
    # a valid approval sent 10 bytes every 0.2 s: each read comes well within `timeout`, so only a deadline over
    # the whole exchange stops it (before, the body's trickle was approved after ~2 s against a 1 s bound)
    service.mode, service.delay = mode, 0.2
    checker = CreditChecker(_client(service.url, timeout=0.5, retries=2, total_timeout=1.0))
    t0 = time.monotonic()
    d = checker.check("m1", 100, 3)
    elapsed = time.monotonic() - t0
    assert (d.approve, d.reason, d.source) == (False, UNAVAILABLE, "policy")
    assert elapsed < 1.0 + 0.3, elapsed
    service.mode = "approve"  # the same client answers the next check as usual
    assert checker.check("m1", 100, 3).source == "service"


def test_slow_service_is_cut_off_within_total_budget(service):
    service.mode = "slow"
    client = _client(service.url, timeout=0.25, retries=5, total_timeout=0.6)
    t0 = time.monotonic()
    d = CreditChecker(client).check("m1", 100, 3)
    elapsed = time.monotonic() - t0
    assert not d.approve and d.reason == UNAVAILABLE
    assert elapsed < 0.6 + 0.4, elapsed  # budget plus scheduling slack, far below 5 x 1.5 s of sleeping


def test_service_down_is_fast_and_fails_closed():
    with FakeCreditService(HmacSigner(SECRET)) as svc:
        url = svc.url
    t0 = time.monotonic()
    d = CreditChecker(_client(url, retries=3, total_timeout=0.8)).check("m1", 100, 3)
    assert not d.approve and d.source == "policy" and time.monotonic() - t0 < 1.1


def test_wrong_secret_is_refused_by_the_service(service):
    with pytest.raises(ChannelError, match="HTTP 401"):
        _client(service.url, secret=b"other").query("m1", 100, 3)
    assert service.bad_requests == 1


def test_rsa_signatures_both_ways():
    ours = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    theirs = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with FakeCreditService(RsaSigner(theirs, ours.public_key()), available_fen=5_000) as svc:
        client = CreditClient(svc.url, private_key=ours, service_public_key=theirs.public_key(), timeout=1.0)
        d = CreditChecker(client).check("m1", 5_000, 3)
        assert d.approve and d.remaining_limit_fen == 5_000 and svc.bad_requests == 0
        svc.mode = "badsig"
        assert CreditChecker(client).check("m1", 100, 3).reason == UNAVAILABLE


def test_bad_input_is_an_error_and_nothing_is_asked(service):
    checker = CreditChecker(_client(service.url), config=DEFAULT_CONFIG, channel="huabei")
    for amount, term in [(0, 3), (-5, 3), (100, 0), (100, -1), (100, 5)]:
        with pytest.raises((PlanError, ValueError)):
            checker.check("m1", amount, term)
    assert service.calls == 0


def test_audit_in_duckdb_and_jsonl(service, tmp_path):
    con = duckdb.connect(str(tmp_path / "ws.duckdb"))
    checker = CreditChecker(_client(service.url), audit=DuckDBAudit(con))
    checker.check("m1", 100, 3, outstanding_fen=10)
    service.mode = "5xx"
    checker.check("m2", 200, 6)
    got = con.sql("SELECT member_id, amount_fen, term, outstanding_fen, approve, source, service_error IS NULL "
                  "FROM credit_decisions ORDER BY member_id").fetchall()
    assert got == [("m1", 100, 3, 10, True, "service", True), ("m2", 200, 6, 0, False, "policy", False)]
    path = tmp_path / "credit.jsonl"
    jchecker = CreditChecker(_client(service.url), audit=JsonlAudit(path))
    jchecker.check("m3", 300, 12)
    rec = json.loads(path.read_text(encoding="utf-8").splitlines()[-1])
    assert rec["member_id"] == "m3" and rec["reason"] == UNAVAILABLE and "HTTP 500" in rec["service_error"]
