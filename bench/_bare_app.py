"""The baseline of the API latency bench: a bare Flask app answering the same JSON bodies as the
platform's routes (captured by the bench and handed over in files), with no auth, database or broker."""
from __future__ import annotations

import os

from flask import Flask, Response, request

app = Flask(__name__)
_JOB = open(os.environ["BENCH_JOB_JSON"], "rb").read()
_TURN = open(os.environ["BENCH_TURN_JSON"], "rb").read()


@app.get("/api/jobs/<job_id>")
def job(job_id: str) -> Response:
    return Response(_JOB, mimetype="application/json")


@app.post("/turn")
def turn() -> Response:
    request.files["audio"].read()  # take the upload, as the platform does
    return Response(_TURN, status=202, mimetype="application/json")


@app.get("/healthz")
def healthz() -> Response:
    return Response(b'{"data":{"status":"ok"}}', mimetype="application/json")
