"""Document 004: "## Copilot Sessions API", "## Resume API", "## LLM API", "## Settings API",
"## Analytics API", "## Webhooks API", "## Cron API", "## Error Responses": every example, as printed."""
from __future__ import annotations

import json
import time
import uuid

import requests
from stripe import WebhookSignature

from tests.contract.seed import envelope, wait_job
from tests.functional.servers import web_process
from tests.functional.test_resumes import make_pdf
from tests.support.client import ApiClient, data

START_COPILOT = {"mode": "interview", "role": "Software Engineer", "company": "Google"}
EVENT = {"type": "transcript", "content": "I would approach this by...", "timestamp": 1234567890}


def _copilot(client: ApiClient) -> dict:
    r = client.post("/api/copilot/sessions/start", json=START_COPILOT)
    assert r.status_code == 201, r.text
    return envelope(r)["data"]


def test_copilot_start_session(client: ApiClient) -> None:
    """"### Start Session": `{"mode": "interview", "role": "Software Engineer", "company": "Google"}` →
    `{"session_id", "stream_url": "/api/copilot/sessions/[id]/stream"}`."""
    out = _copilot(client)
    assert out["stream_url"].startswith(f"/api/copilot/sessions/{out['session_id']}/stream")
    assert out["role"] == "Software Engineer" and out["company"] == "Google" and out["mode"] == "interview"


def test_copilot_send_events_then_stream_get_transcript_and_summary(client: ApiClient) -> None:
    """"### Send Events" (`{"type": "transcript", "content": …, "timestamp": 1234567890}`), "### Stream
    Suggestions (SSE)", "### Get Session", "### Get Transcript" and "### Get Summary"."""
    started = _copilot(client)
    sid = started["session_id"]
    r = client.post(f"/api/copilot/sessions/{sid}/events", json=EVENT)
    assert r.status_code == 202, r.text
    assert client.wait_job(envelope(r)["data"]["suggestion_job_id"])["status"] == "succeeded"
    suggestions = client.sse(started["stream_url"], auth=False, max_events=1, timeout=30)
    assert suggestions[0].type == "suggestion"
    assert envelope(client.get(f"/api/copilot/sessions/{sid}"))["data"]["suggestion_count"] == 1
    transcript = envelope(client.post(f"/api/copilot/sessions/{sid}/transcript"))["data"]
    assert transcript["text"] == EVENT["content"] and transcript["chunks"][0]["timestamp"] == 1234567890
    r = client.post(f"/api/copilot/sessions/{sid}/summarize")
    assert r.status_code == 202 and client.wait_job(envelope(r)["data"]["job_id"])["status"] == "succeeded"
    assert data(client.get(f"/api/copilot/sessions/{sid}"))["debrief"]["overall_score"] is not None


def test_copilot_stop_session_history_and_purge_without_parameters(client: ApiClient) -> None:
    """"### Stop Session" (`{"session_id": "uuid"}`), "### Session History" and "### Purge Old Sessions"
    (`DELETE /api/copilot/sessions/purge`, no parameters: the configured retention age)."""
    sid = _copilot(client)["session_id"]
    stopped = envelope(client.post("/api/copilot/sessions/stop", json={"session_id": sid}))["data"]
    assert stopped["session_id"] == sid and stopped["status"] == "stopped"
    history = envelope(client.get("/api/copilot/sessions/history"))["data"]
    assert sid in [s["session_id"] for s in history["sessions"]]
    r = client.delete("/api/copilot/sessions/purge")
    assert r.status_code == 200, r.text
    purged = envelope(r)["data"]
    assert purged["older_than_days"] == 90 and purged["deleted"] == 0  # younger than the retention age


def test_resume_create_list_get_update_and_delete(client: ApiClient) -> None:
    """"### Create Resume" (`{"name": "Software Engineer Resume", "content": "..."}`), "### List Resumes",
    "### Get Resume", "### Update Resume" (only the fields sent change) and "### Delete Resume"."""
    r = client.post("/api/resume", json={"name": "Software Engineer Resume", "content": "..."})
    assert r.status_code == 201, r.text
    made = envelope(r)["data"]
    assert made["name"] == "Software Engineer Resume" and made["content"] == "..."
    assert made["id"] in [x["id"] for x in data(client.get("/api/resume"))["resumes"]]
    assert data(client.get(f"/api/resume/{made['id']}"))["name"] == "Software Engineer Resume"
    renamed = data(client.put(f"/api/resume/{made['id']}", json={"name": "Backend Resume"}))
    assert renamed["name"] == "Backend Resume" and renamed["content"] == "..."
    assert data(client.delete(f"/api/resume/{made['id']}"))["deleted"] is True
    assert client.get(f"/api/resume/{made['id']}").status_code == 404


def test_resume_upload_with_file_and_name(client: ApiClient) -> None:
    """"### Upload Resume": multipart/form-data with `file` (PDF or DOCX) and `name`."""
    r = client.post("/api/resume/upload", files={"file": ("cv.pdf", make_pdf(), "application/pdf")},
                    data={"name": "My Resume"})
    assert r.status_code == 202, r.text
    out = envelope(r)["data"]
    assert client.wait_job(out["job_id"])["status"] == "succeeded"
    got = data(client.get(f"/api/resume/{out['resume_id']}"))
    assert got["name"] == "My Resume" and got["status"] == "ready" and got["content"]


