"""Stripe webhooks (signed here with Stripe's scheme, no network), plans, quotas and the usage ledger."""
from __future__ import annotations

import json
import time
import uuid

import requests
from sqlalchemy import func, select
from stripe import WebhookSignature

from tests.functional.servers import web_process
from tests.support.client import ApiClient, data

SECRET = "whsec_test_" + "s" * 24


def _event(type_: str, obj: dict) -> dict:
    return {"id": f"evt_{uuid.uuid4().hex[:20]}", "object": "event", "type": type_, "created": int(time.time()),
            "data": {"object": obj}}


def _post(url: str, event: dict, *, secret: str = SECRET, timestamp: int | None = None,
          tamper: bool = False) -> requests.Response:
    payload = json.dumps(event)
    header = WebhookSignature.generate_signature_header(payload, secret, timestamp=timestamp)
    if tamper:
        payload = payload.replace('"object": "event"', '"object": "evil"')
    return requests.post(url + "/api/webhooks/stripe", data=payload, timeout=10,
                         headers={"Stripe-Signature": header, "Content-Type": "application/json"})


def _wait_processed(platform, event_id: str) -> dict:  # noqa: ANN001
    from core.models import StripeEvent

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with platform.runtime.db.Session() as s:
            row = s.get(StripeEvent, event_id)
            if row is not None and row.status != "received":
                return row.outcome or {}
        time.sleep(0.05)
    raise AssertionError(f"event {event_id} was not processed")


def _count(platform, model, *where) -> int:  # noqa: ANN001
    with platform.runtime.db.Session() as s:
        return s.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def test_valid_tampered_stale_and_duplicated_webhooks_get_the_right_answer_and_one_side_effect(
        platform, client: ApiClient) -> None:  # noqa: ANN001
    from core.models import Job, StripeEvent

    me = data(client.get("/auth/me"))
    assert me["plan"] == "free"
    with web_process(platform, stripe_webhook_secret=SECRET) as url:
        checkout = _event("checkout.session.completed", {
            "object": "checkout.session", "client_reference_id": me["id"], "customer": f"cus_{uuid.uuid4().hex[:10]}",
            "subscription": "sub_1", "metadata": {"plan": "pro"}})
        answers = [_post(url, checkout) for _ in range(5)]
        assert [r.status_code for r in answers] == [200] * 5
        assert [data(r)["duplicate"] for r in answers] == [False, True, True, True, True]
        _wait_processed(platform, checkout["id"])
        assert _count(platform, StripeEvent, StripeEvent.id == checkout["id"]) == 1
        assert _count(platform, Job, Job.kind == "billing.process_event",
                      Job.args["event_id"].as_string() == checkout["id"]) == 1
        assert data(client.get("/auth/me"))["plan"] == "pro"

        for _ in range(5):
            tampered = _event("customer.subscription.deleted", {"customer": checkout["data"]["object"]["customer"]})
            r = _post(url, tampered, tamper=True)
            assert r.status_code == 400 and r.json()["stage"] == "signature"
            stale = _event("customer.subscription.deleted", {"customer": checkout["data"]["object"]["customer"]})
            r = _post(url, stale, timestamp=int(time.time()) - 301)
            assert r.status_code == 400 and r.json()["stage"] == "signature"
            wrong = _post(url, stale, secret="whsec_someone_else")
            assert wrong.status_code == 400
            assert _count(platform, StripeEvent, StripeEvent.id.in_([tampered["id"], stale["id"]])) == 0
        unsigned = requests.post(url + "/api/webhooks/stripe", data="{}", timeout=10)
        assert unsigned.status_code == 400 and unsigned.json()["stage"] == "signature"
        assert data(client.get("/auth/me"))["plan"] == "pro", "no refused event changed anything"

        failed = _event("invoice.payment_failed", {"customer": checkout["data"]["object"]["customer"]})
        assert _post(url, failed).status_code == 200
        assert _wait_processed(platform, failed["id"])["plan"] == "free"
        assert data(client.get("/auth/me"))["plan"] == "free"

        updated = _event("customer.subscription.updated", {
            "id": "sub_1", "customer": checkout["data"]["object"]["customer"], "status": "active",
            "items": {"data": [{"price": {"lookup_key": "voicemock_team"}}]}})
        assert _post(url, updated).status_code == 200
        _wait_processed(platform, updated["id"])
        assert data(client.get("/auth/me"))["plan"] == "team"

        deleted = _event("customer.subscription.deleted", {"id": "sub_1",
                                                           "customer": checkout["data"]["object"]["customer"]})
        assert _post(url, deleted).status_code == 200
        _wait_processed(platform, deleted["id"])
        assert data(client.get("/auth/me"))["plan"] == "free"

        ignored = _event("customer.created", {"id": "cus_x"})
        assert data(_post(url, ignored)).get("ignored") is True


def test_webhooks_without_a_configured_secret_are_refused_cleanly(anon: ApiClient) -> None:
    r = anon.post("/api/webhooks/stripe", data="{}", headers={"Stripe-Signature": "t=1,v1=x"})
    assert r.status_code == 404 and r.json()["stage"] == "billing"


