"""Issue 11, item 9: loose ends of the same contract, each found by trying the documents' examples."""
from __future__ import annotations

from pathlib import Path

from tests.support.client import ApiClient, data
from tests.support.llm_engines import fake_openai  # noqa: F401 - fixture


def test_no_error_body_names_a_server_file_path(client: ApiClient, platform, fixtures_dir: Path) -> None:  # noqa: ANN001
    """A decode error quoted the stored upload's path; now only its file name."""
    token = data(client.post("/session/start", json={"job_type": "Backend Engineer"}))["token"]
    with open(fixtures_dir / "not_audio.wav", "rb") as f:
        r = client.post("/turn", auth=False, headers={"X-Session-Token": token},
                        files={"audio": ("answer.wav", f, "audio/wav")})
    assert r.status_code in (400, 415, 422) and r.json()["stage"] == "decode"
    text = r.text
    for root in (platform.settings.storage_dir, platform.settings.data_dir, str(Path(__file__).parents[2])):
        assert str(Path(root).resolve()) not in text and root not in text, text


def test_a_text_export_answers_one_content_type(client: ApiClient) -> None:
    """`text/plain; charset=utf-8` once, not `…; charset=utf-8; charset=utf-8`."""
    iid = data(client.post("/api/interviews", json={"role": "Software Engineer", "type": "technical"}))["id"]
    client.post(f"/api/interviews/{iid}/messages", json={"role": "user", "content": "I profiled it and fixed it."})
    job = client.wait_job(data(client.post(f"/api/interviews/{iid}/export?format=text"))["job_id"])
    r = client.get(f"/api/jobs/{job['id']}/artifact")
    assert r.raw.headers.getlist("Content-Type") == ["text/plain; charset=utf-8"]


def test_free_text_focus_areas_map_to_the_bank(client: ApiClient) -> None:
    """Item 2: "System Design", "SQL", "Behavioural" … map to a bank type; the words stay in the title."""
    for words, bank in (("System Design", "system_design"), ("SQL", "technical"), ("Behavioural", "behavioral"),
                        ("Leadership", "leadership"), ("Basket weaving", "mixed")):
        out = data(client.post("/session/start", json={"job_type": "Staff SRE", "focus_area": words}))
        assert out["focus_area"] == bank and out["job_type"] == "software_engineer"
        assert out["title"] == f"Staff SRE — {words}"


def test_with_a_provider_a_free_text_role_gets_questions_written_for_its_words(
        platform, client: ApiClient, fake_openai, fixtures_dir: Path) -> None:  # noqa: ANN001
    """Item 2: "with an LLM provider configured, generate questions for the exact words"."""
    from tests.support.llm_engines import use_engine

    with use_engine(platform, fake_openai, "openai", client):
        started = data(client.post("/session/start", json={"job_type": "Staff SRE", "focus_area": "System Design",
                                                           "question_count": 3}))
        with open(fixtures_dir / "answer_short.wav", "rb") as f:
            turn = data(client.post("/turn", auth=False, headers={"X-Session-Token": started["token"]},
                                    files={"audio": ("a.wav", f, "audio/wav")}))
        job = client.wait_job(turn["job_id"])
        prompts = [m["content"] for r in fake_openai.chat_requests() for m in r.messages if m["role"] == "user"]
    assert job["status"] == "succeeded" and job["result"]["next_question"]
    assert any("Staff SRE — System Design" in p for p in prompts), prompts
