"""The request pipeline around every view (issue 13, items 3, 4, 9 and 16): JSON bodies are capped per
route, parsed without NaN, infinities or deep nesting, refused in another content type, answered with
at most 20 validation errors; an upload is authenticated before its body is read and a trickled body
is cut off."""
from __future__ import annotations

import json
import socket
import time
from urllib.parse import urlsplit

import pytest

from tests.functional.servers import web_process
from tests.support.client import ApiClient, data


def _interviews(client: ApiClient) -> int:
    return data(client.get("/api/interviews"))["total"]


def test_a_json_route_answers_415_to_a_form_or_multipart_body_instead_of_ignoring_it(client: ApiClient) -> None:
    before = _interviews(client)
    form = client.post("/api/interviews", data={"title": "as a form"})
    multipart = client.post("/api/interviews", files={"title": (None, "as multipart")})
    assert (form.status_code, multipart.status_code) == (415, 415), (form.text, multipart.text)
    assert form.json()["stage"] == "validation" and form.json()["data"] is None
    assert _interviews(client) == before, "a refused body created nothing"
    interview = data(client.post("/api/interviews", json={"title": "json"}))
    iid = interview.get("id") or interview.get("interview_id")
    score = client.post(f"/api/interviews/{iid}/score", data={"overall": "90"})
    assert score.status_code == 415, score.text
    # No body at all is still "no body" (the empty-body form of the route), whatever the type says.
    assert client.post("/api/interviews", headers={"Content-Type": "text/plain"}).status_code == 201


def test_json_bodies_are_capped_per_route_and_validation_errors_are_capped(client: ApiClient) -> None:
    big = client.post("/api/interviews", json={"title": "x" * (70 * 1024)})
    assert big.status_code == 413 and big.json()["stage"] == "upload", big.text
    # A resume may be larger (50 000 characters of text): its route allows it.
    resume = client.post("/api/resume", json={"title": "long", "text": "Engineer. " * 5000})
    assert resume.status_code == 201, resume.text[:300]
    flood = client.post("/api/interviews", json={f"k{i}": i for i in range(3000)})
    assert flood.status_code == 400, flood.text[:300]
    details = flood.json()["details"]
    assert len(details) == 21 and details[-1]["message"] == "... and 2980 more errors"
    assert len(flood.content) < 4096
    nested_flood = client.post("/api/ops/canary", json={"payload": {"x": [[{}] * 100] * 100}, "n": 1})
    assert nested_flood.status_code in (400, 403, 413)


