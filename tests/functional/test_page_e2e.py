"""The practice page in headless Chromium against the embedded server (`voicemock dev`), with a fake
microphone fed from a WAV file (espeak-ng speech), through a proxy that cuts the re-recorded answer's event
stream. The walk: setup with a pasted job description → answer → re-record → a silent answer refused →
reload mid-session resumes → end → report with a per-question breakdown → PDF downloaded and read →
history lists the session; drawings readable (text >= 12 px, no colliding labels) at 390 px and desktop.

Screenshots go to test-output/. Skips without a browser on a laptop; fails when CI is set."""
from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest
import requests
from pypdf import PdfReader

from tests.support.dev_server import CHROMIUM, embedded_dev_server, need_browser
from tests.support.speech import heard_most, heard_words

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "test-output"
SECRET = "page-e2e-secret-" + "k" * 32
ADMIN = "ops-admin@example.com"
JOB_DESCRIPTION = ("Backend Engineer, Payments platform. You will design and run Python services on PostgreSQL, "
                   "cut API latency, own incident response and on-call, and mentor engineers on the team.")

# Every drawing's text as rendered: its size in screen px, its box, and whether it fits its drawing.
_DRAWN_TEXT = """(sel) => [...document.querySelectorAll(sel + ' svg')].filter(s => s.getClientRects().length).map(s => {
  const box = s.getBoundingClientRect();
  return [...s.querySelectorAll('text')].map(t => {
    const r = t.getBoundingClientRect();
    return {text: t.textContent, px: parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a,
            l: r.left, r: r.right, t: r.top, b: r.bottom,
            inside: r.left >= box.left - 1 && r.right <= box.right + 1};
  });
})"""


def _assert_readable(page, selector: str) -> int:  # noqa: ANN001
    """Text in the drawings under `selector` is >= 12 px, inside its drawing, and no two labels touch."""
    drawings = page.evaluate(_DRAWN_TEXT, selector)
    assert drawings, f"no drawing under {selector}"
    for texts in drawings:
        for t in texts:
            assert t["px"] >= 12, f"{selector}: {t['text']!r} is {t['px']:.1f} px"
            assert t["inside"], f"{selector}: {t['text']!r} runs off its drawing"
        for i, a in enumerate(texts):
            for b in texts[i + 1:]:
                apart = a["r"] + 2 <= b["l"] or b["r"] + 2 <= a["l"] or a["b"] <= b["t"] or b["b"] <= a["t"]
                assert apart, f"{selector}: labels {a['text']!r} and {b['text']!r} collide"
    return sum(len(t) for t in drawings)



