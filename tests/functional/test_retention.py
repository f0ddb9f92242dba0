"""Retention and purge: exactly what is past its age goes (files on disk too), a receipt says so, and a
second run deletes nothing."""
from __future__ import annotations

import time
import uuid
from datetime import timedelta

import requests
from sqlalchemy import inspect, select

from tests.support.client import ApiClient, data

OLD = timedelta(days=400)  # past every default retention age


def _wait_job(platform, job_id: str) -> dict:  # noqa: ANN001
    from core.models import Job

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with platform.runtime.db.Session() as s:
            job = s.get(Job, job_id)
            if job.status in ("succeeded", "failed", "cancelled"):
                return {"status": job.status, "result": job.result, "error": job.error}
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish")


def _seed(platform) -> dict:  # noqa: ANN001
    from core.clock import utcnow
    from core.models import IdempotencyKey, Interview, Job, JobEvent, Turn, User

    now, storage = utcnow(), platform.runtime.storage
    tag = uuid.uuid4().hex[:8]
    ids: dict = {"tag": tag}
    with platform.runtime.db.session_scope() as s:
        user = User(subject=f"ret-{tag}@example.com", email=f"ret-{tag}@example.com")
        s.add(user)
        s.flush()
        interview = Interview(user_id=user.id, created_at=now - OLD)
        s.add(interview)
        s.flush()
        for age, name in ((OLD, "old"), (timedelta(0), "new")):
            key = f"audio/{user.id}/{name}-{tag}.wav"
            storage.save(key, b"RIFF....")
            turn = Turn(interview_id=interview.id, audio_key=key, transcript=f"{name} transcript", segments=[],
                        created_at=now - age)
            job = Job(kind="ops.canary", status="succeeded", user_id=user.id, created_at=now - age,
                      finished_at=now - age, artifact_key=f"exports/{name}-{tag}.txt")
            storage.save(job.artifact_key, b"report")
            s.add_all([turn, job])
            s.add(JobEvent(stream=f"job:ret-{name}-{tag}", seq=1, type="queued", data={}, created_at=now - age))
            s.add(IdempotencyKey(scope=f"user:{tag}", key=name, request_hash="x", method="POST", path="/",
                                 state="done", created_at=now - age,
                                 expires_at=now - timedelta(hours=1) if name == "old" else now + timedelta(hours=1)))
            s.flush()
            ids[name] = {"turn": turn.id, "job": job.id, "audio": key, "artifact": job.artifact_key}
        running = Job(kind="ops.canary", status="running", user_id=user.id, created_at=now - OLD)
        s.add(running)
        s.flush()
        ids["running_job"] = running.id
        if inspect(s.get_bind()).has_table("copilot_sessions"):
            from core.models.copilot import CopilotChunk, CopilotSession

            for name, age in (("old", OLD), ("new", timedelta(0))):
                cs = CopilotSession(user_id=user.id, created_at=now - age)
                s.add(cs)
                s.flush()
                ids[name]["copilot"] = cs.id
                key = storage.save(f"copilot/{user.id}/{cs.id}/1.wav", b"RIFF....")  # an untranscribed chunk
                s.add(CopilotChunk(session_id=cs.id, type="audio", status="failed", audio_key=key))
                ids[name]["copilot_audio"] = key
    return ids


