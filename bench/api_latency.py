"""API latency under load on loopback, with wrk: `GET /api/jobs/{id}` and `POST /turn` (multipart
audio upload → job), against a bare Flask app on the same server (gunicorn, 2 gevent workers, as the
Procfile) whose `GET /api/jobs/{id}` reads the same row from the same PostgreSQL (bench/_bare_app.py).
Bare and platform runs alternate (--rounds, bench/_machine.py) so both see the same machine.

    python bench/api_latency.py [--seconds 8] [--connections 16] [--rounds 2]
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._cluster import ROOT, cluster, emit_json, machine  # noqa: E402
from bench._machine import interleaved  # noqa: E402
from tests.support import procs  # noqa: E402

AUDIO = ROOT / "tests" / "fixtures" / "answer_short.wav"
LUA_POST = """
local f = io.open("{body}", "rb"); local body = f:read("*all"); f:close()
wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "multipart/form-data; boundary={boundary}"
wrk.headers["X-Session-Token"] = "{token}"
"""


def _wrk(url: str, seconds: int, connections: int, headers: dict[str, str], script: Path | None = None) -> dict:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    for k, v in headers.items():
        cmd += ["-H", f"{k}: {v}"]
    if script:
        cmd += ["-s", str(script)]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout

    def ms(label: str) -> float:
        m = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return float("nan")
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    total = int(re.search(r"(\d+) requests in", out).group(1))
    return {"rps": round(rps, 1), "p50_ms": round(ms("50%"), 2), "p99_ms": round(ms("99%"), 2),
            "requests": total, "non_2xx": int(non2xx.group(1)) if non2xx else 0}


def _multipart(root: Path) -> tuple[Path, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"audio\"; filename=\"answer.wav\"\r\n"
            f"Content-Type: audio/wav\r\n\r\n").encode() + AUDIO.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    path = root / "turn-body.bin"
    path.write_bytes(body)
    return path, boundary


def _mean_runs(runs: list[dict]) -> dict:
    keys = ("rps", "p50_ms", "p99_ms")
    return {**{k: round(sum(x[k] for x in runs) / len(runs), 2) for k in keys},
            "requests": sum(x["requests"] for x in runs), "non_2xx": sum(x["non_2xx"] for x in runs)}


def run(seconds: int, connections: int, rounds: int = 2) -> dict:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install -y wrk)")
    with cluster(VOICEMOCK_PLAN_QUOTAS="free=1000000/1000000,pro=1000000/1000000") as c:
        base = c.web(gunicorn=True, workers=2)
        token = procs.user_token(c.env, "bench-user@example.com")
        auth = {"Authorization": f"Bearer {token}"}
        started = requests.post(base + "/session/start", headers=auth, timeout=30,
                                json={"job_type": "software_engineer", "focus_area": "behavioral",
                                      "question_count": 20})
        started.raise_for_status()
        session_token = started.json()["data"]["token"]
        with open(AUDIO, "rb") as f:
            turn = requests.post(base + "/turn", headers={"X-Session-Token": session_token}, timeout=30,
                                 files={"audio": ("answer.wav", f, "audio/wav")})
        turn.raise_for_status()
        job_id = turn.json()["data"]["job_id"]
        job_body = requests.get(f"{base}/api/jobs/{job_id}", headers=auth, timeout=30)
        job_body.raise_for_status()
        (c.root / "job.json").write_bytes(job_body.content)
        (c.root / "turn.json").write_bytes(turn.content)
        body_path, boundary = _multipart(c.root)
        script = c.root / "post_turn.lua"
        script.write_text(LUA_POST.format(body=body_path, boundary=boundary, token=session_token))

        env = {**c.env, "BENCH_TURN_JSON": str(c.root / "turn.json")}
        port = procs.free_port()
        bare = procs.Proc("bare", [str(Path(sys.executable).parent / "gunicorn"), "--worker-class", "gevent",
                                   "--workers", "2", "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
                                   "bench._bare_app:app"], env, c.root / "bare.log").start()
        try:
            bare_base = f"http://127.0.0.1:{port}"
            procs.wait_for(lambda: requests.get(bare_base + "/healthz", timeout=1).ok, 30, "bare app")
            requests.get(f"{bare_base}/api/jobs/{job_id}", timeout=10).raise_for_status()
            # both servers stay up; their runs alternate so both sides see the same machine
            r = interleaved({
                "bare_get_job": lambda: _wrk(f"{bare_base}/api/jobs/{job_id}", seconds, connections, auth),
                "get_job": lambda: _wrk(f"{base}/api/jobs/{job_id}", seconds, connections, auth),
                "bare_post_turn": lambda: _wrk(f"{bare_base}/turn", seconds, connections, {}, script),
                "post_turn": lambda: _wrk(f"{base}/turn", seconds, connections, {}, script),
            }, rounds)
        finally:
            bare.stop()
        results = {side: _mean_runs(runs) for side, runs in r.values.items()}
    out = {"machine": machine(), "server": "gunicorn, 2 gevent workers", "connections": connections,
           "seconds": seconds, "rounds": rounds, **results, "load": r.as_dict(), "load_note": r.note()}
    for route in ("get_job", "post_turn"):
        out[f"{route}_rps_ratio"] = round(results[route]["rps"] / results[f"bare_{route}"]["rps"], 3)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=2, help="interleaved rounds (bare, platform, bare, platform)")
    args = ap.parse_args()
    out = run(args.seconds, args.connections, args.rounds)
    print(f"machine: {out['machine']}")
    print(f"wrk, {args.connections} connections, {args.seconds} s per run, {out['server']}, "
          f"{args.rounds} interleaved rounds (figures are their means)")
    for route, label in (("get_job", "GET /api/jobs/{id}"), ("post_turn", "POST /turn (76 KB wav)")):
        p, b = out[route], out[f"bare_{route}"]
        print(f"{label:<24} platform {p['rps']:8.1f} req/s  p50 {p['p50_ms']:7.2f} ms  p99 {p['p99_ms']:7.2f} ms"
              f"  non-2xx {p['non_2xx']}")
        print(f"{'':<24} bare     {b['rps']:8.1f} req/s  p50 {b['p50_ms']:7.2f} ms  p99 {b['p99_ms']:7.2f} ms"
              f"  → throughput ratio {out[route + '_rps_ratio']}")
    print(f"machine during the runs: {out['load_note']}")
    emit_json(out)


if __name__ == "__main__":
    main()