def test_over_quota_sessions_and_audio_answer_402_with_a_clear_message(platform, fixtures_dir) -> None:  # noqa: ANN001
    from core.models import UsageLedger
    from core.tokens import mint_access_token

    email = f"quota-{uuid.uuid4().hex[:8]}@example.com"
    with web_process(platform, plan_quotas=("free=1/0.3",)) as url:
        c = ApiClient(url, mint_access_token(platform.settings, email, email=email))
        body = {"job_type": "software_engineer", "focus_area": "behavioral"}
        started = data(c.post("/session/start", json=body))
        again = c.post("/session/start", json=body)
        assert again.status_code == 402 and again.json()["stage"] == "quota"
        assert "1 practice sessions per month" in again.json()["error"] and "upgrade" in again.json()["error"]
        assert again.json()["details"]["plan"] == "free"
        with open(fixtures_dir / "answer_short.wav", "rb") as f:
            first = c.post("/turn", auth=False, headers={"X-Session-Token": started["token"]},
                           files={"audio": ("a.wav", f, "audio/wav")})
        assert first.status_code == 202, first.text
        c.wait_job(data(first)["job_id"])
        with open(fixtures_dir / "answer_star.wav", "rb") as f:
            over = c.post("/turn", auth=False, headers={"X-Session-Token": started["token"]},
                          files={"audio": ("b.wav", f, "audio/wav")})
        assert over.status_code == 402 and over.json()["stage"] == "quota"
        assert "minutes of transcribed audio" in over.json()["error"]
        usage = data(c.get("/api/billing/usage"))
    with platform.runtime.db.Session() as s:
        rows = s.execute(select(UsageLedger.kind, UsageLedger.amount, UsageLedger.job_id)
                         .where(UsageLedger.subject_id == started["session_id"])).all()
    assert sorted(k for k, _, _ in rows) == ["audio_seconds", "session"]
    assert usage["sessions"] == {"used": 1.0, "limit": 1.0}
    assert 0 < usage["audio_minutes"]["used"] <= 0.3


def test_reconciliation_lists_ledger_job_and_quota_mismatches(platform, make_client, admin_client,
                                                              fixtures_dir) -> None:  # noqa: ANN001
    from core.clock import utcnow
    from core.models import UsageLedger

    c = make_client()
    started = data(c.post("/session/start", json={"job_type": "software_engineer", "focus_area": "behavioral"}))
    with open(fixtures_dir / "answer_short.wav", "rb") as f:
        turn = data(c.post("/turn", auth=False, headers={"X-Session-Token": started["token"]},
                           files={"audio": ("a.wav", f, "audio/wav")}))
    c.wait_job(turn["job_id"])
    user_id = data(c.get("/auth/me"))["id"]
    with platform.runtime.db.session_scope() as s:  # a charge for a job that never existed
        s.add(UsageLedger(user_id=user_id, kind="audio_seconds", amount=5.0, job_id="job_missing_" + user_id[-6:],
                          subject_id=started["session_id"]))
    month = utcnow().strftime("%Y-%m")
    own = data(c.get(f"/api/analytics/reconciliation?from={month}"))  # a user sees only their own figures
    assert own["scope"] == "user" and {m["user_id"] for m in own["mismatches"]} == {user_id}
    report = data(admin_client.get(f"/api/analytics/reconciliation?from={month}&to={month}"))
    assert report["scope"] == "all"
    mine = [m for m in report["mismatches"] if m.get("user_id") == user_id]
    assert [m["type"] for m in mine] == ["ledger_row_for_missing_job"]
    free = next(p for p in report["periods"] if p["period"] == month and p["plan"] == "free")
    assert free["quota"] == {"sessions": 20, "audio_minutes": 60.0}
    assert free["ledger"]["audio_seconds"] >= free["jobs"]["audio_seconds"] > 0
    bad = admin_client.get("/api/analytics/reconciliation?from=2026-13")
    assert bad.status_code == 400 and bad.json()["stage"] == "validation"


def test_signatures_dated_ahead_and_signed_bodies_that_are_not_events_are_400s(platform) -> None:  # noqa: ANN001
    """Issue 13 items 18 and 9: the tolerance holds both ways; a signed body that is not an event
    object (an array, a string, null, NaN, deep nesting) is a 400 with the envelope, never a 500."""
    from core.models import StripeEvent

    def signed(url: str, payload: str, timestamp: int | None = None) -> requests.Response:
        header = WebhookSignature.generate_signature_header(payload, SECRET, timestamp=timestamp)
        return requests.post(url + "/api/webhooks/stripe", data=payload.encode(), timeout=10,
                             headers={"Stripe-Signature": header, "Content-Type": "application/json"})

    with web_process(platform, stripe_webhook_secret=SECRET) as url:
        ahead = _event("customer.created", {"id": "cus_future"})
        r = _post(url, ahead, timestamp=int(time.time()) + 400)
        assert r.status_code == 400 and r.json()["stage"] == "signature" and "future" in r.json()["error"]
        assert _count(platform, StripeEvent, StripeEvent.id == ahead["id"]) == 0
        assert _post(url, ahead, timestamp=int(time.time()) + 60).status_code == 200  # clock skew within tolerance
        event = json.dumps(_event("customer.created", {"id": "cus_x"}))
        for payload in ("[1, 2, 3]", '"str"', "null", "{}", '{"id": 1, "type": {}}',
                        event.replace('"object": "event"', '"object": NaN'),
                        event.replace('"object": "event"', '"object": 1e400'),
                        '{"id": "evt_deep", "type": "x", "data": ' + "[" * 2000 + "]" * 2000 + "}"):
            r = signed(url, payload)
            assert r.status_code == 400 and r.json()["stage"] == "validation", (payload[:60], r.text[:200])