def test_retention_deletes_exactly_what_is_past_its_age_and_a_second_run_deletes_nothing(
        platform, admin_client: ApiClient, anon: ApiClient) -> None:  # noqa: ANN001
    from core.models import IdempotencyKey, Job, JobEvent, Turn

    ids = _seed(platform)
    storage = platform.runtime.storage
    assert anon.post("/api/cron/retention").status_code == 401
    assert anon.post("/api/cron/retention", headers={"X-Cron-Secret": "wrong"}).status_code == 401
    assert admin_client.post("/api/cron/retention").status_code == 401, "an admin token is not the cron secret"

    r = anon.post("/api/cron/retention", headers={"X-Cron-Secret": platform.settings.cron_secret})
    assert r.status_code == 202
    first = _wait_job(platform, data(r)["job_id"])
    assert first["status"] == "succeeded", first
    counts = first["result"]["counts"]
    assert counts["audio"] == 1 and counts["audio_files"] == 1
    assert counts["transcripts"] == 1
    assert counts["finished_jobs"] == 1 and counts["artifact_files"] == 1
    assert counts["job_events"] >= 1 and counts["idempotency_keys"] >= 1

    assert not storage.exists(ids["old"]["audio"]) and storage.exists(ids["new"]["audio"])
    assert not storage.exists(ids["old"]["artifact"]) and storage.exists(ids["new"]["artifact"])
    with platform.runtime.db.Session() as s:
        old_turn, new_turn = s.get(Turn, ids["old"]["turn"]), s.get(Turn, ids["new"]["turn"])
        assert old_turn.audio_key is None and old_turn.transcript is None
        assert new_turn.audio_key == ids["new"]["audio"] and new_turn.transcript == "new transcript"
        assert s.get(Job, ids["old"]["job"]) is None and s.get(Job, ids["new"]["job"]) is not None
        assert s.get(Job, ids["running_job"]) is not None, "unfinished jobs are never deleted"
        streams = set(s.execute(select(JobEvent.stream).where(JobEvent.stream.like(f"%{ids['tag']}"))).scalars())
        assert streams == {f"job:ret-new-{ids['tag']}"}
        keys = set(s.execute(select(IdempotencyKey.key).where(IdempotencyKey.scope == f"user:{ids['tag']}")).scalars())
        assert keys == {"new"}
        if "copilot" in ids["old"]:
            from core.models.copilot import CopilotSession

            assert s.get(CopilotSession, ids["old"]["copilot"]) is None
            assert s.get(CopilotSession, ids["new"]["copilot"]) is not None
            assert not storage.exists(ids["old"]["copilot_audio"]) and storage.exists(ids["new"]["copilot_audio"])
            assert counts["copilot_audio_files"] == 1

    r2 = requests.post(platform.base_url + "/api/cron/retention", timeout=10,
                       headers={"Authorization": f"Bearer {platform.settings.cron_secret}"})
    assert r2.status_code == 202
    second = _wait_job(platform, data(r2)["job_id"])
    assert second["result"]["total"] == 0 and second["result"]["counts"]["audio_files"] == 0

    receipts = data(admin_client.get("/api/retention/receipts?kind=retention&limit=2"))["receipts"]
    assert [rc["job_id"] for rc in receipts] == [data(r2)["job_id"], data(r)["job_id"]]
    assert receipts[1]["counts"] == counts and receipts[1]["cutoffs"]["audio"]
    assert receipts[0]["total"] == 0
    assert anon.get("/api/retention/receipts").status_code == 401


def _export(platform, client: ApiClient, interview_id: str) -> tuple[str, str]:  # noqa: ANN001
    """Export an interview: (job id, the artifact's storage key)."""
    from core.models import Job

    job = client.wait_job(data(client.post(f"/api/interviews/{interview_id}/export?format=json"))["job_id"])
    assert job["status"] == "succeeded", job
    with platform.runtime.db.Session() as s:
        return job["id"], s.get(Job, job["id"]).artifact_key


