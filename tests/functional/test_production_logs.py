"""Production logs (issue 13 item 15): a web process built the way gunicorn builds it (`create_app()`,
nothing configured before) logs JSON lines carrying the request id, and a database error never logs
the statement's parameters."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent('''
    import logging
    from sqlalchemy import text
    from webapp import create_app
    from webapp.state import db

    app = create_app()

    @app.get("/_log")
    def _log():
        logging.getLogger("voicemock.probe").warning("probe line")
        return "ok"

    @app.get("/_db")
    def _db():
        db().execute(text("SELECT CAST(:x AS integer)"), {"x": "resume-text-SECRET-PARAM"})
        return "unreachable"

    client = app.test_client()
    assert client.get("/_log", headers={"X-Request-ID": "req-probe-0001"}).status_code == 200
    assert client.get("/_db", headers={"X-Request-ID": "req-probe-0002"}).status_code == 500
''')


def test_the_web_app_alone_logs_json_with_request_ids_and_no_sql_parameters(test_env) -> None:  # noqa: ANN001
    env = {**os.environ, **test_env, "VOICEMOCK_LOG_JSON": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    probe = [line for line in lines if line.get("event") == "probe line"]
    assert probe and probe[0]["request_id"] == "req-probe-0001" and probe[0]["level"] == "warning", lines[:5]
    db_lines = [line for line in lines if line.get("request_id") == "req-probe-0002"]
    assert db_lines, done.stderr[-2000:]
    assert "SECRET-PARAM" not in done.stderr
