"""`/docs` is Swagger UI over `/openapi.json`, served from a package (offline: nothing is fetched from any
other host), every operation has a human summary, the seed documents' examples are shown, and each
operation lists the error statuses it really answers. Chromium screenshots go to test-output/docs*.png."""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.support.client import ApiClient

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "test-output"
CHROMIUM = os.environ.get("VOICEMOCK_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def test_every_operation_has_a_human_summary_examples_and_its_statuses(anon: ApiClient) -> None:
    spec = anon.get("/openapi.json").json()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            assert " " in op["summary"] and not re.match(r"^\w+\.\w+$", op["summary"]), (method, path, op["summary"])
            if op.get("security"):
                assert "401" in op["responses"], (method, path)
            if any(p["in"] == "path" for p in op.get("parameters", [])):
                assert "404" in op["responses"], (method, path)
    start = spec["paths"]["/session/start"]["post"]
    assert start["requestBody"]["content"]["application/json"]["example"] == {
        "job_type": "Backend Engineer", "focus_area": "System Design"}  # document 000, as printed
    report = spec["paths"]["/api/interviews/{interview_id}/report"]["get"]
    example = next(r for c, r in report["responses"].items() if c.startswith("2") and c != "2XX")
    assert example["content"]["application/json"]["example"]["data"]["overall_score"] == 85  # document 004
    assert "201" not in spec["paths"]["/api/llm"]["post"]["responses"]
    assert "204" in spec["paths"]["/api/jobs/{job_id}/events"]["get"]["responses"]  # a finished stream


@pytest.mark.browser
def test_docs_render_offline_in_chromium(platform) -> None:  # noqa: ANN001
    if not CHROMIUM:
        if os.environ.get("CI"):
            pytest.fail("chromium is required when CI is set")
        pytest.skip("no chromium on this machine")
    from playwright.sync_api import sync_playwright

    OUT.mkdir(exist_ok=True)
    here = urlparse(platform.base_url).netloc
    elsewhere: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu",
                                                                    "--no-first-run", "--disable-background-networking"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))

            def offline(route) -> None:  # noqa: ANN001 - no network but the server under test
                if urlparse(route.request.url).netloc == here:
                    route.continue_()
                else:
                    elsewhere.append(route.request.url)
                    route.abort()

            page.route("**/*", offline)
            page.goto(platform.base_url + "/docs")
            page.wait_for_selector(".opblock-summary", timeout=30_000)
            ops = page.locator(".opblock").count()
            assert ops >= 60, f"only {ops} operations rendered"
            assert page.locator("text=Start a voice practice session").count() >= 1
            page.screenshot(path=str(OUT / "docs.png"), full_page=False)
            block = page.locator(".opblock-post", has=page.locator("[data-path='/session/start']")).first
            block.locator(".opblock-summary").first.click()
            block.locator("text=System Design").first.wait_for(timeout=10_000)  # document 000's example
            assert "System Design" in block.inner_text()
            page.screenshot(path=str(OUT / "docs-session-start.png"), full_page=False)
            assert not errors, errors
        finally:
            browser.close()
    assert not elsewhere, f"/docs fetched from other hosts: {elsewhere}"
