"""Interview exports: json, text, markdown and PDF, all from the same report (`jobs.reports`): scores,
the one strongest and weakest dimension, ranked recommendations, delivery with readable labels, what of
the job description the answers covered, and a per-question breakdown (scores, the one thing to fix, a
stronger answer's outline, the answer with its filler words marked). The file is the job's artifact
(`GET /api/jobs/{id}/artifact`), named like `voicemock-backend-engineer-2026-11-30.pdf`."""
from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy.orm import Session

from core.errors import BadInput
from core.models import Resume, User
from jobs import breakdown as bd
from jobs import interviews as iv
from jobs import reports
from jobs.context import JobContext
from jobs.delivery import normalize

FORMATS = {"json": ("application/json", "json"), "text": ("text/plain; charset=utf-8", "txt"),
           "markdown": ("text/markdown; charset=utf-8", "md"), "pdf": ("application/pdf", "pdf")}


def export_interview(session: Session, ctx: JobContext, interview_id: str, format: str) -> dict[str, Any]:
    if format not in FORMATS:
        raise BadInput(f"unknown export format {format!r}; use one of: {', '.join(FORMATS)}", stage="export")
    interview = iv.load(session, interview_id)
    ctx.progress("export", 0.1)
    report = reports.fresh_report(interview) or reports.build_report(session, ctx, interview_id)
    if "strongest" not in report:  # cached by an older version: rebuild in today's shape
        report = reports.build_report(session, ctx, interview_id)
    entries = iv.transcript(session, interview)
    role = role_title(interview.job_type)
    day = interview.created_at.date().isoformat() if interview.created_at else None
    doc = {"interview": {"id": interview.id, "title": interview.title or interview.id, "mode": interview.mode,
                         "job_type": interview.job_type, "role": role, "focus_area": interview.focus_area,
                         "difficulty": interview.difficulty, "date": day,
                         "candidate": candidate_name(session, interview)},
           "report": report, "transcript": entries}
    ctx.progress("render", 0.7, format=format)
    if format == "pdf":
        from jobs.pdf_report import render_pdf as render
    else:
        render = {"json": _json, "text": _text, "markdown": _markdown}[format]
    data = render(doc)
    ctype, ext = FORMATS[format]
    key = f"exports/{interview.user_id}/{ctx.job_id}.{ext}"
    ctx.storage.save(key, data)
    name = file_name(role, day, ext)
    ctx.set_artifact(key, name, ctype)
    return {"interview_id": interview.id, "format": format, "name": name, "content_type": ctype, "bytes": len(data),
            "artifact_url": f"/api/jobs/{ctx.job_id}/artifact"}


def role_title(job_type: str | None) -> str:
    """"software_engineer" → "Software Engineer"; a typed title ("Backend Engineer") stays as typed."""
    text = (job_type or "").strip()
    if not text:
        return "Interview"
    return text.replace("_", " ").title() if text.islower() else text


def file_name(role: str, day: str | None, ext: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", role.lower()).strip("-")[:60] or "interview"
    return f"voicemock-{slug}{'-' + day if day else ''}.{ext}"


def candidate_name(session: Session, interview: Any) -> str | None:
    """The name on the resume the session was tailored to, else one read from the account's email."""
    resume_id = getattr(interview, "resume_id", None)
    if resume_id:
        resume = session.get(Resume, resume_id)
        name = ((resume.sections or {}).get("contact") or {}).get("name") if resume is not None else None
        if name:
            return str(name)
    user = session.get(User, interview.user_id)
    if user is None or user.is_guest or not user.email:
        return None
    local = user.email.split("@", 1)[0]
    parts = [p for p in re.split(r"[._-]+", local) if p.isalpha()]
    return " ".join(p.capitalize() for p in parts) if len(parts) >= 2 else None


def mark_fillers(text: str, fillers: list[str], mark: tuple[str, str] = ("[", "]")) -> str:
    """`text` with the detected filler words (in the order they were spoken) wrapped in `mark`."""
    tokens = text.split()
    out: list[str] = []
    j, i = 0, 0
    while i < len(tokens):
        want = fillers[j].split() if j < len(fillers) else []
        n = len(want)
        if want and [normalize(t) for t in tokens[i:i + n]] == want:
            phrase = " ".join(tokens[i:i + n])
            core = phrase.rstrip(",.;:!?")
            out.append(f"{mark[0]}{core}{mark[1]}{phrase[len(core):]}")
            i += n
            j += 1
        else:
            out.append(tokens[i])
            i += 1
    return " ".join(out)


def _json(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, indent=2, default=str).encode()


def _lines(doc: dict[str, Any], md: bool) -> list[str]:
    r, info = doc["report"], doc["interview"]
    h1, h2, h3, bullet = ("# ", "## ", "### ", "- ") if md else ("", "", "", "  * ")
    title = f"Interview practice report: {info['role']}"
    byline = " · ".join(x for x in (info.get("candidate"), info.get("date"),
                                    (info.get("focus_area") or "").replace("_", " "), info.get("difficulty")) if x)
    out = [f"{h1}{title}", "", byline, "", f"Overall score: {r.get('overall_score')}/100"]
    for key in ("strongest", "weakest"):
        if r.get(key):
            out.append(f"{key.title()} dimension: {r[key]['label']} ({r[key]['score']:.0f}/100)")
    out += ["", f"{h2}Scores by dimension"]
    out += [f"{bullet}{bd.label(k)}: {v}" for k, v in (r.get("dimensions") or {}).items()]
    if r.get("delivery"):
        out += ["", f"{h2}Delivery"] + [f"{bullet}{k}: {v}" for k, v in bd.readable_delivery(r["delivery"])]
    cov = r.get("job_description_coverage")
    if cov:
        out += ["", f"{h2}Job description coverage", cov["summary"]]
    for name, items in (("What to work on", r.get("recommendations")), ("Strengths", r.get("strengths")),
                        ("Weaknesses", r.get("weaknesses"))):
        out += ["", f"{h2}{name}"] + [f"{bullet}{s}" for s in items or ["—"]]
    out += ["", f"{h2}Question by question"]
    mark = ("**[", "]**") if md else ("[", "]")
    for row in r.get("answers") or []:
        scores = ", ".join(f"{bd.label(k)} {v:.0f}" for k, v in (row.get("scores") or {}).items())
        length = f" · {bd.duration(row['answer_seconds'])}" if row.get("answer_seconds") else ""
        out += ["", f"{h3}Q{row['position']}. {row['question'] or '(no question)'}",
                f"Score: {row.get('overall')}/100 ({scores}){length}",
                f"The one thing to fix: {row.get('fix')}", "A stronger answer:"]
        out += [f"{bullet}{step}" for step in row.get("outline") or []]
        answer = mark_fillers(row.get("answer") or "", row.get("fillers") or [], mark)
        note = " (filler words in [brackets])" if row.get("fillers") else ""
        out += [f"Your answer{note}:", f"> {answer}" if md else f"    {answer}"]
    if not (r.get("answers") or []) and doc["transcript"]:
        out += ["", f"{h2}Transcript"]
        for e in doc["transcript"]:
            who = "Interviewer" if e["role"] == "interviewer" else "Candidate"
            out += [f"**{who}:** {e['content']}" if md else f"{who}: {e['content']}", ""]
    if not md:
        out[1:1] = ["=" * len(title)]
    return out


def _text(doc: dict[str, Any]) -> bytes:
    return "\n".join(_lines(doc, md=False)).encode()


def _markdown(doc: dict[str, Any]) -> bytes:
    return "\n".join(_lines(doc, md=True)).encode()
