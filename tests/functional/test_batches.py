"""Batch resume generation: 200 items through real workers, SSE progress, and the resumable CLI."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.support.client import ApiClient, data

RESUME = ("Jane Doe\njane@example.com\nExperience\nResponsible for building Flask APIs for 2 million users\n"
          "Worked on PostgreSQL migrations for 12 services\nSkills\nPython, Flask, PostgreSQL")
ROLES = ["Backend Engineer", "Data Engineer", "Platform Engineer", "ML Engineer", "Site Reliability Engineer"]


def _jd(i: int) -> str:
    return (f"We are hiring a {ROLES[i % 5]} (req {i}) to build services with Python, Flask, Redis and "
            f"{['AWS', 'GCP', 'Kafka', 'Kubernetes'][i % 4]}.")


def test_two_hundred_descriptions_run_to_completion_with_an_event_per_item(client: ApiClient, make_client) -> None:  # noqa: ANN001
    rid = data(client.post("/api/resume", json={"text": RESUME}))["id"]
    r = client.post("/api/resume/generate/batch",
                    json={"resume_id": rid, "type": "tailor", "job_descriptions": [_jd(i) for i in range(200)]})
    assert r.status_code == 202, r.text
    created = data(r)
    assert created["batch_id"].startswith("bat_") and created["total"] == 200 and len(created["items"]) == 200
    events = client.sse(created["stream_url"], auth=False, timeout=120)
    items = [e for e in events if e.type == "item"]
    assert events[-1].type == "succeeded" and events[-1].data["data"]["status"] == "completed"
    assert len({e.data["data"]["job_id"] for e in items}) == 200
    assert [e.id for e in events] == list(range(1, len(events) + 1))
    batch = data(client.get(f"/api/batches/{created['batch_id']}"))
    assert batch["status"] == "completed" and batch["progress"] == 1.0
    assert batch["counts"]["succeeded"] == 200 and batch["done"] == 200
    listed = data(client.get(f"/api/batches/{created['batch_id']}/items?limit=5"))["items"]
    assert listed[0]["key"] == "item-000001" and listed[0]["result"]["output"]["match_score"] > 0
    history = data(client.get("/api/resume/history?limit=1"))
    assert history["total"] == 200
    assert make_client().get(f"/api/batches/{created['batch_id']}").status_code == 404


def test_an_open_batch_dedupes_item_keys_and_completes_when_closed(client: ApiClient) -> None:
    r = client.post("/api/resume/generate/batch", json={"open": True, "type": "cover_letter", "resume_text": RESUME})
    batch_id = data(r)["batch_id"]
    first = data(client.post(f"/api/batches/{batch_id}/items",
                             json={"items": [{"key": "a", "job_description": _jd(1)}]}))["items"][0]
    again = data(client.post(f"/api/batches/{batch_id}/items",
                             json={"items": [{"key": "a", "job_description": _jd(1)}]}))["items"][0]
    assert again == {**first, "existing": True}
    assert client.wait_job(first["job_id"])["status"] == "succeeded"
    assert data(client.get(f"/api/batches/{batch_id}"))["status"] == "running", "open batches wait to be closed"
    closed = data(client.post(f"/api/batches/{batch_id}/close"))
    assert closed["status"] == "completed" and closed["total"] == 1
    r = client.post(f"/api/batches/{batch_id}/items", json={"items": [{"job_description": _jd(2)}]})
    assert r.status_code == 409
    r = client.post("/api/resume/generate/batch", json={"job_descriptions": [_jd(1)], "resume_id": "res_nope"})
    assert r.status_code == 404


def _write_input(path: Path, n: int) -> None:
    with path.open("w") as f:
        for i in range(n):
            f.write(json.dumps({"id": f"jd-{i:03d}", "job_description": _jd(i)}) + "\n")
        f.write("{not json\n")


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "cli.main", "batch", "resume-generate", *args]


def _state(out: Path) -> dict:
    try:
        return json.loads((out / ".voicemock-batch.json").read_text())
    except (FileNotFoundError, ValueError):
        return {"items": {}}


def test_a_killed_cli_run_resumes_without_redoing_finished_items(client: ApiClient, tmp_path: Path) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / "out"
    _write_input(src, 200)
    args = _cli(str(src), "--out", str(out), "--url", client.base_url, "--token", client.token,
                "--resume", str(_resume_file(tmp_path)), "--concurrency", "4")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done = [k for k, v in _state(out)["items"].items() if v.get("status") == "succeeded"]
        if len(done) >= 30 or proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = _state(out)
    finished = {k: v for k, v in before["items"].items() if v.get("status") == "succeeded"}
    assert 30 <= len(finished) < 200, "the run was killed midway"
    mtimes = {k: (out / v["output"]).stat().st_mtime_ns for k, v in finished.items()}

    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, "an item failed (the bad line): the exit status says so"
    assert "succeeded" in result.stdout and "line-000201" in result.stdout, "the bad line is listed with its reason"
    after = _state(out)
    assert after["batch_id"] == before["batch_id"]
    ok = {k: v for k, v in after["items"].items() if v.get("status") == "succeeded"}
    assert len(ok) == 200 and after["items"]["line-000201"]["status"] == "failed"
    for key, v in finished.items():
        assert ok[key]["job_id"] == v["job_id"]
        assert (out / v["output"]).stat().st_mtime_ns == mtimes[key], f"{key} was redone"
    assert len(list(out.glob("jd-*.json"))) == 200
    batch = data(client.get(f"/api/batches/{after['batch_id']}"))
    assert batch["total"] == 200 and batch["counts"]["succeeded"] == 200, "no item ran twice"
    assert batch["status"] == "completed"


def test_the_cli_runs_in_process_with_local(tmp_path: Path, test_env: dict) -> None:  # noqa: ANN001
    src, out = tmp_path / "in.jsonl", tmp_path / "out"
    _write_input(src, 5)
    env = {k: v for k, v in {**os.environ, **test_env}.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["PYTHONPATH"] = str(Path(__file__).parents[2])
    result = subprocess.run(_cli(str(src), "--out", str(out), "--local", "--type", "cover_letter",
                                 "--resume", str(_resume_file(tmp_path))),
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr  # the bad line failed
    outputs = sorted(out.glob("jd-*.json"))
    assert len(outputs) == 5
    assert "Jane Doe" in json.loads(outputs[0].read_text())["output"]["body"]
    assert "failed" in result.stdout and "line-000006" in result.stdout


def _resume_file(tmp_path: Path) -> Path:
    path = tmp_path / "resume.txt"
    path.write_text(RESUME)
    return path


def test_retry_failed_resubmits_only_the_failed_items_as_new_jobs(client: ApiClient, tmp_path: Path) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / "out"
    lines = [{"id": f"jd-{i}", "job_description": _jd(i)} for i in range(3)]
    broken = [{"id": "jd-unknown-resume", "job_description": _jd(3), "resume_id": "res_doesnotexist"},
              {"id": "jd-empty", "job_description": "  "}]
    src.write_text("".join(json.dumps(x) + "\n" for x in lines + broken))
    args = _cli(str(src), "--out", str(out), "--url", client.base_url, "--token", client.token,
                "--resume", str(_resume_file(tmp_path)))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}

    first = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 1 and "2 item(s) failed" in first.stderr, first.stderr
    before = _state(out)
    status = {k: v["status"] for k, v in before["items"].items()}
    assert status == {"jd-0": "succeeded", "jd-1": "succeeded", "jd-2": "succeeded",
                      "jd-unknown-resume": "failed", "jd-empty": "failed"}
    assert "404" in before["items"]["jd-unknown-resume"]["error"]
    mtimes = {k: (out / f"{k}.json").stat().st_mtime_ns for k in ("jd-0", "jd-1", "jd-2")}

    # The input is fixed; a plain rerun keeps the recorded outcomes (it only finishes unfinished work).
    broken = [{"id": "jd-unknown-resume", "job_description": _jd(3)}, {"id": "jd-empty", "job_description": _jd(4)}]
    src.write_text("".join(json.dumps(x) + "\n" for x in lines + broken))
    plain = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert plain.returncode == 1, plain.stderr
    assert _state(out)["items"] == before["items"]

    retry = subprocess.run([*args, "--retry-failed"], env=env, capture_output=True, text=True, timeout=120)
    assert retry.returncode == 0, retry.stderr
    after = _state(out)
    assert {k: v["status"] for k, v in after["items"].items()} == dict.fromkeys(status, "succeeded")
    for key in ("jd-0", "jd-1", "jd-2"):
        assert after["items"][key] == before["items"][key], f"{key} was touched"
        assert (out / f"{key}.json").stat().st_mtime_ns == mtimes[key], f"{key} was redone"
    for key in ("jd-unknown-resume", "jd-empty"):
        assert after["items"][key]["attempts"] == 2 and after["items"][key]["previous"]["error"]
        assert (out / f"{key}.json").exists()
    # The retries are new jobs in a new batch that holds only them; the first batch is unchanged.
    assert after["batch_id"] != before["batch_id"] and after["previous_batches"] == [before["batch_id"]]
    retried = data(client.get(f"/api/batches/{after['batch_id']}"))
    assert retried["total"] == 2 and retried["counts"]["succeeded"] == 2 and retried["status"] == "completed"
    keys = {it["key"] for it in data(client.get(f"/api/batches/{after['batch_id']}/items"))["items"]}
    assert keys == {"jd-unknown-resume", "jd-empty"}
    original = data(client.get(f"/api/batches/{before['batch_id']}"))
    assert original["total"] == 3 and original["counts"]["succeeded"] == 3

    # Nothing left to retry: another --retry-failed run changes nothing.
    again = subprocess.run([*args, "--retry-failed"], env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert _state(out) == after
