"""Interview exports: json, text, markdown and PDF (reportlab: a bar chart of the dimension scores, the
transcript and the feedback). The file is the job's artifact (`GET /api/jobs/{id}/artifact`)."""
from __future__ import annotations

import io
import json
from typing import Any
from xml.sax.saxutils import escape

from sqlalchemy.orm import Session

from core.errors import BadInput
from jobs import interviews as iv
from jobs import reports
from jobs.context import JobContext

FORMATS = {"json": ("application/json", "json"), "text": ("text/plain; charset=utf-8", "txt"),
           "markdown": ("text/markdown; charset=utf-8", "md"), "pdf": ("application/pdf", "pdf")}


def export_interview(session: Session, ctx: JobContext, interview_id: str, format: str) -> dict[str, Any]:
    if format not in FORMATS:
        raise BadInput(f"unknown export format {format!r}; use one of: {', '.join(FORMATS)}", stage="export")
    interview = iv.load(session, interview_id)
    ctx.progress("export", 0.1)
    report = reports.fresh_report(interview) or reports.build_report(session, ctx, interview_id)
    entries = iv.transcript(session, interview)
    doc = {"interview": {"id": interview.id, "title": interview.title or interview.id, "mode": interview.mode,
                         "job_type": interview.job_type, "focus_area": interview.focus_area,
                         "difficulty": interview.difficulty},
           "report": report, "transcript": entries}
    ctx.progress("render", 0.7, format=format)
    render = {"json": _json, "text": _text, "markdown": _markdown, "pdf": _pdf}[format]
    data = render(doc)
    ctype, ext = FORMATS[format]
    key = f"exports/{interview.user_id}/{ctx.job_id}.{ext}"
    ctx.storage.save(key, data)
    name = f"interview-{interview.id}.{ext}"
    ctx.set_artifact(key, name, ctype)
    return {"interview_id": interview.id, "format": format, "name": name, "content_type": ctype, "bytes": len(data),
            "artifact_url": f"/api/jobs/{ctx.job_id}/artifact"}


def _json(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, indent=2, default=str).encode()


def _lines(doc: dict[str, Any], md: bool) -> list[str]:
    r, info = doc["report"], doc["interview"]
    h1, h2, bullet = ("# ", "## ", "- ") if md else ("", "", "  * ")
    out = [f"{h1}{info['title']}", "", f"Overall score: {r.get('overall_score')}", ""]
    out.append(f"{h2}Scores by dimension")
    out += [f"{bullet}{k.title()}: {v}" for k, v in (r.get("dimensions") or {}).items()]
    if r.get("delivery"):
        out += ["", f"{h2}Delivery"] + [f"{bullet}{k.replace('_', ' ')}: {v}" for k, v in r["delivery"].items()]
    for title in ("strengths", "weaknesses", "recommendations"):
        out += ["", f"{h2}{title.title()}"] + [f"{bullet}{s}" for s in r.get(title) or []]
    out += ["", f"{h2}Transcript"]
    for e in doc["transcript"]:
        who = "Interviewer" if e["role"] == "interviewer" else "Candidate"
        out += [f"**{who}:** {e['content']}" if md else f"{who}: {e['content']}", ""]
    if not md:
        out[1:1] = ["=" * len(info["title"])]
    return out


def _text(doc: dict[str, Any]) -> bytes:
    return "\n".join(_lines(doc, md=False)).encode()


def _markdown(doc: dict[str, Any]) -> bytes:
    return "\n".join(_lines(doc, md=True)).encode()


def _chart(dims: dict[str, float | None]) -> Any:
    from reportlab.graphics.charts.barcharts import HorizontalBarChart
    from reportlab.graphics.shapes import Drawing, String
    from reportlab.lib import colors

    names = list(reversed(list(dims)))  # the chart draws bottom-up: keep the first dimension on top
    drawing = Drawing(440, 40 + 34 * len(names))
    chart = HorizontalBarChart()
    chart.x, chart.y, chart.width, chart.height = 90, 20, 320, 30 * len(names)
    chart.data = [[float(dims[n] or 0) for n in names]]
    chart.categoryAxis.categoryNames = [n.title() for n in names]
    chart.valueAxis.valueMin, chart.valueAxis.valueMax, chart.valueAxis.valueStep = 0, 100, 20
    chart.bars[0].fillColor = colors.HexColor("#3b6ea5")
    chart.barLabelFormat = "%.0f"
    chart.barLabels.nudge = 12
    drawing.add(chart)
    drawing.add(String(90, 6 + chart.height + 20, "Scores by dimension (0-100)", fontSize=9))
    return drawing


def _pdf(doc: dict[str, Any]) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    r, info = doc["report"], doc["interview"]
    ss = getSampleStyleSheet()
    buf = io.BytesIO()
    pdf = SimpleDocTemplate(buf, pagesize=A4, title=f"Interview report {info['title']}", author="VoiceMock",
                            leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm, bottomMargin=16 * mm)
    p = lambda text, style="BodyText": Paragraph(escape(str(text)), ss[style])  # noqa: E731
    story: list[Any] = [p(info["title"], "Title"),
                        p(f"{info['mode'].title()} interview · {info['job_type']} · {info['focus_area']} · "
                          f"{info['difficulty']}"),
                        p(f"Overall score: {r.get('overall_score')}", "Heading2")]
    if r.get("dimensions"):
        story.append(_chart(r["dimensions"]))
    if r.get("delivery"):
        story.append(p("Delivery", "Heading2"))
        story += [p(f"{k.replace('_', ' ')}: {v}") for k, v in r["delivery"].items()]
    for title in ("strengths", "weaknesses", "recommendations"):
        story.append(p(title.title(), "Heading2"))
        story += [p(f"• {s}") for s in r.get(title) or ["—"]]
    story += [Spacer(1, 6), p("Transcript", "Heading2")]
    for e in doc["transcript"]:
        who = "Interviewer" if e["role"] == "interviewer" else "Candidate"
        story.append(Paragraph(f"<b>{who}:</b> {escape(e['content'] or '')}", ss["BodyText"]))
    pdf.build(story)
    return buf.getvalue()