class CuttingProxy:
    """A TCP proxy in front of the server that, once armed, severs the next event stream right after it
    carried a `partial` event, as a flaky network would; it records the headers of every request it
    forwards. Armed by the test for the one stream it means to cut (not whichever stream first carries a
    partial: a live answer's stream would race its own finish)."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.requests: list[str] = []
        self.armed = threading.Event()
        self.cut_done = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream))
            current = {"head": ""}
            threading.Thread(target=self._pump_up, args=(client, upstream, current), daemon=True).start()
            threading.Thread(target=self._pump_down, args=(upstream, client, current), daemon=True).start()

    def _pump_up(self, src: socket.socket, dst: socket.socket, current: dict) -> None:
        try:
            while chunk := src.recv(65536):
                if chunk[:8].split(b" ")[0] in (b"GET", b"POST", b"PUT", b"DELETE", b"OPTIONS"):
                    current["head"] = chunk.split(b"\r\n\r\n")[0].decode("latin-1")
                    self.requests.append(current["head"])
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            _close(src, dst)

    def _pump_down(self, src: socket.socket, dst: socket.socket, current: dict) -> None:
        try:
            while chunk := src.recv(65536):
                dst.sendall(chunk)
                head = current["head"]
                if (self.armed.is_set() and not self.cut_done.is_set() and b"event: partial" in chunk and b"event: succeeded" not in chunk
                        and head.startswith("GET /api/jobs/") and "/events" in head.split("\r\n")[0]):
                    self.cut_done.set()
                    break
        except OSError:
            pass
        finally:
            _close(src, dst)

    def close(self) -> None:
        self.listener.close()


def _close(*socks: socket.socket) -> None:
    for s in socks:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    need_browser()
    data_dir = tmp_path_factory.mktemp("embedded")
    with embedded_dev_server(data_dir, VOICEMOCK_SECRET_KEY=SECRET, VOICEMOCK_ADMIN_EMAILS=ADMIN) as base:
        yield base


@pytest.fixture(scope="module")
def browser(server: str, fixtures_dir: Path):  # noqa: ANN201
    from playwright.sync_api import sync_playwright

    OUT.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={fixtures_dir / 'answer_star.wav'}",
        ])
        yield b
        b.close()


def _page(browser, base: str, width: int = 1100, height: int = 900):  # noqa: ANN001, ANN202
    ctx = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True, base_url=base)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.js_errors = errors
    return page


def _answer_by_microphone(page, seconds: float) -> None:  # noqa: ANN001
    page.get_by_role("button", name="Start recording").click()
    page.wait_for_selector("body[data-phase=recording]")
    page.wait_for_timeout(seconds * 1000)  # the fake microphone plays the WAV for this long
    page.get_by_role("button", name="Stop and submit").click()
    page.wait_for_selector("body[data-phase=result]", timeout=45_000)


def _session_as_the_page_sees_it(page) -> dict:  # noqa: ANN001
    return page.evaluate("""async () => {
        const kept = JSON.parse(localStorage.getItem('voicemock.session'));
        const r = await fetch('/session/' + kept.id, {headers: {'X-Session-Token': kept.token}});
        return (await r.json()).data; }""")


def test_a_whole_voice_session_in_the_browser(server: str, browser, fixtures_dir: Path) -> None:  # noqa: ANN001
    proxy = CuttingProxy(int(server.rsplit(":", 1)[1]))
    page = _page(browser, f"http://127.0.0.1:{proxy.port}")
    try:
        page.goto("/")
        page.get_by_role("button", name="Continue as guest").click()
        page.wait_for_selector("body[data-phase=setup]")
        page.get_by_label("Role").select_option("software_engineer")
        page.get_by_label("Focus area").select_option("behavioral")
        page.get_by_label("Difficulty").select_option("medium")
        page.get_by_label("Number of questions").fill("2")
        page.get_by_label("Job description").fill(JOB_DESCRIPTION)
        assert page.locator("#resume option").first.inner_text() == "No resume"
        page.screenshot(path=str(OUT / "page-setup.png"), full_page=True)
        page.get_by_role("button", name="Start session").click()
        page.wait_for_selector("body[data-phase=question]")
        first_question = page.locator("#question-h").inner_text()
        assert first_question and "Question 1 of 2" in page.locator("#question-meta").inner_text()
        session = _session_as_the_page_sees_it(page)
        assert session["job_description"] == JOB_DESCRIPTION

        # Turn 1, by microphone (live answer while recording when the server offers it).
        _answer_by_microphone(page, 10)
        transcript = page.locator("#transcript").inner_text().lower()
        assert len(heard_words(transcript)) >= 2, transcript  # several words of the answer, not one
        assert page.locator("#transcript mark.filler").count() >= 1, "fillers are highlighted"
        figures = page.locator("#figures").inner_text()
        assert "words per minute" in figures and "Filler words" in figures
        assert "110–180 band" in page.locator("#pace-desc").inner_text()
        assert page.locator("#pauses svg").count() == 1
        assert _assert_readable(page, "#pace") >= 3 and _assert_readable(page, "#pauses") >= 2
        scores = page.locator("#scores").inner_text()
        for dim in ("Overall", "Content", "Structure", "Delivery"):
            assert dim in scores
        assert "/100" in scores
        status = page.locator("#status").inner_text()
        assert status.startswith("Scored") and "Processing" not in status, status
        page.screenshot(path=str(OUT / "page-result.png"), full_page=True)

        # Re-record question 1 as an uploaded recording: same question, scored again, and it does not use up
        # question 2. Its event stream is cut after the first transcript segment; the page reconnects.
        page.get_by_role("button", name="Re-record this answer").click()
        page.wait_for_selector("body[data-phase=question]")
        assert page.locator("#question-h").inner_text() == first_question
        assert "again" in page.locator("#question-meta").inner_text()
        page.locator("#answer-card details").evaluate("d => { d.open = true; }")
        page.set_input_files("#file", str(fixtures_dir / "answer_star.wav"))
        proxy.armed.set()
        page.get_by_role("button", name="Upload file").click()
        page.wait_for_selector("body[data-phase=result]", timeout=45_000)
        assert proxy.cut_done.is_set(), "the proxy never saw a partial event to cut after"
        streams = [h.split("\r\n")[0] + (" [Last-Event-ID]" if "last-event-id:" in h.lower() else "")
                   for h in proxy.requests if "/events" in h.split("\r\n")[0]]
        reconnects = [h for h in streams if "Last-Event-ID" in h or "last_event_id=" in h]
        assert reconnects, f"the page reopened the cut stream after the last event it had: {streams}"
        segment_ids = page.locator("#transcript p.segment").evaluate_all("ps => ps.map(p => p.dataset.segment)")
        assert len(segment_ids) == len(set(segment_ids)), f"duplicate segments after the replay: {segment_ids}"
        assert heard_most(page.locator("#transcript").inner_text()), "the whole uploaded answer is shown"
        turns = _session_as_the_page_sees_it(page)["turns"]
        assert [t["status"] for t in turns] == ["superseded", "succeeded"], turns

        # Question 2: a silent answer is refused in words and the question stays open.
        page.get_by_role("button", name="Next question").click()
        page.wait_for_selector("body[data-phase=question]")
        second_question = page.locator("#question-h").inner_text()
        assert second_question != first_question and "Question 2 of 2" in page.locator("#question-meta").inner_text()
        page.locator("#answer-card details").evaluate("d => { d.open = true; }")
        page.set_input_files("#file", str(fixtures_dir / "silence.wav"))
        page.get_by_role("button", name="Upload file").click()
        page.wait_for_selector("#error:not([hidden])", timeout=45_000)
        assert "No speech was heard" in page.locator("#error").inner_text()
        page.wait_for_selector("body[data-phase=question]")
        assert page.locator("#question-h").inner_text() == second_question
        assert page.locator("#processing").is_hidden() and page.locator("#record").is_enabled()
        page.screenshot(path=str(OUT / "page-silent-refused.png"), full_page=True)

        # A reload mid-session comes back to the open question.
        page.reload()
        page.wait_for_selector("body[data-phase=question]")
        assert page.locator("#question-h").inner_text() == second_question
        assert "Question 2 of 2" in page.locator("#question-meta").inner_text()
        assert "Resumed" in page.locator("#status").inner_text()
        _answer_by_microphone(page, 5)
        assert page.locator("#next").is_hidden()

        page.get_by_role("button", name="End session").click()
        page.wait_for_selector("body[data-phase=report]", timeout=30_000)
        report = page.locator("#report-body").inner_text()
        assert "Overall score" in report and "2 answers scored" in report
        breakdown = page.locator("#report-body .q-breakdown")
        assert breakdown.count() == 2, report
        assert first_question in breakdown.nth(0).inner_text() and second_question in breakdown.nth(1).inner_text()
        assert "Content" in breakdown.nth(0).inner_text()

        with page.expect_download(timeout=30_000) as dl:
            page.get_by_role("button", name="Download PDF").click()
        name = dl.value.suggested_filename
        assert name.endswith(".pdf"), name
        pdf_path = OUT / "page-report.pdf"
        dl.value.save_as(str(pdf_path))
        assert pdf_path.read_bytes()[:5] == b"%PDF-"
        reader = PdfReader(str(pdf_path))
        text = " ".join(" ".join(p.extract_text() or "" for p in reader.pages).split()).lower()
        assert 1 <= len(reader.pages) <= 10, len(reader.pages)
        for question in (first_question, second_question):  # the per-question breakdown names each question
            assert " ".join(question.lower().split()[:4]) in text, (question, text[:800])
        page.wait_for_function("document.getElementById('pdf-status').textContent.startsWith('Downloaded')")

        # The progress chart draws this session from /api/progress; the history lists it.
        page.wait_for_selector("#chart svg.chart circle")
        assert _assert_readable(page, "#chart") >= 5
        row = page.locator(f"#history-list li[data-session='{session['session_id']}']")
        row.wait_for()
        assert "ended" in row.inner_text()
        page.screenshot(path=str(OUT / "page-report.png"), full_page=True)

        # Reopen the report from the history; then the same page on a phone-sized window.
        page.get_by_role("button", name="Practise again").click()
        page.wait_for_selector("body[data-phase=setup]")
        row.get_by_role("button", name="Open report").click()
        page.wait_for_selector("body[data-phase=report]")
        assert page.locator("#report-body .q-breakdown").count() == 2
        page.set_viewport_size({"width": 390, "height": 844})
        page.wait_for_timeout(400)  # the page draws its charts again after a resize
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert _assert_readable(page, "#chart") >= 5
        page.screenshot(path=str(OUT / "page-report-390.png"), full_page=True)
        assert page.locator("#error").is_hidden(), page.locator("#error").inner_text()

        # A guest is warned before signing out strands the history; staying keeps everything.
        page.get_by_role("button", name="Sign out").click()
        warning = page.get_by_role("alertdialog")
        assert "history" in warning.inner_text()
        page.screenshot(path=str(OUT / "phone-signout-warning.png"))
        page.get_by_role("button", name="Stay signed in").click()
        assert warning.is_hidden() and page.locator("#signin").is_hidden()
        page.get_by_role("button", name="Sign out").click()
        page.get_by_role("button", name="Sign out and lose my history").click()
        page.wait_for_selector("body[data-phase=signin]")
        assert page.evaluate("localStorage.getItem('voicemock.token')") is None
        assert not page.js_errors, page.js_errors
    finally:
        page.context.close()
        proxy.close()


def _unlabelled_controls(page) -> list[str]:  # noqa: ANN001
    return page.evaluate("""() => [...document.querySelectorAll('input, select, textarea, button')]
        .filter(c => !(c.labels && c.labels.length) && !c.getAttribute('aria-label')
                     && !c.getAttribute('aria-labelledby') && !(c.tagName === 'BUTTON' && c.textContent.trim()))
        .map(c => c.outerHTML.slice(0, 80))""")


def _tab_stops(page, presses: int = 25) -> list[str]:  # noqa: ANN001
    page.evaluate("document.activeElement && document.activeElement.blur()")
    stops = []
    for _ in range(presses):
        page.keyboard.press("Tab")
        stops.append(page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()"))
    return stops


def test_the_page_is_labelled_keyboard_usable_and_fits_a_phone(server: str, browser, fixtures_dir: Path) -> None:  # noqa: ANN001
    page = _page(browser, server, width=390, height=844)
    try:
        page.goto("/")
        page.wait_for_selector("body[data-phase=signin]")
        assert _unlabelled_controls(page) == []
        assert page.locator("[aria-live=polite]").count() >= 1
        stops = _tab_stops(page)
        assert {"token", "token-signin", "guest"} <= set(stops), stops
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(OUT / "phone-signin.png"), full_page=True)

        # Keyboard only: focus the guest button and press Enter, then start a session from the keyboard.
        page.focus("#guest")
        page.keyboard.press("Enter")
        page.wait_for_selector("body[data-phase=setup]")
        stops = _tab_stops(page)
        assert {"role", "focus", "difficulty", "count", "jd", "resume", "start"} <= set(stops), stops
        # A resume of this guest's is offered in the picker (after a reload) and tailors the session.
        resume_id = page.evaluate("""async () => (await (await fetch('/api/resume', {method: 'POST',
            headers: {'Content-Type': 'application/json', Authorization: 'Bearer ' + localStorage.getItem('voicemock.token')},
            body: JSON.stringify({title: 'My CV', text: 'Ran on-call for payments; cut API latency by 40%.'})})).json()).data.id""")
        page.reload()
        page.wait_for_selector(f"#resume option[value='{resume_id}']", state="attached")
        page.locator("#resume").select_option(resume_id)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(OUT / "phone-setup.png"), full_page=True)
        page.focus("#start")
        page.keyboard.press("Enter")
        page.wait_for_selector("body[data-phase=question]")
        assert _session_as_the_page_sees_it(page)["resume_id"] == resume_id
        assert {"record", "end-now"} <= set(_tab_stops(page, 40))
        assert page.evaluate("document.documentElement.scrollWidth") <= 390

        # A file that is not audio: the error is shown in words, with the stage.
        page.locator("#answer-card details summary").click()
        page.set_input_files("#file", str(fixtures_dir / "not_audio.wav"))
        page.get_by_role("button", name="Upload file").click()
        page.wait_for_selector("#error:not([hidden])")
        error = page.locator("#error").inner_text()
        assert "stage" in error and len(error) > 30, error

        page.set_input_files("#file", str(fixtures_dir / "answer_short.wav"))
        page.get_by_role("button", name="Upload file").click()
        page.wait_for_selector("body[data-phase=result]", timeout=45_000)
        assert page.locator("#error").is_hidden()
        assert _unlabelled_controls(page) == []
        assert {"next", "rerecord", "end"} <= set(_tab_stops(page, 60))
        assert _assert_readable(page, "#pace") >= 3 and _assert_readable(page, "#pauses") >= 2
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(OUT / "phone-result.png"), full_page=True)

        page.get_by_role("button", name="End session").click()
        page.wait_for_selector("body[data-phase=report]", timeout=30_000)
        page.wait_for_selector("#chart svg.chart circle")
        assert _assert_readable(page, "#chart") >= 5
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(OUT / "phone-report.png"), full_page=True)
        assert not page.js_errors, page.js_errors
    finally:
        page.context.close()


def test_operators_see_queues_and_retry_failed_jobs(server: str, browser) -> None:  # noqa: ANN001
    from core.config import Settings
    from core.tokens import mint_access_token

    token = mint_access_token(Settings.from_env(env={"VOICEMOCK_SECRET_KEY": SECRET}), ADMIN, email=ADMIN)
    headers = {"Authorization": f"Bearer {token}"}
    job = requests.post(server + "/api/ops/canary", json={"bad_input": True}, headers=headers, timeout=10).json()["data"]
    deadline = time.monotonic() + 20
    while requests.get(server + job["status_url"], headers=headers, timeout=5).json()["data"]["status"] != "failed":
        assert time.monotonic() < deadline, "the canary did not fail"
        time.sleep(0.2)

    page = _page(browser, server)
    try:
        # A guest on the practice page, then an operator signs in on /ops in the same browser.
        page.goto("/")
        page.get_by_role("button", name="Continue as guest").click()
        page.wait_for_selector("body[data-phase=setup]")
        page.goto("/ops")
        page.get_by_label("Administrator access token").fill(token)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_selector("body[data-phase=ops]")
        page.wait_for_selector(f"tr[data-job='{job['job_id']}']")
        assert "stub" in page.locator("#queues").inner_text()
        page.wait_for_selector("#receipts p, #receipts table")  # fetched after the job tables are drawn
        assert "None yet" in page.locator("#receipts").inner_text() or page.locator("#receipts table").count()
        assert _unlabelled_controls(page) == []
        page.screenshot(path=str(OUT / "ops.png"), full_page=True)
        page.get_by_role("button", name=f"Retry job {job['job_id']}").click()
        page.wait_for_function("document.getElementById('status').textContent.includes('re-queued')")
        assert page.locator("#error").is_hidden()
        # The practice page kept its own identity: still the guest, not the operator.
        page.goto("/")
        page.wait_for_selector("body[data-phase=setup]")
        assert page.locator("#whoami").inner_text() == "Signed in as a guest."
        assert not page.js_errors, page.js_errors
    finally:
        page.context.close()

    # An administrator signed in on the practice page gets into /ops without pasting the token again.
    page = _page(browser, server)
    try:
        page.goto("/")
        page.evaluate("t => localStorage.setItem('voicemock.token', t)", token)
        page.goto("/ops")
        page.wait_for_selector("body[data-phase=ops]")
        assert page.evaluate("localStorage.getItem('voicemock.token')") == token
        assert not page.js_errors, page.js_errors
    finally:
        page.context.close()
