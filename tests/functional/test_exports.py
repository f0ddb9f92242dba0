"""Exports: a job per format whose artifact downloads with the right content type and file name."""
from __future__ import annotations

import io
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.support.client import ApiClient, data

ANSWER = ("I owned the migration of our billing service to Postgres. I measured the slow queries first, "
          "added indexes and a cache, and as a result the p95 latency fell by half.")


@pytest.fixture()
def interview_id(client: ApiClient) -> str:
    iid = data(client.post("/api/interviews", json={"job_type": "software_engineer", "title": "Export check"}))["id"]
    job = client.wait_job(data(client.post(f"/api/interviews/{iid}/questions", json={"count": 1}))["job_id"])
    assert job["status"] == "succeeded", job
    assert client.post(f"/api/interviews/{iid}/messages", json={"content": ANSWER}).status_code == 201
    return iid


def _export(client: ApiClient, iid: str, fmt: str):  # noqa: ANN202
    r = client.post(f"/api/interviews/{iid}/export?format={fmt}")
    assert r.status_code == 202, r.text
    job = client.wait_job(data(r)["job_id"])
    assert job["status"] == "succeeded" and job["queue"] == "default", job
    dl = client.get(data(r)["artifact_url"])
    assert dl.status_code == 200
    return job, dl


@pytest.mark.parametrize("fmt,ctype,ext", [("json", "application/json", "json"), ("text", "text/plain", "txt"),
                                           ("markdown", "text/markdown", "md")])
def test_text_exports_carry_the_report_and_transcript(client: ApiClient, interview_id: str, fmt: str, ctype: str,
                                                      ext: str) -> None:
    job, dl = _export(client, interview_id, fmt)
    assert dl.headers["Content-Type"].startswith(ctype)
    name = f"voicemock-software-engineer-{datetime.now(timezone.utc).date().isoformat()}.{ext}"  # role and day, not an id
    assert f"filename={name}" in dl.headers["Content-Disposition"] and job["artifact"]["name"] == name
    if fmt == "json":
        doc = json.loads(dl.content)
        assert doc["transcript"][-1]["content"] == ANSWER and "overall_score" in doc["report"]
    else:
        text = dl.content.decode()
        assert ANSWER in text and "What to work on" in text and "Content" in text
        assert "Q1. " in text and "The one thing to fix:" in text and "A stronger answer:" in text


def test_the_pdf_opens_and_shows_scores_transcript_and_feedback(client: ApiClient, interview_id: str,
                                                                tmp_path) -> None:  # noqa: ANN001
    _, dl = _export(client, interview_id, "pdf")
    assert dl.headers["Content-Type"] == "application/pdf" and dl.content.startswith(b"%PDF")
    (tmp_path / "out.pdf").write_bytes(dl.content)
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(dl.content)).pages)
    flat = " ".join(text.split())
    for needle in ("Interview practice report: Software Engineer", "Content", "Structure", "Delivery",
                   "Scores by dimension", "Question by question", "The one thing to fix", "billing service to Postgres",
                   "Page 1 of"):
        assert needle in flat, needle
    assert "voicemock-software-engineer-" in dl.headers["Content-Disposition"]


def test_exporting_another_users_interview_is_a_404(client: ApiClient, make_client, interview_id: str) -> None:  # noqa: ANN001
    assert make_client().post(f"/api/interviews/{interview_id}/export?format=pdf").status_code == 404


def test_a_tailored_voice_session_exports_a_share_ready_pdf(client: ApiClient, fixtures_dir) -> None:  # noqa: ANN001
    """Spoken answer with fillers (real STT) → report with a per-question breakdown and job-description
    coverage → a PDF named for the role and day, with page numbers and readable labels."""
    jd = "Backend engineer: Python services, PostgreSQL, Redis caching and on-call for the server fleet."
    started = data(client.post("/session/start", json={"job_type": "software_engineer", "focus_area": "behavioral",
                                                        "question_count": 2, "job_description": jd}))
    with open(fixtures_dir / "fillers.wav", "rb") as f:
        r = client.post("/turn", auth=False, headers={"X-Session-Token": started["token"]},
                        files={"audio": ("answer.wav", f, "audio/wav")})
    assert client.wait_job(data(r)["job_id"], timeout=120)["status"] == "succeeded"
    sid = started["session_id"]
    r = client.get(f"/api/interviews/{sid}/report")
    if r.status_code == 202:
        assert client.wait_job(data(r)["job_id"])["status"] == "succeeded"
        r = client.get(f"/api/interviews/{sid}/report")
    report = data(r)
    (row,) = report["answers"]
    assert row["question"] == started["first_question"]["text"] and row["fix"] and row["outline"]
    assert set(row["scores"]) == {"content", "structure", "delivery"} and row["fillers"]
    assert report["job_description_coverage"]["covered"]  # "server" is in the spoken answer
    _, dl = _export(client, sid, "pdf")
    day = datetime.now(timezone.utc).date().isoformat()
    assert f"filename=voicemock-software-engineer-{day}.pdf" in dl.headers["Content-Disposition"]
    out = Path(__file__).resolve().parents[2] / "test-output"  # kept for a look (pdftoppm -png), never committed
    out.mkdir(exist_ok=True)
    (out / f"voicemock-software-engineer-{day}.pdf").write_bytes(dl.content)
    reader = PdfReader(io.BytesIO(dl.content))
    pages = [" ".join(p.extract_text().split()) for p in reader.pages]
    flat = " ".join(pages)
    assert pages[-1].endswith(f"Page {len(pages)} of {len(pages)}") or f"Page {len(pages)} of {len(pages)}" in pages[-1]
    for needle in ("Interview practice report: Software Engineer", "Q1. ", "Filler words are highlighted",
                   "Job description coverage", "Total answer time", "Pace"):
        assert needle in flat, needle
    assert "speaking seconds" not in flat and "duration_seconds" not in flat
