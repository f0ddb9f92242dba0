"""SSE for every client: `retry:` rides with the first real event (never a block of its own), a stream
reconnected with the id of its final event answers 204 (an EventSource stops reconnecting), and a
copilot session's stream closes after `stop`."""
from __future__ import annotations

from tests.support.client import ApiClient, data


def _blocks(client: ApiClient, path: str, **headers: str) -> list[list[str]]:
    """The raw SSE blocks of a stream, until the server closes it (comment-only blocks dropped)."""
    blocks, block = [], []
    with client.request("GET", path, headers={"Accept": "text/event-stream", **headers}, stream=True,
                        timeout=(5, 60)) as r:
        assert r.status_code == 200, r.text
        for line in r.iter_lines(decode_unicode=True):
            if line == "":
                if block and not all(x.startswith(":") for x in block):
                    blocks.append(block)
                block = []
            else:
                block.append(line)
    return blocks


def test_retry_travels_with_the_first_event_and_a_finished_stream_answers_204(admin_client: ApiClient) -> None:
    job = data(admin_client.post("/api/ops/canary", json={"sleep_seconds": 0}))
    assert admin_client.wait_job(job["job_id"])["status"] == "succeeded"
    blocks = _blocks(admin_client, job["stream_url"])
    assert blocks[0][0] == "retry: 3000" and blocks[0][1] == "id: 1" and blocks[0][2].startswith("event: ")
    assert any(x.startswith("data: ") for x in blocks[0])
    assert not any(x.startswith("retry:") for b in blocks[1:] for x in b), "retry is sent once"
    assert blocks[-1][:2] == [blocks[-1][0], "event: succeeded"] and blocks[-1][0].startswith("id: ")
    final = int(blocks[-1][0].split(":", 1)[1])
    r = admin_client.request("GET", job["stream_url"], headers={"Last-Event-ID": str(final)})
    assert r.status_code == 204 and r.content == b""
    # an earlier id still replays the rest, then closes
    rest = _blocks(admin_client, job["stream_url"], **{"Last-Event-ID": str(final - 1)})
    assert len(rest) == 1 and rest[0][:3] == ["retry: 3000", f"id: {final}", "event: succeeded"]


def test_the_copilot_stream_closes_after_stop(client: ApiClient) -> None:
    started = data(client.post("/api/copilot/sessions/start",
                               json={"mode": "interview", "role": "software_engineer", "company": "Acme"}))
    sid = started["session_id"]
    assert data(client.post("/api/copilot/sessions/stop", json={"session_id": sid}))["status"] == "stopped"
    events = client.sse(started["stream_url"])  # returns only when the server closes the stream
    assert events[-1].type == "stopped"
    r = client.request("GET", started["stream_url"], headers={"Last-Event-ID": str(events[-1].id)})
    assert r.status_code == 204