def test_resume_generate_content_and_history(client: ApiClient) -> None:
    """"### Generate Content" (`{"job_description": "Looking for a React developer...", "resume_id",
    "type": "bullet_rewrite"}`) and "### Get History"."""
    rid = data(client.post("/api/resume", json={"name": "CV", "content": "Jane Doe\nBuilt React dashboards."}))["id"]
    r = client.post("/api/resume/generate", json={"job_description": "Looking for a React developer...",
                                                  "resume_id": rid, "type": "bullet_rewrite"})
    assert r.status_code == 202, r.text
    assert client.wait_job(envelope(r)["data"]["job_id"])["status"] == "succeeded"
    history = data(client.get("/api/resume/history"))
    assert history["generations"][0]["type"] == "bullet_rewrite" and history["generations"][0]["resume_id"] == rid


def test_llm_proxy_request(client: ApiClient) -> None:
    """"### Proxy Request": `{"messages": [{"role": "user", "content": "Hello"}], "model": "gpt-4"}`."""
    r = client.post("/api/llm", json={"messages": [{"role": "user", "content": "Hello"}], "model": "gpt-4"})
    assert r.status_code == 200, r.text
    out = envelope(r)["data"]
    assert out["content"] and out["model"] == "gpt-4"


def test_llm_settings_get_and_a_partial_update(client: ApiClient) -> None:
    """"### Get LLM Settings" (`{provider, model, temperature}`) and "### Update LLM Settings"
    (`{"model": "gpt-4-turbo", "temperature": 0.5}`: only those change)."""
    before = envelope(client.get("/api/settings/llm"))["data"]
    assert {"provider", "model", "temperature"} <= set(before)
    r = client.put("/api/settings/llm", json={"model": "gpt-4-turbo", "temperature": 0.5})
    assert r.status_code == 200, r.text
    after = envelope(r)["data"]
    assert after == {**before, "model": "gpt-4-turbo", "temperature": 0.5, "source": "user"}
    again = data(client.put("/api/settings/llm", json={"temperature": 0.9}))
    assert again["model"] == "gpt-4-turbo" and again["temperature"] == 0.9


def test_analytics_reconciliation(client: ApiClient, admin_client: ApiClient) -> None:
    """"### Reconciliation": `GET /api/analytics/reconciliation`: a user's own figures; an admin's, everyone's."""
    mine = envelope(client.get("/api/analytics/reconciliation"))["data"]
    assert mine["scope"] == "user" and {"periods", "mismatches", "from", "to"} <= set(mine)
    assert data(admin_client.get("/api/analytics/reconciliation"))["scope"] == "all"


def test_stripe_webhook_with_its_signature_header(platform) -> None:  # noqa: ANN001
    """"### Stripe Webhook": `POST /api/webhooks/stripe` with the `stripe-signature` header."""
    secret = "whsec_contract_" + "c" * 20
    event = {"id": f"evt_{uuid.uuid4().hex[:20]}", "object": "event", "type": "customer.subscription.created",
             "created": int(time.time()), "data": {"object": {"id": "sub_1", "customer": "cus_contract"}}}
    payload = json.dumps(event)
    with web_process(platform, stripe_webhook_secret=secret) as url:
        r = requests.post(f"{url}/api/webhooks/stripe", data=payload, timeout=10, headers={
            "stripe-signature": WebhookSignature.generate_signature_header(payload, secret),
            "Content-Type": "application/json"})
        assert r.status_code in (200, 202), r.text
        bad = requests.post(f"{url}/api/webhooks/stripe", data=payload, timeout=10,
                            headers={"stripe-signature": "t=1,v1=deadbeef", "Content-Type": "application/json"})
        assert bad.status_code == 400


def test_cron_retention_with_the_cron_secret_and_its_job_followed(platform, anon: ApiClient) -> None:  # noqa: ANN001
    """"### Retention Cleanup": `POST /api/cron/retention`, protected by the cron secret; the job it
    starts is followed with the same secret (status_url) or its stream_url."""
    cron = {"X-Cron-Secret": platform.settings.cron_secret}
    assert anon.post("/api/cron/retention").status_code == 401
    r = anon.post("/api/cron/retention", headers=cron)
    assert r.status_code == 202, r.text
    out = envelope(r)["data"]
    assert wait_job(anon.base_url, out["job_id"], cron)["status"] == "succeeded"
    assert anon.get(out["status_url"]).status_code == 401
    events = anon.sse(out["stream_url"], auth=False)
    assert events[-1].type == "succeeded"


def test_error_responses_and_input_validation_format(client: ApiClient) -> None:
    """"## Error Responses" / "## Input Validation": `{"error": "Validation failed", "details": [{"path",
    "message"}]}` with 400; 401, 404 in the same shape."""
    r = client.post("/api/interviews", json={"difficulty": "impossible"})
    body = envelope(r)
    assert r.status_code == 400 and body["error"] == "Validation failed"
    assert body["details"] and {"path", "message"} <= set(body["details"][0])
    assert client.get("/api/interviews/int_nope").json()["error"] and client.get(
        "/api/interviews/int_nope").status_code == 404
