"""`voicemock batch resume-generate INPUT.jsonl --out DIR`: a batch generation run from a shell.

Each input line is a JSON object: `job_description` (required), and optionally `id` (the item's key
and output file name), `type`, `resume_id`, `resume_text`. The run talks HTTP to a server (`--url`,
`--token`), or with `--local` to an embedded platform it starts in-process (SQLite under
DIR/.local). At most `--concurrency` items are in flight; a state file in DIR records every item's
job and outcome after each change, so a run killed at any moment resumes where it stopped and never
redoes an item that finished. One item failing never stops the others; failures are listed at the end.
`--retry-failed` runs the failed items again (from the input file as it is now, so a fixed line is
picked up) as new jobs in a new batch; items that succeeded are left alone.

Progress comes from the batch's event stream (an `item` event per finished item), not from polling;
every request is retried by urllib3's `Retry` (429 after its `Retry-After`). The exit status is 1 when
any item failed, 130 after Ctrl-C (which prints the summary so far and the command that resumes).
"""
from __future__ import annotations

import json
import os
import queue
import re
import shlex
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from cli.batch_http import Api

STATE_FILE = ".voicemock-batch.json"
TYPES = ("bullet_rewrite", "tailor", "cover_letter")
TERMINAL = ("succeeded", "failed", "cancelled")
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class Item:
    key: str
    body: dict[str, Any]
    error: str | None = None  # the line itself is unusable


@dataclass
class Run:
    out: Path
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return self.out / STATE_FILE

    def load(self) -> None:
        self.state = json.loads(self.path.read_text()) if self.path.exists() else {"batch_id": None, "items": {}}

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, indent=1))
        os.replace(tmp, self.path)  # a kill mid-write never leaves a torn state file

    def item(self, key: str) -> dict[str, Any]:
        return self.state["items"].setdefault(key, {})


def read_items(path: Path, default_type: str) -> list[Item]:
    items: list[Item] = []
    seen: set[str] = set()
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        key = f"line-{n:06d}"
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            items.append(Item(key, {}, f"line {n} is not a JSON object: {exc}"))
            continue
        if obj.get("id") is not None:
            key = _SAFE.sub("_", str(obj["id"]))[:100] or key
        if key in seen:
            key = f"{key}-line-{n}"
        seen.add(key)
        body = {"key": key, "job_description": obj.get("job_description"), "type": obj.get("type") or default_type}
        for opt in ("resume_id", "resume_text"):
            if obj.get(opt):
                body[opt] = obj[opt]
        error = None
        if not isinstance(body["job_description"], str) or not body["job_description"].strip():
            error = "job_description is missing or empty"
        elif len(body["job_description"]) > 20_000:
            error = "job_description is longer than 20000 characters"
        elif body["type"] not in TYPES:
            error = f"type {body['type']!r} is not one of {', '.join(TYPES)}"
        items.append(Item(key, body, error))
    return items


def _resume_text(path: str | None) -> str | None:
    if not path:
        return None
    data = Path(path).read_bytes()
    if path.lower().endswith((".pdf", ".docx")):
        from jobs import resume_parse

        kind = resume_parse.file_kind(path)
        resume_parse.sniff(data, kind)
        return resume_parse.parse_document(data, kind)["text"]
    return data.decode("utf-8", errors="replace")


def _write_output(out: Path, key: str, job: dict) -> str:
    name = f"{key}.json"
    result = job.get("result") or {}
    payload = {"key": key, "job_id": job["id"], "type": result.get("type"), "engine": result.get("engine"),
               "output": result.get("output")}
    tmp = out / (name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2))
    os.replace(tmp, out / name)
    return name


def _submit(api: Api, run: Run, batch_id: str, items: list[Item]) -> None:
    """Add items to the batch; a rejected chunk is retried item by item so one bad item fails alone."""
    status, body = api.call("POST", f"/api/batches/{batch_id}/items", json={"items": [i.body for i in items]})
    if status == 202:
        for row in body["data"]["items"]:
            run.item(row["key"])["job_id"] = row["job_id"]
        run.save()
        return
    if len(items) == 1:
        entry = run.item(items[0].key)
        entry.update(status="failed", error=f"rejected ({status}): {body.get('error')} {body.get('details') or ''}".strip())
        run.save()
        return
    for item in items:
        _submit(api, run, batch_id, [item])


def reset_failed(api: Api, run: Run, items: list[Item]) -> list[str]:
    """Forget the outcome of the items that failed (or were cancelled) so they are submitted again.

    Their keys already exist in the recorded batch (the server maps a known key to its old job), so
    the retries go to a new batch; the old one is closed and kept in `previous_batches`.
    """
    failed = [i.key for i in items if run.item(i.key).get("status") in ("failed", "cancelled")]
    if not failed:
        return []
    for key in failed:
        entry = run.item(key)
        run.state["items"][key] = {"attempts": entry.get("attempts", 1) + 1,
                                   "previous": {k: entry[k] for k in ("job_id", "error") if k in entry}}
    old = run.state.get("batch_id")
    if old:
        api.call("POST", f"/api/batches/{old}/close")
        run.state.setdefault("previous_batches", []).append(old)
        run.state["batch_id"] = None
    run.save()
    return failed


