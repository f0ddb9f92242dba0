"""The parts of a report that must say one thing once (issue 14), shared by reports, summaries and exports:
dimension averages over whatever dimensions the scores carry, the one strongest and one weakest
dimension, the per-question breakdown, recommendations de-duplicated and ranked, delivery figures with
one answer length, and what of the job description the answers covered."""
from __future__ import annotations

import re
from collections import Counter
from statistics import mean
from typing import Any, Iterable, Mapping

from jobs import relevance, scoring

# Fields of a score dict that are not dimensions.
_NOT_DIMENSIONS = frozenset({"overall", "engine", "model", "fix", "outline", "fallback", "source", "provider"})


def label(dimension: str) -> str:
    return dimension.replace("_", " ").strip().capitalize()


def dimension_scores(scores: Mapping[str, Any] | None) -> dict[str, float]:
    """{dimension: score} of one answer's scores, whatever the dimensions are called."""
    out: dict[str, float] = {}
    for k, v in (scores or {}).items():
        if k in _NOT_DIMENSIONS:
            continue
        if isinstance(v, Mapping) and isinstance(v.get("score"), (int, float)):
            out[k] = float(v["score"])
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out[k] = float(v)
    return out


def average_dimensions(per_answer: Iterable[Mapping[str, Any]]) -> dict[str, float | None]:
    values: dict[str, list[float]] = {}
    for s in per_answer:
        for k, v in dimension_scores(s).items():
            values.setdefault(k, []).append(v)
    return {k: round(mean(v), 1) for k, v in values.items()}


