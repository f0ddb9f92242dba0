"""Reports say one thing once (issue 14): one strongest and one weakest dimension, recommendations
de-duplicated and ranked, one answer length, a per-question breakdown; and every export format shows it.
The PDF is checked through its text (pypdf) and page count."""
from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pypdf import PdfReader

from jobs import breakdown as bd
from jobs import exports, reports
from jobs.delivery import analyze_delivery
from jobs.pdf_report import render_pdf
from jobs.question_bank import get_question
from jobs.scoring import score_answer
from jobs.stt import Word

SET = json.loads((Path(__file__).parent / "relevance_set.json").read_text())["items"]


@dataclass
class A:  # the shape of jobs.interviews.Answer the breakdown reads
    question: dict[str, Any]
    text: str
    delivery: dict[str, Any] | None


def _timed(text: str) -> list[Word]:
    return [Word(w, 0.5 + i * 0.4, 0.8 + i * 0.4, 0.9) for i, w in enumerate(text.split())]


def _session() -> tuple[list[A], list[dict]]:
    picks = [("gen-give-example-goal-set-achieved", "strong"), ("gen-made-mistake-affected-others", "off-topic"),
             ("gen-had-meet-tight-deadline", "weak"), ("swe-explain-debug-slow-api-endpoint", "strong")]
    answers = []
    for qid, kind in picks:
        text = next(i["answer"] for i in SET if i["question"] == qid and i["kind"] == kind)
        text = "So, um, " + text.replace(". ", ". Uh, ", 1)
        answers.append(A(get_question(qid), text, analyze_delivery(_timed(text))))
    return answers, [score_answer(a.question, a.text, a.delivery) for a in answers]


def _report() -> dict:
    answers, per_answer = _session()
    dims = bd.average_dimensions(per_answer)
    delivery = bd.delivery_figures([a.delivery for a in answers])
    rows = bd.question_breakdown(answers, per_answer)
    story = reports.local_narrative(dims, per_answer, delivery, rows)
    return {"overall_score": 55.0, "dimensions": dims, "delivery": delivery, **reports.one_voice(story, dims),
            "answers": rows, "job_description_coverage": bd.jd_coverage(
                "We are hiring a Backend Engineer: Python, PostgreSQL, Redis caching, payments, on-call.",
                [a.text for a in answers])}


def _doc() -> dict:
    return {"interview": {"id": "sess_x", "title": "t", "mode": "voice", "job_type": "backend_engineer",
                          "role": "Backend Engineer", "focus_area": "behavioral", "difficulty": "medium",
                          "date": "2026-11-30", "candidate": "Ana Ruiz"},
            "report": _report(), "transcript": []}


def test_one_strongest_and_one_weakest_dimension_and_no_repeated_advice() -> None:
    r = _report()
    assert r["strongest"]["dimension"] != r["weakest"]["dimension"]
    assert sum("strongest" in s for s in r["strengths"]) == 1
    assert sum("needs the most work" in s for s in r["weaknesses"]) == 1
    recs = r["recommendations"]
    assert len(recs) == len(set(recs)) and len(recs) <= 6
    assert recs[0].startswith("Answer the question that was asked: 1 of 4 answers (Q2)")  # the costliest first


def test_near_duplicate_advice_is_said_once() -> None:
    recs = bd.dedupe(["You used 5 filler words (3.1/min); aim for under 2/min.",
                      "You used 7 filler words (4.0/min); aim for under 2/min.", "Slow down."])
    assert recs == ["You used 5 filler words (3.1/min); aim for under 2/min.", "Slow down."]


def test_the_breakdown_has_each_question_its_scores_fix_and_outline() -> None:
    rows = _report()["answers"]
    assert [r["position"] for r in rows] == [1, 2, 3, 4]
    for r in rows:
        assert r["question"] and set(r["scores"]) == {"content", "structure", "delivery"}
        assert r["fix"].endswith(".") and len(r["outline"]) >= 3
    assert rows[1]["on_topic"] is False and "mistake" in rows[1]["fix"]
    assert rows[0]["fillers"][:2] == ["so", "um"]


def test_dimensions_are_whatever_the_scores_carry() -> None:
    per_answer = [{"technical": {"score": 80, "feedback": "ok"}, "communication": 90, "overall": 85, "engine": "x"}]
    dims = bd.average_dimensions(per_answer)
    assert dims == {"technical": 80.0, "communication": 90.0}
    strongest, weakest = bd.extremes(dims)
    assert strongest["label"] == "Communication" and weakest["label"] == "Technical"


def test_readable_delivery_labels_and_one_length() -> None:
    rows = dict(bd.readable_delivery({"words_per_minute": 142.3, "answer_seconds": 89.9, "long_pauses": 1}))
    assert rows == {"Pace": "142.3 words per minute", "Total answer time": "1 min 30 s", "Pauses of 3 s or more": "1"}


def test_fillers_are_marked_in_order_and_so_alone_is_not() -> None:
    text = "So, um, I was, like, you know, done. So I left."
    assert exports.mark_fillers(text, ["um", "like", "you know"]) == "So, [um], I was, [like], [you know], done. So I left."


def test_job_description_coverage_names_covered_and_missing_terms() -> None:
    cov = bd.jd_coverage("Backend Engineer: Python, Kafka and PostgreSQL.", ["I built it in Python on PostgreSQL."])
    assert "Python" in cov["covered"] and "Kafka" in cov["missing"] and "Kafka" in cov["summary"]
    assert bd.jd_coverage(None, ["x"]) is None


def test_text_and_markdown_exports_carry_the_breakdown() -> None:
    doc = _doc()
    md = exports._markdown(doc).decode()
    txt = exports._text(doc).decode()
    for out in (md, txt):
        assert "Interview practice report: Backend Engineer" in out and "Ana Ruiz · 2026-11-30" in out
        assert "Q2. Tell me about a time you made a mistake that affected others." in out
        assert "The one thing to fix:" in out and "A stronger answer:" in out
        assert "Total answer time:" in out and "speaking_seconds" not in out
        assert "Job description coverage" in out
    assert "**[um]**" in md and "[um]" in txt


def test_the_pdf_is_share_ready(tmp_path: Path) -> None:
    data = render_pdf(_doc())
    (tmp_path / "report.pdf").write_bytes(data)
    reader = PdfReader(io.BytesIO(data))
    pages = [" ".join(page.extract_text().split()) for page in reader.pages]
    text = " ".join(pages)
    assert 2 <= len(pages) <= 6
    assert "Interview practice report: Backend Engineer" in pages[0]
    assert "Ana Ruiz · 30 November 2026" in pages[0]
    for i, page in enumerate(pages, start=1):
        assert f"Page {i} of {len(pages)}" in page
    for needle in ("Overall score", "Strongest: ", "What to work on", "Total answer time", "Pace",
                   "Question by question", "Q1. Give an example of a goal", "The one thing to fix",
                   "A stronger answer", "Filler words are highlighted", "Job description coverage"):
        assert needle in text, needle
    assert "speaking seconds" not in text and "words_per_minute" not in text