def _finish(api: Api, run: Run, key: str, item: dict[str, Any]) -> None:
    """Record one finished item from its `item` event (a succeeded one's output is fetched once)."""
    entry = run.item(key)
    if item["status"] == "succeeded":
        status, body = api.call("GET", f"/api/jobs/{item['job_id']}")
        job = body.get("data") or {}
        if status == 200 and job.get("status") == "succeeded":
            entry.update(status="succeeded", output=_write_output(run.out, key, job), error=None)
        else:
            entry.update(status="failed", error=f"its result could not be read ({status}): {body.get('error')}")
    else:
        err = item.get("error") or {}
        entry.update(status=item["status"], error=f"[{err.get('stage', '?')}] {err.get('message', item['status'])}")
    run.save()


def run_batch(api: Api, run: Run, items: list[Item], *, defaults: dict[str, Any], concurrency: int,
              on_start: Any = None, retry_failed: bool = False) -> None:
    """Submit items `concurrency` at a time and follow the batch's event stream (no polling): each
    `item` event finishes one item and lets the next one in."""
    run.load()
    if retry_failed:
        reset_failed(api, run, items)
    if not run.state.get("batch_id"):
        status, body = api.call("POST", "/api/resume/generate/batch", json={**defaults, "open": True},
                                idempotent_key=True)
        if status != 202:
            raise click.ClickException(f"could not create the batch ({status}): {body.get('error')} {body.get('details')}")
        run.state["batch_id"] = body["data"]["batch_id"]
        run.save()
    batch_id = run.state["batch_id"]
    for item in items:
        if item.error and run.item(item.key).get("status") is None:
            run.item(item.key).update(status="failed", error=item.error)
    run.save()
    if on_start is not None:
        on_start(run)
    done = lambda k: run.item(k).get("status") in TERMINAL  # noqa: E731
    pending = [i for i in items if not done(i.key) and not run.item(i.key).get("job_id")]
    inflight = {i.key for i in items if not done(i.key) and run.item(i.key).get("job_id")}
    from cli.batch_http import Follower

    follower = Follower(api, batch_id).start()  # from the first event: items finished while we were away count
    try:
        with click.progressbar(length=len(items), label=f"batch {batch_id}", show_pos=True) as bar:
            bar.update(sum(1 for i in items if done(i.key)))
            while pending or inflight:
                room = concurrency - len(inflight)
                if room > 0 and pending:
                    take, pending = pending[:room], pending[room:]
                    _submit(api, run, batch_id, take)
                    inflight |= {i.key for i in take if not done(i.key)}
                    bar.update(sum(1 for i in take if done(i.key)))
                    continue
                try:
                    got = follower.events.get(timeout=1.0)
                except queue.Empty:
                    continue
                if isinstance(got, Exception):
                    raise click.ClickException(str(got))
                if got is None:  # the stream ended: the batch was completed (closed elsewhere)
                    for key in list(inflight):
                        run.item(key).update(status="failed", error="the batch ended before this item finished")
                    run.save()
                    break
                kind, event = got
                item = event.get("data") or {}
                key = item.get("key")
                if kind != "item" or key not in inflight or run.item(key).get("job_id") != item.get("job_id"):
                    continue
                _finish(api, run, key, item)
                inflight.discard(key)
                bar.update(1)
    finally:
        follower.stop()
    api.call("POST", f"/api/batches/{batch_id}/close")


def print_summary(run: Run, items: list[Item], elapsed: float) -> None:
    rows = [(i.key, run.item(i.key)) for i in items]
    counts: dict[str, int] = {}
    for _, entry in rows:
        counts[entry.get("status", "pending")] = counts.get(entry.get("status", "pending"), 0) + 1
    click.echo("")
    click.echo(f"{'STATUS':<12}{'ITEMS':>7}")
    for status in ("succeeded", "failed", "cancelled", "pending"):
        if counts.get(status):
            click.echo(f"{status:<12}{counts[status]:>7}")
    click.echo(f"{'total':<12}{len(items):>7}   in {elapsed:.1f} s  →  {run.out}")
    failed = [(k, e) for k, e in rows if e.get("status") in ("failed", "cancelled")]
    if failed:
        click.echo("\nFAILED ITEM                     REASON")
        for key, entry in failed:
            click.echo(f"{key:<32}{entry.get('error', '')[:200]}")


def _start_local(out: Path, concurrency: int) -> tuple[str, str, Any]:
    """An embedded platform private to this output folder, served on a free local port."""
    from werkzeug.serving import make_server

    from cli.embedded import start_platform
    from core.config import Settings
    from core.logs import configure_logging
    from core.tokens import mint_access_token

    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "BROKER_URL")}
    env.update(VOICEMOCK_MODE="embedded", VOICEMOCK_DATA_DIR=str(out / ".local"),
               VOICEMOCK_STORAGE_DIR=str(out / ".local" / "storage"), VOICEMOCK_WORKER_THREADS=str(concurrency),
               VOICEMOCK_RATE_LIMITS="0")
    env.pop("VOICEMOCK_SECRET_KEY", None)
    settings = Settings.from_env(env=env)
    configure_logging(json_logs=False, level="WARNING")
    app, worker, stop = start_platform(settings)
    _requeue_unfinished(out)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, name="batch-local-http", daemon=True).start()
    token = mint_access_token(settings, "batch@localhost", email="batch@localhost")

    def close() -> None:
        server.shutdown()
        stop.set()
        worker.stop()

    return f"http://127.0.0.1:{server.server_port}", token, close