def extremes(dims: Mapping[str, float | None]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(strongest, weakest): one each; no weakest when there is a single dimension or all are equal."""
    ranked = sorted(((float(v), k) for k, v in dims.items() if v is not None), key=lambda t: (-t[0], t[1]))
    if not ranked:
        return None, None
    top = {"dimension": ranked[0][1], "label": label(ranked[0][1]), "score": ranked[0][0]}
    if len(ranked) < 2 or ranked[-1][0] == ranked[0][0]:
        return top, None
    low = {"dimension": ranked[-1][1], "label": label(ranked[-1][1]), "score": ranked[-1][0]}
    return top, low


def extreme_sentences(strongest: Mapping[str, Any] | None, weakest: Mapping[str, Any] | None) -> tuple[str | None, str | None]:
    s = f"{strongest['label']} is your strongest dimension ({strongest['score']:.0f}/100)." if strongest else None
    w = f"{weakest['label']} needs the most work ({weakest['score']:.0f}/100)." if weakest else None
    return s, w


def delivery_figures(deliveries: list[Mapping[str, Any]]) -> dict[str, Any] | None:
    """Delivery across answers; `answer_seconds` is the same length every answer's feedback quotes."""
    if not deliveries:
        return None

    def avg(values: list[float]) -> float | None:
        return round(mean(values), 1) if values else None

    return {
        "words_per_minute": avg([float(d.get("words_per_minute") or 0) for d in deliveries]),
        "fillers_per_minute": avg([float((d.get("fillers") or {}).get("per_minute", 0)) for d in deliveries]),
        "filler_count": sum(int((d.get("fillers") or {}).get("count", 0)) for d in deliveries),
        "long_pauses": sum(int((d.get("pauses") or {}).get("count_3s", 0)) for d in deliveries),
        "answer_seconds": round(sum(scoring.answer_seconds(d) for d in deliveries), 1),
    }


DELIVERY_LABELS = {
    "words_per_minute": ("Pace", "{:g} words per minute"),
    "fillers_per_minute": ("Filler words per minute", "{:g}"),
    "filler_count": ("Filler words", "{:g}"),
    "long_pauses": ("Pauses of 3 s or more", "{:g}"),
    "answer_seconds": ("Total answer time", "{}"),
}


def readable_delivery(figures: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """(label, value) rows a person reads: "Total answer time: 1 min 30 s", not "speaking_seconds: 89.9"."""
    rows = []
    for key, value in (figures or {}).items():
        if value is None:
            continue
        name, fmt = DELIVERY_LABELS.get(key, (label(key), "{}"))
        rows.append((name, duration(value) if key == "answer_seconds" else fmt.format(value)))
    return rows


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    s = float(seconds)
    if s < 60:
        return f"{s:.1f} s"
    return f"{int(s // 60)} min {s % 60:.0f} s"


# -- per question -----------------------------------------------------------------------------------

def question_breakdown(answers: list[Any], per_answer: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per answered question: the question, score per dimension, the one thing to fix and a
    stronger answer's outline. `answers` are `jobs.interviews.Answer`s (question dict, text, delivery)."""
    from jobs import coaching

    rows = []
    for i, (a, s) in enumerate(zip(answers, per_answer), start=1):
        content = s.get("content") if isinstance(s.get("content"), Mapping) else {}
        rows.append({
            "position": i,
            "question_id": a.question.get("id"),
            "question": a.question.get("text") or "",
            "overall": s.get("overall"),
            "scores": dimension_scores(s),
            **dimension_scores(s),
            "fix": s.get("fix") or coaching.one_fix(a.question, s),
            "outline": list(s.get("outline") or coaching.outline(a.question)),
            "on_topic": content.get("on_topic", True) if content else True,
            "answer_seconds": scoring.answer_seconds(a.delivery) if a.delivery else None,
            "answer": a.text,
            "fillers": [f.get("word") for f in ((a.delivery or {}).get("fillers") or {}).get("items", [])],
            "engine": s.get("engine"),
        })
    return rows


# -- recommendations --------------------------------------------------------------------------------

def _key(text: str) -> frozenset[str]:
    """A sentence's gist for de-duplication: its content concepts without numbers."""
    text = re.sub(r"^Q\d+:\s*", "", text)
    return frozenset(c for c in relevance.concepts(re.sub(r"\d+(\.\d+)?", " ", text)) if len(c) > 2)


def dedupe(recs: Iterable[str], limit: int = 6) -> list[str]:
    """Drop repeats and near-repeats (same gist, different numbers), keeping the first (highest-ranked)."""
    kept: list[tuple[str, frozenset[str]]] = []
    for r in recs:
        r = " ".join(str(r).split())
        if not r:
            continue
        k = _key(r)
        if any(k and (len(k & other) / min(len(k), len(other) or 1)) >= 0.7 for _, other in kept):
            continue
        kept.append((r, k))
    return [r for r, _ in kept][:limit]


def ranked_recommendations(rows: list[Mapping[str, Any]], per_answer: list[Mapping[str, Any]],
                           delivery: Mapping[str, Any] | None) -> list[str]:
    """Session-level advice, each point once, ranked by how many points it costs across the answers."""
    n = len(rows)
    if not n:
        return ["Answer at least one question so there is something to assess."]
    scored: list[tuple[float, str]] = []
    covered: set[str] = set()  # dimensions a session-level point already speaks to
    off = [r for r in rows if not r["on_topic"]]
    if off:
        which = ", ".join(f"Q{r['position']}" for r in off)
        scored.append((200.0 + 100.0 * len(off), f"Answer the question that was asked: {len(off)} of {n} "
                                        f"answer{'s' if n > 1 else ''} ({which}) addressed something else. "
                                        "Pick a story that fits the question."))
    missing: Counter[str] = Counter()
    for s in per_answer:
        c = s.get("content") if isinstance(s.get("content"), Mapping) else {}
        if c and c.get("on_topic", True):
            missing.update((c.get("missing") or [])[:2])
    if missing:
        top = [m for m, _ in missing.most_common(3)]
        covered.add("content")
        scored.append((15.0 * sum(missing.values()), f"Cover what each question tests; you left out {', '.join(top)}."))
    star_missing: Counter[str] = Counter()
    for s in per_answer:
        st = s.get("structure") if isinstance(s.get("structure"), Mapping) else {}
        if st and "star_parts" in st:
            star_missing.update(p for p in ("situation", "task", "action", "result") if p not in st["star_parts"])
    if star_missing.get("result"):
        k = star_missing["result"]
        covered.add("structure")
        scored.append((12.0 * k, f"End each story with a measurable result (missing in {k} of {_answers(n)})."))
    short = [r for r in rows if r["answer_seconds"] is not None and r["answer_seconds"] < scoring.IDEAL_SECONDS[0]]
    if short:
        times = ", ".join(duration(r["answer_seconds"]) for r in short[:3])
        scored.append((10.0 * len(short), f"Give fuller answers: {len(short)} of {_answers(n)} ran under a minute "
                                         f"({times}); aim for one to three minutes."))
    if delivery:
        before = len(scored)
        wpm = delivery.get("words_per_minute") or 0
        if wpm and wpm < 110:
            scored.append((110 - wpm, f"Speed up a little: your pace averaged {wpm:g} words per minute; aim for 120-170."))
        elif wpm > 180:
            scored.append((wpm - 180, f"Slow down: your pace averaged {wpm:g} words per minute; aim for 120-170."))
        fpm = delivery.get("fillers_per_minute") or 0
        if fpm > scoring.FILLERS_PER_MINUTE_OK:
            scored.append((4.0 * (fpm - scoring.FILLERS_PER_MINUTE_OK) * n, f"Cut filler words ({fpm:g} per minute on average); pause silently instead."))
        if delivery.get("long_pauses"):
            scored.append((4.0 * delivery["long_pauses"], f"Avoid long silences: {delivery['long_pauses']} pause(s) of "
                                                           "3 s or more; a brief pause is fine."))
        if len(scored) > before:
            covered.add("delivery")
    for r in rows:  # each question's own fix, weakest answers first (off-topic ones are named above)
        weakest = min(r["scores"].items(), key=lambda kv: kv[1])[0] if r["scores"] else None
        if r["on_topic"] and weakest not in covered:
            scored.append((max(0.0, 60.0 - float(r["overall"] or 0)) / 2, f"Q{r['position']}: {r['fix']}"))
    scored.sort(key=lambda t: -t[0])
    return dedupe(text for _, text in scored)


def _answers(n: int) -> str:
    return f"{n} answer{'' if n == 1 else 's'}"


# -- job description coverage -----------------------------------------------------------------------

def jd_coverage(job_description: str | None, answer_texts: list[str], limit: int = 12) -> dict[str, Any] | None:
    """Which of the job description's key terms the answers spoke to (None without a job description)."""
    if not job_description or not job_description.strip():
        return None
    from jobs.resumes import job_terms

    terms = job_terms(job_description, limit)
    said = relevance.concepts(" ".join(answer_texts))
    low = " ".join(answer_texts).lower()
    covered, missing = [], []
    for t in terms:
        hit = t.lower() in low or bool(relevance.concepts(t)) and relevance.concepts(t) <= said
        (covered if hit else missing).append(t)
    share = round(100 * len(covered) / len(terms)) if terms else 0
    summary = (f"Your answers touched {len(covered)} of the job description's {len(terms)} key terms ({share}%)"
               + (f"; not mentioned: {', '.join(missing[:6])}." if missing else "."))
    return {"terms": terms, "covered": covered, "missing": missing, "percent": share, "summary": summary}
