"""The baseline of the API latency bench: a bare Flask app under the same server as the platform
(gunicorn, gevent, same worker count). `GET /api/jobs/{id}` does the database read the platform
does (the job's row from the same PostgreSQL, psycopg2 made cooperative as under the platform) and
returns it as JSON, with no auth, rate limit, metrics or logging: the ratio measures the platform's
own cost. `POST /turn` takes the upload and answers the platform's captured body (no database)."""
from __future__ import annotations

import json
import os

from flask import Flask, Response, request
from sqlalchemy import create_engine, text

app = Flask(__name__)
_TURN = open(os.environ["BENCH_TURN_JSON"], "rb").read()
_engine = None


def _db():  # noqa: ANN202 - created lazily in each gunicorn worker, after gevent has patched sockets
    global _engine
    if _engine is None:
        try:
            from gevent import monkey
            if monkey.is_module_patched("socket"):
                from psycogreen.gevent import patch_psycopg
                patch_psycopg()
        except ImportError:
            pass
        _engine = create_engine(os.environ["DATABASE_URL"], pool_size=10, max_overflow=20)
    return _engine


@app.get("/api/jobs/<job_id>")
def job(job_id: str) -> Response:
    with _db().connect() as conn:
        row = conn.execute(text("SELECT * FROM jobs WHERE id = :id"), {"id": job_id}).mappings().first()
    if row is None:
        return Response(b'{"error":{"message":"no such job"}}', status=404, mimetype="application/json")
    return Response(json.dumps({"data": dict(row)}, default=str), mimetype="application/json")


@app.post("/turn")
def turn() -> Response:
    request.files["audio"].read()  # take the upload, as the platform does
    return Response(_TURN, status=202, mimetype="application/json")


@app.get("/healthz")
def healthz() -> Response:
    return Response(b'{"data":{"status":"ok"}}', mimetype="application/json")
