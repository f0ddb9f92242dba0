"""`voicemock demo`: a client's walk through one practice turn, printing events as they stream."""
from __future__ import annotations

import json
from importlib import resources

import click
import requests


def _check(resp: requests.Response, what: str) -> dict:
    try:
        body = resp.json()
    except ValueError as exc:
        raise click.ClickException(f"{what}: HTTP {resp.status_code}, not JSON") from exc
    if resp.status_code >= 400:
        raise click.ClickException(f"{what}: HTTP {resp.status_code} [{body.get('stage')}] {body.get('error')}")
    return body["data"]


def _events(url: str, headers: dict[str, str]):  # noqa: ANN202 - yields (type, payload)
    with requests.get(url, headers={**headers, "Accept": "text/event-stream"}, stream=True, timeout=(5, 120)) as r:
        r.raise_for_status()
        etype, data = None, []
        for raw in r.iter_lines(decode_unicode=True):
            if raw is None:
                continue
            if raw == "":
                if data:
                    yield etype, json.loads("\n".join(data))
                etype, data = None, []
            elif raw.startswith("event:"):
                etype = raw[6:].strip()
            elif raw.startswith("data:"):
                data.append(raw[5:].strip())


def run(base: str, token: str | None, audio: str | None) -> int:
    base = base.rstrip("/")
    try:
        requests.get(f"{base}/healthz", timeout=5).raise_for_status()
    except requests.RequestException as exc:
        raise click.ClickException(f"no VoiceMock server at {base} ({exc}); start one with `make run`") from exc
    if token is None:
        token = _check(requests.post(f"{base}/auth/guest", timeout=10), "guest sign-in")["token"]
    auth = {"Authorization": f"Bearer {token}"}
    started = _check(requests.post(f"{base}/session/start", headers=auth, timeout=10,
                                   json={"job_type": "software_engineer", "focus_area": "behavioral",
                                         "difficulty": "medium", "question_count": 3}), "start session")
    click.echo(f"session {started['session_id']}")
    click.echo(f"Q: {started['first_question']['text']}")
    if audio:
        name, content = audio, open(audio, "rb").read()
    else:
        name = "sample_answer.ogg"
        content = resources.files("jobs").joinpath("data/sample_answer.ogg").read_bytes()
    accepted = _check(requests.post(f"{base}/turn", headers={"X-Session-Token": started["token"]}, timeout=30,
                                    files={"audio": (name.rsplit("/", 1)[-1], content, "audio/ogg")}), "upload")
    click.echo(f"turn {accepted['turn_id']} queued as {accepted['job_id']}; streaming events:")
    result = None
    for etype, ev in _events(base + accepted["stream_url"], {}):
        data = ev.get("data", {})
        if etype == "partial" and "segment" in data:
            seg = data["segment"]
            click.echo(f"  [{ev['seq']:>3}] partial   {seg['start']:6.2f}s  {seg['text'].strip()}")
        elif etype == "progress":
            click.echo(f"  [{ev['seq']:>3}] progress  {data.get('stage')} {data.get('pct', 0):.0%}")
        elif etype == "succeeded":
            result = data.get("result") or {}
            click.echo(f"  [{ev['seq']:>3}] succeeded")
        elif etype == "failed":
            raise click.ClickException(f"job failed: {data.get('error')}")
        else:
            click.echo(f"  [{ev['seq']:>3}] {etype}")
    if result is None:
        raise click.ClickException("the stream closed without a result")
    d, s = result["delivery"], result["scores"]
    click.echo(f"\ntranscript: {result['transcript']}")
    click.echo(f"pace {d['words_per_minute']} wpm ({d.get('wpm_band')}), fillers {d['fillers']['count']}, "
               f"pauses ≥1.5 s {d['pauses']['count_1_5s']}, longest {d['pauses']['longest_seconds']} s")
    click.echo("scores: " + ", ".join(f"{k} {s[k]['score']}" for k in ("content", "structure", "delivery"))
               + f"; overall {s['overall']}")
    for k in ("content", "structure", "delivery"):
        click.echo(f"  {k}: {s[k]['feedback']}")
    nxt = result.get("next_question")
    click.echo(f"next question: {nxt['text']}" if nxt else "session complete")
    session = _check(requests.get(f"{base}/session/{started['session_id']}", headers=auth, timeout=10), "session")
    click.echo(f"session has {len(session['turns'])} answered turn(s)")
    return 0
