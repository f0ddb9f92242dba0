"""Resumes: real PDF/DOCX uploads parse into sections in a job; hostile files get 4xx; generation jobs."""
from __future__ import annotations

import io
import zipfile

import pytest

from tests.support.client import ApiClient, data

LINES = ["Jane Doe", "jane.doe@example.com | +1 555 123 4567 | linkedin.com/in/janedoe", "Experience",
         "Senior Engineer, Acme Corp, 2019-2024", "Responsible for building Flask APIs used by 2 million users",
         "Worked on PostgreSQL migrations for 12 services", "Education", "BSc Computer Science, MIT, 2015",
         "Skills", "Python, Flask, PostgreSQL, Docker"]
JD = ("We are hiring a Senior Backend Engineer to build APIs with Python, Flask, PostgreSQL and Redis. "
      "Experience with Kubernetes and AWS is a plus.")


def make_pdf(lines: list[str] = LINES) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    y = 800
    for line in lines:
        c.drawString(60, y, line)
        y -= 18
    c.showPage()
    c.save()
    return buf.getvalue()


def make_docx(lines: list[str] = LINES) -> bytes:
    from docx import Document

    doc = Document()
    for line in lines:
        doc.add_paragraph(line)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def zip_bomb(size: int = 60 * 1024 * 1024) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", b"<w:document/>")
        z.writestr("word/media/bomb.bin", b"\0" * size)
    return buf.getvalue()


def _upload(client: ApiClient, name: str, content: bytes, ctype: str = "application/octet-stream"):  # noqa: ANN202
    return client.post("/api/resume/upload", files={"file": (name, content, ctype)})


@pytest.mark.parametrize("name,maker", [("resume.pdf", make_pdf), ("resume.docx", make_docx)])
def test_an_uploaded_resume_parses_into_sections(client: ApiClient, name: str, maker) -> None:  # noqa: ANN001
    r = _upload(client, name, maker())
    assert r.status_code == 202, r.text
    accepted = data(r)
    assert accepted["resume_id"].startswith("res_") and accepted["status"] == "parsing"
    job = client.wait_job(accepted["job_id"])
    assert job["status"] == "succeeded", job
    resume = data(client.get(f"/api/resume/{accepted['resume_id']}"))
    assert resume["status"] == "ready"
    s = resume["sections"]
    assert s["contact"]["name"] == "Jane Doe" and s["contact"]["email"] == "jane.doe@example.com"
    assert any("Flask APIs" in line for line in s["experience"])
    assert any("MIT" in line for line in s["education"])
    assert {"Python", "Flask", "PostgreSQL", "Docker"} <= set(s["skills"])


def test_hostile_uploads_get_a_4xx_with_stage_and_leave_no_resume(client: ApiClient, platform) -> None:  # noqa: ANN001
    cap = platform.settings.max_resume_bytes
    cases = [
        ("oversize", _upload(client, "big.pdf", b"%PDF-1.4\n" + b"0" * (cap + 10)), 413, {"upload"}),
        ("renamed executable", _upload(client, "cv.pdf", b"MZ\x90\x00\x03" + b"\0" * 200), 415, {"upload"}),
        ("executable", _upload(client, "cv.exe", b"MZ\x90\x00"), 415, {"upload"}),
        ("zip bomb", _upload(client, "cv.docx", zip_bomb()), 413, {"upload", "decode"}),
        ("ratio bomb", _upload(client, "cv.docx", zip_bomb(4 * 1024 * 1024)), 413, {"upload", "decode"}),
        ("zip without document", _upload(client, "cv.docx", _plain_zip()), 415, {"upload"}),
        ("malformed pdf", _upload(client, "cv.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R >>\n"
                                                    b"garbage\n%%EOF"), 422, {"decode"}),
        ("truncated pdf", _upload(client, "cv.pdf", make_pdf()[:300]), 422, {"decode"}),
        ("empty", _upload(client, "cv.docx", b""), 400, {"upload"}),
    ]
    for what, r, status, stages in cases:
        assert r.status_code == status, (what, r.status_code, r.text)
        body = r.json()
        assert body["data"] is None and body["stage"] in stages, (what, body)
        assert r.headers["X-Stage"] == body["stage"]
    assert data(client.get("/api/resume"))["total"] == 0
    assert data(client.get("/api/jobs"))["jobs"] == []
    # The worker is still healthy: a good upload parses afterwards.
    job = client.wait_job(data(_upload(client, "ok.docx", make_docx()))["job_id"])
    assert job["status"] == "succeeded"


def _plain_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hello.txt", "hi")
    return buf.getvalue()


def test_a_pdf_without_text_fails_its_job_at_decode_and_marks_the_resume(client: ApiClient) -> None:
    r = _upload(client, "scan.pdf", make_pdf([]))
    assert r.status_code == 202, r.text
    job = client.wait_job(data(r)["job_id"])
    assert job["status"] == "failed" and job["error"]["stage"] == "decode" and job["attempts"] == 1
    resume = data(client.get(f"/api/resume/{data(r)['resume_id']}"))
    assert resume["status"] in ("failed", "parsing")  # the failure callback runs just after the job


def test_resume_crud_and_ownership(client: ApiClient, make_client) -> None:  # noqa: ANN001
    r = client.post("/api/resume", json={"title": "Main", "text": "\n".join(LINES)})
    assert r.status_code == 201, r.text
    rid = data(r)["id"]
    assert data(r)["sections"]["skills"][:2] == ["Python", "Flask"]
    r = client.put(f"/api/resume/{rid}", json={"title": "Renamed"})
    assert data(r)["title"] == "Renamed"
    assert client.put(f"/api/resume/{rid}", json={"owner": "me"}).status_code == 400
    other = make_client()
    assert other.get(f"/api/resume/{rid}").status_code == 404
    assert other.delete(f"/api/resume/{rid}").status_code == 404
    assert other.post("/api/resume/generate", json={"job_description": JD, "resume_id": rid}).status_code == 404
    assert [x["id"] for x in data(client.get("/api/resume"))["resumes"]] == [rid]
    assert client.delete(f"/api/resume/{rid}").status_code == 200
    assert client.get(f"/api/resume/{rid}").status_code == 404


def test_generation_jobs_tailor_rewrite_and_write_a_cover_letter(client: ApiClient) -> None:
    rid = data(client.post("/api/resume", json={"text": "\n".join(LINES)}))["id"]
    results = {}
    for kind in ("tailor", "bullet_rewrite", "cover_letter"):
        r = client.post("/api/resume/generate", json={"job_description": JD, "resume_id": rid, "type": kind})
        assert r.status_code == 202, r.text
        job = client.wait_job(data(r)["job_id"])
        assert job["status"] == "succeeded", job
        results[kind] = job["result"]["output"]
    tailor = results["tailor"]
    assert 0 < tailor["match_score"] < 100
    assert {"Python", "Flask", "PostgreSQL"} <= set(tailor["matched_keywords"])
    assert {"Redis", "Kubernetes", "AWS"} <= set(tailor["missing_keywords"])
    assert tailor["rewritten_bullets"]
    rewrites = results["bullet_rewrite"]["bullets"]
    assert all(not b["rewritten"].lower().startswith(("responsible", "worked on")) for b in rewrites)
    assert "Jane Doe" in results["cover_letter"]["body"]
    history = data(client.get("/api/resume/history"))
    assert history["total"] == 3 and {g["type"] for g in history["generations"]} == set(results)
    assert data(client.get("/api/resume/history?type=tailor"))["total"] == 1
    r = client.post("/api/resume/generate", json={"job_description": JD, "resume_id": rid, "type": "poem"})
    assert r.status_code == 400