def _leaver_files(platform, make_client, fixtures_dir) -> tuple[str, dict[str, str]]:  # noqa: ANN001
    """A user who uploaded a resume, sent copilot audio and exported an interview: (user id, file keys)."""
    import base64

    from core.models import CopilotChunk, Resume

    from tests.functional.test_resumes import make_pdf

    leaver = make_client()
    up = data(leaver.post("/api/resume/upload", files={"file": ("cv.pdf", make_pdf(), "application/pdf")}))
    assert leaver.wait_job(up["job_id"])["status"] == "succeeded"
    cop = data(leaver.post("/api/copilot/sessions/start", json={"mode": "interview", "role": "SRE", "company": "X"}))
    audio = base64.b64encode((fixtures_dir / "answer_short.wav").read_bytes()).decode()
    chunk = data(leaver.post(f"/api/copilot/sessions/{cop['session_id']}/events",
                             json={"type": "audio", "content": audio, "format": "wav"}))
    leaver.wait_job(chunk["transcription"]["job_id"])  # a transcribed chunk's audio is deleted at once
    # ... a chunk whose transcription failed keeps its audio until the session goes
    with platform.runtime.db.session_scope() as s:
        failed = CopilotChunk(session_id=cop["session_id"], type="audio", status="failed",
                              audio_key=platform.runtime.storage.save(f"copilot/x/{cop['session_id']}/9.wav", b"RIFF"))
        s.add(failed)
        s.flush()
        failed_id = failed.id
    practice = data(leaver.post("/session/start", json={"job_type": "software_engineer", "focus_area": "behavioral"}))
    keys = {"export": _export(platform, leaver, practice["session_id"])[1]}
    with platform.runtime.db.Session() as s:
        resume = s.get(Resume, up["resume_id"])
        keys["resume"] = resume.file_key
        keys["copilot audio"] = s.get(CopilotChunk, failed_id).audio_key
        return resume.user_id, keys


def test_purge_removes_deleted_accounts_and_interviews_with_their_files(platform, client: ApiClient, make_client,
                                                                        fixtures_dir) -> None:  # noqa: ANN001
    from core.clock import utcnow
    from core.models import Interview, Job, User

    storage = platform.runtime.storage
    started = data(client.post("/session/start", json={"job_type": "software_engineer", "focus_area": "behavioral"}))
    with open(fixtures_dir / "answer_short.wav", "rb") as f:
        turn = data(client.post("/turn", auth=False, headers={"X-Session-Token": started["token"]},
                                files={"audio": ("a.wav", f, "audio/wav")}))
    client.wait_job(turn["job_id"])
    kept = data(client.post("/session/start", json={"job_type": "software_engineer", "focus_area": "behavioral"}))
    # Exports of the interview that will be deleted, and of the one that stays.
    gone_export_job, gone_export = _export(platform, client, started["session_id"])
    _, kept_export = _export(platform, client, kept["session_id"])
    assert client.delete(f"/session/{started['session_id']}").status_code == 200
    leaver_id, leaver_keys = _leaver_files(platform, make_client, fixtures_dir)
    ids = _seed(platform)
    with platform.runtime.db.session_scope() as s:
        gone_user = s.execute(select(User).where(User.subject == f"ret-{ids['tag']}@example.com")).scalar_one()
        gone_user.deleted_at = utcnow()
        gone_user_id = gone_user.id
        s.get(User, leaver_id).deleted_at = utcnow()
    for what, key in {**leaver_keys, "deleted interview's export": gone_export, "kept export": kept_export}.items():
        assert key and storage.exists(key), what
    r = requests.post(platform.base_url + "/api/cron/purge", headers={"X-Cron-Secret": platform.settings.cron_secret},
                      timeout=10)
    assert r.status_code == 202
    result = _wait_job(platform, data(r)["job_id"])["result"]
    assert result["counts"]["accounts"] >= 2 and result["counts"]["interviews"] >= 3
    assert result["counts"]["resume_files"] >= 1 and result["counts"]["copilot_audio_files"] >= 1
    assert result["counts"]["artifact_files"] >= 4  # the seeded user's two, the leaver's, the deleted interview's
    assert not storage.exists(ids["new"]["audio"])
    for what, key in {**leaver_keys, "deleted interview's export": gone_export}.items():
        assert not storage.exists(key), f"the {what} file outlived the purge"
    for name in ("old", "new"):
        assert not storage.exists(ids[name]["artifact"]), "the deleted account's job artifacts"
    assert storage.exists(kept_export), "another interview's export stays"
    with platform.runtime.db.Session() as s:
        assert s.get(User, gone_user_id) is None
        assert s.get(Interview, started["session_id"]) is None
        assert s.get(Interview, kept["session_id"]) is not None
        assert s.get(User, leaver_id) is None
        assert s.get(Job, gone_export_job) is None, "the deleted interview's export job goes with it"
    assert data(client.get(f"/session/{kept['session_id']}"))["session_id"] == kept["session_id"]