HOSTILE = {
    "NaN": b'{"title": "t", "text": "Engineer.", "sections": {"a": NaN}}',
    "Infinity": b'{"title": "t", "text": "Engineer.", "sections": {"a": -Infinity}}',
    "1e400": b'{"title": "t", "text": "Engineer.", "sections": {"a": 1e400}}',
    "deep": b'{"title": "t", "text": "Engineer.", "sections": {"a": ' + b"[" * 995 + b"]" * 995 + b"}}",
    "very deep": b'{"text": "E", "sections": ' + b'{"a":' * 5000 + b"1" + b"}" * 5000 + b"}",
    "huge integer": b'{"text": "E", "sections": {"a": ' + b"9" * 5000 + b"}}",
    "array": b"[1, 2, 3]",
    "string": b'"str"',
    "null": b"null",
    "not json": b"{'a': 1}",
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_json_is_a_400_with_the_envelope_never_a_500(name: str, admin_client: ApiClient) -> None:
    body = HOSTILE[name]
    for method, path in (("POST", "/api/resume"), ("POST", "/api/ops/canary")):
        payload = body if path == "/api/resume" else body.replace(b'"text": "Engineer.", "sections"', b'"payload"') \
            .replace(b'"text": "E", "sections"', b'"payload"').replace(b'"title": "t", ', b"")
        r = admin_client.request(method, path, data=payload, headers={"Content-Type": "application/json"})
        assert r.status_code == 400, (name, path, r.status_code, r.text[:300])
        assert r.json()["stage"] == "validation" and r.json()["data"] is None


def test_pagination_beyond_64_bits_is_a_400(client: ApiClient) -> None:
    for path in ("/api/resume?offset=9223372036854775808", "/api/resume/history?offset=9223372036854775808",
                 "/api/copilot/sessions/history?offset=9223372036854775808",
                 "/api/interviews?page=99999999999999999999", "/api/interviews?page=9223372036854775807"):
        r = client.get(path)
        assert r.status_code == 400 and r.json()["stage"] == "validation", (path, r.status_code, r.text[:200])



def test_a_boolean_where_a_number_belongs_is_a_400(client: ApiClient) -> None:
    """pydantic reads `true` as 1.0 in lax mode; a boolean temperature was answered 200."""
    for method, path, body in (("post", "/api/llm", {"temperature": True, "messages": [{"role": "user", "content": "hi"}]}),
                               ("put", "/api/settings/llm", {"temperature": False})):
        r = getattr(client, method)(path, json=body)
        assert r.status_code == 400 and r.json()["details"][0]["path"] == "temperature", (path, r.text[:200])


def test_the_spec_states_the_64_bit_bound_of_offsets(client: ApiClient) -> None:
    spec = client.get("/openapi.json").json()
    params = spec["paths"]["/api/copilot/sessions/history"]["get"]["parameters"]
    offset = next(p for p in params if p["name"] == "offset")
    assert offset["schema"]["maximum"] == 2**63 - 1

def test_reconciliation_at_the_end_of_the_calendar_is_a_400(admin_client: ApiClient) -> None:
    for query in ("from=9999-12", "from=9999-11&to=9999-12", "from=0000-01"):
        r = admin_client.get(f"/api/analytics/reconciliation?{query}")
        assert r.status_code == 400 and r.json()["stage"] == "validation", (query, r.text[:200])


def _raw(url: str, head: str, body: bytes = b"", *, wait: float = 10.0) -> tuple[bytes, float]:
    """Send a request's head (and some body) on a raw socket, then stall; return the answer and
    how long it took."""
    parts = urlsplit(url)
    started = time.monotonic()
    with socket.create_connection((parts.hostname, parts.port), timeout=wait) as s:
        s.sendall(head.encode() + b"\r\n" + body)
        chunks = []
        try:
            while chunk := s.recv(65536):
                chunks.append(chunk)
                if b"\r\n\r\n" in b"".join(chunks) and b'"request_id"' in b"".join(chunks):
                    break
        except TimeoutError:
            pass
    return b"".join(chunks), time.monotonic() - started


def test_an_anonymous_upload_is_refused_before_its_body_is_read(platform) -> None:  # noqa: ANN001
    head = ("POST /api/resume/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\n")
    answer, _ = _raw(platform.base_url, head, b"--b\r\n")
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert b'"stage": "auth"' in answer or b'"stage":"auth"' in answer


def test_a_body_that_trickles_in_is_cut_off_at_the_deadline(platform, client: ApiClient) -> None:  # noqa: ANN001
    with web_process(platform, body_read_timeout=1.0) as url:
        head = (f"POST /api/resume/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n"
                f"Authorization: Bearer {client.token}\r\nContent-Type: multipart/form-data; boundary=b\r\n")
        answer, took = _raw(url, head, b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n")
    assert answer.startswith(b"HTTP/1.1 408"), answer[:300]
    body = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert body["stage"] == "upload" and "1 s" in body["error"]
    assert took < 8


def _pdf_declaring(pages: int) -> bytes:
    """~6 bytes per page: 100 000 references to one page object (the red team's 600 KB PDF)."""
    import io

    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [" + b"3 0 R " * pages + b"] /Count %d >>" % pages,
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for i, obj in enumerate(objs, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % i + obj + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 4\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets))
    out.write(b"trailer\n<< /Size 4 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()


def test_a_pdf_declaring_100000_pages_is_refused_without_parsing_it(client: ApiClient, monkeypatch) -> None:  # noqa: ANN001
    import pypdf

    from jobs import resume_parse

    data = _pdf_declaring(100_000)
    r = client.post("/api/resume/upload", files={"file": ("cv.pdf", data, "application/pdf")})
    assert r.status_code == 413 and r.json()["stage"] == "decode" and "100000 pages" in r.json()["error"], r.text
    # The refusal comes from the declared count: pypdf (seconds of CPU on that page tree) is never called.
    monkeypatch.setattr(pypdf, "PdfReader", lambda *a, **k: (_ for _ in ()).throw(AssertionError("parsed")))
    with pytest.raises(Exception, match="100000 pages"):
        resume_parse.sniff(data, "pdf")


def test_document_parsing_runs_off_the_gevent_event_loop() -> None:
    import subprocess
    import sys
    from pathlib import Path

    script = ("from gevent import monkey; monkey.patch_all()\n"
              "from webapp.pipeline import off_loop\n"
              "ident = monkey.get_original('_thread', 'get_ident')\n"
              "assert off_loop(ident) != ident(), 'ran on the event loop thread'\n"
              "try:\n    off_loop(int, 'x')\nexcept ValueError:\n    print('ok')\n")
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "ok", done.stderr[-2000:]


def test_nan_and_infinity_from_a_form_are_a_400_too(client: ApiClient) -> None:
    started = data(client.post("/api/copilot/sessions/start", json={"mode": "interview"}))
    sid = started.get("session_id") or started.get("id")
    for value in ("nan", "inf", "-Infinity"):
        r = client.post(f"/api/copilot/sessions/{sid}/events",
                        files={"type": (None, "transcript"), "content": (None, "hello"), "timestamp": (None, value)})
        assert r.status_code == 400 and r.json()["details"][0]["path"] == "timestamp", (value, r.text[:300])
