"""Live answers in the browser: headless Chromium on the embedded server (`voicemock dev`), a 30 s
spoken answer through the fake microphone. Words show on the page while the answer is still being
spoken, and the scores come within a few seconds of Stop. Skips without a browser on a laptop; fails
when CI is set."""
from __future__ import annotations

import time
import wave
from pathlib import Path
from typing import Iterator

import pytest

from tests.support.dev_server import CHROMIUM, embedded_dev_server, need_browser
from tests.support.speech import heard_most, heard_words

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # ~40 s: a 30 s answer spoken in real time

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "test-output"
ANSWER_SECONDS = 30



def _thirty_second_answer(fixtures_dir: Path, out: Path) -> Path:
    """answer_star.wav, a second of silence, then its start again: 30 s of 16 kHz mono speech."""
    with wave.open(str(fixtures_dir / "answer_star.wav")) as w:
        params, frames = w.getparams(), w.readframes(w.getnframes())
    rate, width = params.framerate, params.sampwidth
    pcm = frames + b"\0" * (rate * width) + frames
    pcm = pcm[: ANSWER_SECONDS * rate * width] + b"\0" * (2 * rate * width)  # then quiet while Stop is pressed
    with wave.open(str(out), "wb") as w:
        w.setparams(params)
        w.writeframes(pcm)
    return out


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    need_browser()
    data_dir = tmp_path_factory.mktemp("embedded-live")
    with embedded_dev_server(data_dir, VOICEMOCK_SECRET_KEY="live-e2e-secret-" + "k" * 32) as base:
        yield base


def test_words_appear_while_speaking_and_scores_right_after_stop(server: str, fixtures_dir: Path,
                                                                 tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(exist_ok=True)
    wav = _thirty_second_answer(fixtures_dir, tmp_path / "answer30.wav")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream", f"--use-file-for-fake-audio-capture={wav}",
        ])
        page = browser.new_page(base_url=server)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        try:
            page.goto("/")
            page.get_by_role("button", name="Continue as guest").click()
            page.wait_for_selector("body[data-phase=setup]")
            page.get_by_role("button", name="Start session").click()
            page.wait_for_selector("body[data-phase=question]")

            page.get_by_role("button", name="Start recording").click()
            page.wait_for_selector("body[data-phase=recording]")
            began = time.monotonic()
            # Words on the page while the answer is still being spoken.
            page.wait_for_function("(document.querySelector('#live .committed')?.textContent || '')"
                                   " + (document.querySelector('#live .tentative')?.textContent || '') !== ''",
                                   timeout=ANSWER_SECONDS * 1000)
            first_words = time.monotonic() - began
            assert page.evaluate("document.body.dataset.phase") == "recording"
            page.wait_for_timeout(max(0.0, ANSWER_SECONDS - (time.monotonic() - began)) * 1000)
            # Still recording: what the page shows was transcribed while the answer was being spoken.
            live_text = page.locator("#live .committed").inner_text().lower()
            assert heard_words(live_text), live_text  # some of the answer's distinctive words, live
            assert "words per minute" in page.locator("#live-pace").inner_text()
            assert "filler" in page.locator("#live-fillers").inner_text()
            page.screenshot(path=str(OUT / "live-recording.png"), full_page=True)

            page.get_by_role("button", name="Stop and submit").click()
            stopped = time.monotonic()
            page.wait_for_selector("body[data-phase=result]", timeout=15_000)  # "within a few seconds of stop"
            after_stop = time.monotonic() - stopped
            print(f"first words {first_words:.1f} s after recording began; scores {after_stop:.1f} s after stop")
            assert page.locator("#live-note").count() == 0 or page.locator("#live-note").is_hidden(), \
                "the live path worked (no fallback to the one-shot upload)"
            transcript = page.locator("#transcript").inner_text().lower()
            assert heard_most(transcript), transcript
            assert "/100" in page.locator("#scores").inner_text()
            page.screenshot(path=str(OUT / "live-result.png"), full_page=True)
            assert page.locator("#error").is_hidden(), page.locator("#error").inner_text()
            assert not errors, errors
        finally:
            browser.close()