def _requeue_unfinished(out: Path) -> None:
    """A killed local run left its jobs queued or running in a broker that died with it: send them again.
    The installation is private to this folder, so no other worker can be holding them."""
    path = out / STATE_FILE
    if not path.exists():
        return
    batch_id = json.loads(path.read_text()).get("batch_id")
    if not batch_id:
        return
    from sqlalchemy import select, update

    from core.models import Job
    from workers import dispatch, runtime

    rt = runtime.get()
    with rt.db.session_scope() as s:
        ids = list(s.execute(select(Job.id).where(Job.batch_id == batch_id, Job.status.in_(("queued", "running"))))
                   .scalars())
        s.execute(update(Job).where(Job.id.in_(ids)).values(status="queued", lease_until=None)
                  .execution_options(synchronize_session=False))
    for job_id in ids:
        dispatch.send(job_id, "resume.generate")


@click.group()
def batch() -> None:
    """Batch runs."""


@batch.command("resume-generate")
@click.argument("input_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="folder for one output file per item and the resumable state file")
@click.option("--type", "gen_type", type=click.Choice(TYPES), default="tailor", show_default=True,
              help="default generation type (a line's `type` overrides it)")
@click.option("--resume-id", default=None, help="a resume on the server, for lines without their own")
@click.option("--resume", "resume_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="a resume file (.pdf, .docx or text) for lines without their own")
@click.option("--concurrency", "-c", default=8, show_default=True, type=click.IntRange(1, 256),
              help="items in flight at once")
@click.option("--url", default="http://127.0.0.1:5000", show_default=True, help="a running VoiceMock server")
@click.option("--token", "token_", envvar="VOICEMOCK_TOKEN", default=None, help="bearer token (or VOICEMOCK_TOKEN)")
@click.option("--local", is_flag=True, help="run in-process on an embedded platform instead of a server")
@click.option("--retry-failed", is_flag=True,
              help="submit the items that failed in an earlier run again (new jobs, in a new batch); "
                   "items that succeeded are kept")
def resume_generate(input_file: Path, out: Path, gen_type: str, resume_id: str | None, resume_file: str | None,
                    concurrency: int, url: str, token_: str | None, local: bool, retry_failed: bool) -> None:
    """Generate for every job description in INPUT_FILE (JSON lines), one output file each in OUT."""
    out.mkdir(parents=True, exist_ok=True)
    items = read_items(input_file, gen_type)
    if not items:
        raise click.ClickException(f"{input_file} has no items")
    defaults: dict[str, Any] = {"type": gen_type}
    if resume_id:
        defaults["resume_id"] = resume_id
    text = _resume_text(resume_file)
    if text:
        defaults["resume_text"] = text
    from cli.batch_http import Api, guest_token

    close = None
    run = Run(out)
    run.load()
    if local:
        url, token_, close = _start_local(out, concurrency)
    elif token_ is None:
        # A guest is a new user each time: keep this run's guest token with its state, so a rerun
        # resumes the same batch (the folder holds the run's outputs, the token is as private).
        token_ = run.state.get("guest_token")
        if token_ is None:
            try:
                token_ = guest_token(url)
            except RuntimeError as exc:
                raise click.ClickException(str(exc)) from exc
            run.state["guest_token"] = token_
            run.save()
    started = time.monotonic()
    try:
        run_batch(Api(url, token_), run, items, defaults=defaults, concurrency=concurrency,
                  retry_failed=retry_failed)
    except KeyboardInterrupt:
        print_summary(run, items, time.monotonic() - started)
        click.echo("\ninterrupted; finished items are kept. Run the same command again to finish the rest:\n  "
                   + _rerun_command(), err=True)
        sys.exit(130)
    finally:
        if close is not None:
            close()
    print_summary(run, items, time.monotonic() - started)
    failed = sum(1 for i in items if run.item(i.key).get("status") in ("failed", "cancelled"))
    if failed:
        click.echo(f"\n{failed} item(s) failed; fix their lines and rerun with --retry-failed", err=True)
        sys.exit(1)


def _rerun_command() -> str:
    """This command line, to paste again (a --token value is shown as $VOICEMOCK_TOKEN, never printed)."""
    args, out, hide = sys.argv[1:], [], False
    for arg in args:
        if hide:
            out.append('"$VOICEMOCK_TOKEN"')
            hide = False
        elif arg == "--token":
            out.append(arg)
            hide = True
        elif arg.startswith("--token="):
            out.append('--token="$VOICEMOCK_TOKEN"')
        else:
            out.append(shlex.quote(arg))
    return " ".join(["voicemock", *out])
