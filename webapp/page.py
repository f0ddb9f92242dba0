"""The practice page (`/`), the operator view (`/ops`) and the catalog the page's pickers read.

The front end is plain HTML, CSS and ES modules under `webapp/static/`: no build step, nothing from a
CDN, so the package serves it as is (setup.cfg ships `static/**` as package data)."""
from __future__ import annotations

from typing import get_args

from flask import Blueprint, Response, current_app

from jobs import question_bank
from jobs.delivery import WPM_FAST, WPM_SLOW
from webapp.envelope import ok
from webapp.practice import StartSession

bp = Blueprint("page", __name__)

def _label(value: str) -> str:
    return value.replace("_", " ").capitalize()


def _html(name: str) -> Response:
    resp = current_app.send_static_file(name)
    # The page is tiny and changes with the package: always revalidate rather than serve a stale shell.
    resp.headers["Cache-Control"] = "no-cache"
    return resp


@bp.get("/")
def index() -> Response:
    return _html("index.html")


@bp.get("/ops")
def ops() -> Response:
    # The shell is public; every figure on it comes from /api/ops/*, which answers admins only.
    return _html("ops.html")


@bp.get("/api/catalog")
def catalog() -> Response:
    count = StartSession.model_fields["question_count"]
    bounds = {type(m).__name__: m for m in count.metadata}
    return ok({
        "roles": [{"value": r, "label": _label(r)} for r in question_bank.list_roles()],
        "focus_areas": [{"value": t, "label": _label(t)} for t in question_bank.list_types()],
        "difficulties": [{"value": d, "label": _label(d)}
                         for d in get_args(StartSession.model_fields["difficulty"].annotation)],
        "question_count": {"default": count.default, "min": bounds["Ge"].ge, "max": bounds["Le"].le},
        "defaults": {"job_type": StartSession.model_fields["job_type"].default,
                     "focus_area": StartSession.model_fields["focus_area"].default,
                     "difficulty": StartSession.model_fields["difficulty"].default},
        "wpm_band": {"min": WPM_SLOW, "max": WPM_FAST},  # the band jobs.delivery grades pace by
    })
