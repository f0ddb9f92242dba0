"""The shareable PDF of an interview report (reportlab): a title with role, date and name, page numbers,
a chart of the dimension scores, readable delivery labels, ranked advice, job-description coverage and
one section per question (scores, the one thing to fix, a stronger answer, the answer with its filler
words highlighted)."""
from __future__ import annotations

import io
from datetime import date
from typing import Any
from xml.sax.saxutils import escape

from jobs import breakdown as bd
from jobs.exports import mark_fillers

_ACCENT = "#3b6ea5"
_HIGHLIGHT = "#ffe08a"


def _long_date(day: str | None) -> str | None:
    if not day:
        return None
    d = date.fromisoformat(day)
    return f"{d.day} {d.strftime('%B %Y')}"


def _chart(dims: dict[str, float | None]) -> Any:
    from reportlab.graphics.charts.barcharts import HorizontalBarChart
    from reportlab.graphics.shapes import Drawing, String
    from reportlab.lib import colors

    names = list(reversed(list(dims)))  # the chart draws bottom-up: keep the first dimension on top
    drawing = Drawing(440, 44 + 30 * len(names))
    chart = HorizontalBarChart()
    chart.x, chart.y, chart.width, chart.height = 110, 20, 300, 26 * len(names)
    chart.data = [[float(dims[n] or 0) for n in names]]
    chart.categoryAxis.categoryNames = [bd.label(n) for n in names]
    chart.categoryAxis.labels.fontSize = 10
    chart.valueAxis.valueMin, chart.valueAxis.valueMax, chart.valueAxis.valueStep = 0, 100, 20
    chart.valueAxis.labels.fontSize = 9
    chart.bars[0].fillColor = colors.HexColor(_ACCENT)
    chart.barLabelFormat = "%.0f"
    chart.barLabels.nudge = 12
    chart.barLabels.fontSize = 10
    drawing.add(chart)
    drawing.add(String(110, 8 + chart.height + 20, "Scores by dimension (0-100)", fontSize=10))
    return drawing


def _page_canvas(footer: str) -> type:
    from reportlab.pdfgen.canvas import Canvas

    class NumberedCanvas(Canvas):
        """Draws "Page N of M" once the page count is known (pages are kept until save)."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 (reportlab's name)
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self.setFont("Helvetica", 9)
                self.setFillColorRGB(0.4, 0.4, 0.4)
                width = self._pagesize[0]
                self.drawString(50, 28, footer)
                self.drawRightString(width - 50, 28, f"Page {self._pageNumber} of {total}")
                super().showPage()
            super().save()

    return NumberedCanvas


def render_pdf(doc: dict[str, Any]) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    r, info = doc["report"], doc["interview"]
    ss = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=ss["BodyText"], fontSize=10.5, leading=14)
    small = ParagraphStyle("small", parent=body, fontSize=9.5, leading=12.5, textColor=colors.HexColor("#444444"))
    h2 = ParagraphStyle("h2", parent=ss["Heading2"], textColor=colors.HexColor(_ACCENT), spaceBefore=10)
    h3 = ParagraphStyle("h3", parent=ss["Heading3"], spaceBefore=8)
    title = f"Interview practice report: {info['role']}"
    byline = " · ".join(x for x in (info.get("candidate"), _long_date(info.get("date")),
                                    (info.get("focus_area") or "").replace("_", " ").capitalize() or None,
                                    f"{info['difficulty']} difficulty" if info.get("difficulty") else None) if x)
    buf = io.BytesIO()
    pdf = SimpleDocTemplate(buf, pagesize=A4, title=title, author=info.get("candidate") or "VoiceMock",
                            subject=f"VoiceMock report {info['id']}", leftMargin=18 * mm, rightMargin=18 * mm,
                            topMargin=16 * mm, bottomMargin=18 * mm)

    def p(text: Any, style: Any = body) -> Any:
        return Paragraph(escape(str(text)), style)

    story: list[Any] = [Paragraph(escape(title), ss["Title"]), p(byline, small), Spacer(1, 8)]
    headline = [f"<b>Overall score: {r.get('overall_score')}/100</b>"]
    for key, word in (("strongest", "Strongest"), ("weakest", "Needs the most work")):
        if r.get(key):
            headline.append(f"{word}: {escape(r[key]['label'])} ({r[key]['score']:.0f})")
    story.append(Paragraph(" · ".join(headline), ParagraphStyle("head", parent=body, fontSize=12, leading=16)))
    if r.get("dimensions"):
        story.append(_chart(r["dimensions"]))
    story.append(p("What to work on", h2))
    story += [p(f"{i}. {s}") for i, s in enumerate(r.get("recommendations") or ["—"], start=1)]
    for name in ("strengths", "weaknesses"):
        if r.get(name):
            story.append(p(name.title(), h2))
            story += [p(f"• {s}") for s in r[name]]
    rows = bd.readable_delivery(r.get("delivery"))
    if rows:
        story.append(p("Delivery", h2))
        table = Table([[p(k), p(v)] for k, v in rows], colWidths=[70 * mm, 60 * mm], hAlign="LEFT")
        table.setStyle(TableStyle([("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#cccccc"))]))
        story.append(table)
    cov = r.get("job_description_coverage")
    if cov:
        story += [p("Job description coverage", h2), p(cov["summary"])]
    answers = r.get("answers") or []
    for n, row in enumerate(answers):
        scores = row.get("scores") or {}
        head = f"Q{row['position']}. {row.get('question') or '(no question)'}"
        grid = Table([[p("Overall", small), *[p(bd.label(k), small) for k in scores], p("Length", small)],
                      [p(f"{row.get('overall')}"), *[p(f"{v:.0f}") for v in scores.values()],
                       p(bd.duration(row.get("answer_seconds")) if row.get("answer_seconds") else "—")]],
                     hAlign="LEFT")
        grid.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 0.25, colors.HexColor("#999999")),
                                  ("INNERGRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#cccccc")),
                                  ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef3f9"))]))
        marked = escape(mark_fillers(row.get("answer") or "", row.get("fillers") or [], ("\x00", "\x01")))
        marked = marked.replace("\x00", f'<font backColor="{_HIGHLIGHT}">').replace("\x01", "</font>")
        intro = [p("Question by question", h2), p("Filler words are highlighted in your answers.", small)] if n == 0 else []
        section = [*intro, p(head, h3), grid, Spacer(1, 4),
                   Paragraph(f"<b>The one thing to fix:</b> {escape(str(row.get('fix') or '—'))}", body),
                   Paragraph("<b>A stronger answer:</b>", body)]
        section += [p(f"{i}. {step}", small) for i, step in enumerate(row.get("outline") or [], start=1)]
        story.append(KeepTogether(section))
        story.append(Paragraph(f"<b>Your answer:</b> {marked or '—'}", body))
    if not answers and doc.get("transcript"):
        story.append(p("Transcript", h2))
        for e in doc["transcript"]:
            who = "Interviewer" if e["role"] == "interviewer" else "Candidate"
            story.append(Paragraph(f"<b>{who}:</b> {escape(e['content'] or '')}", body))
    footer = f"VoiceMock · {info['role']}" + (f" · {info['date']}" if info.get("date") else "")
    pdf.build(story, canvasmaker=_page_canvas(footer))
    return buf.getvalue()
