"""The built-in `local` rubric scorer: content, structure and delivery from transcript + analytics.

No model and no network: it checks the question's `key_points` against the answer with light
stemming and synonym groups, looks for specifics (numbers, named technologies), STAR structure and
connectors, and turns the delivery figures into a score. Content is gated by relevance
(`jobs.relevance`): an answer that does not address the question's intent scores low on content
however fluent it is. Each result also carries the one thing to fix and an outline of a stronger
answer (`jobs.coaching`). It is meant to move in the right
direction and explain itself in one specific sentence per dimension, not to rival an LLM judge.
"""
from __future__ import annotations

import re
from typing import Any, Mapping

from jobs import coaching, relevance
from jobs.delivery import analyze_delivery

WEIGHTS = {"content": 0.45, "structure": 0.25, "delivery": 0.30}
IDEAL_SECONDS = (60.0, 180.0)
FILLERS_PER_MINUTE_OK = 2.0
_MIN_WORDS_FOR_DELIVERY = 20
_SPOKEN_WPM = 150.0  # to estimate duration when delivery figures are missing

_TECH = frozenset(
    "api apis redis postgres postgresql mysql sqlite kafka rabbitmq python java go golang rust javascript "
    "typescript react node kubernetes k8s docker aws gcp azure s3 lambda terraform graphql grpc rest http "
    "sql nosql mongodb dynamodb elasticsearch spark airflow pandas pytorch tensorflow jira figma salesforce "
    "hubspot tableau looker snowflake bigquery ci cd git linux nginx cdn oauth jwt".split()
)
_NUMBER_WORDS = frozenset(
    "two three four five six seven eight nine ten eleven twelve fifteen twenty thirty forty fifty sixty "
    "seventy eighty ninety hundred thousand million billion percent half double doubled halved tripled".split()
)
_CONNECTORS = (
    "first", "second", "third", "then", "next", "after that", "because", "so that", "however",
    "therefore", "finally", "for example", "for instance", "as a result", "which meant", "in the end",
    "overall", "to summarize", "in summary", "on the other hand", "instead", "meanwhile", "once",
)
_CLOSING_CUES = re.compile(
    r"\b(as a result|in the end|overall|in summary|to summari[sz]e|to sum up|ultimately|what i learned|"
    r"i learned|the outcome|the result|that's how|which led to|since then|going forward)\b"
)
_STAR_TYPES = frozenset({"behavioral", "leadership", "situational", "culture"})


_concepts = relevance.concepts
_words = relevance.words


def _coverage(key_points: list[str], answer: set[str]) -> tuple[list[str], list[str]]:
    covered, missing = [], []
    for point in key_points:
        wanted = _concepts(point)
        # Half of a key point's content words (at least one) is enough: answers paraphrase.
        hit = len(wanted & answer)
        (covered if wanted and hit >= max(1, (len(wanted) + 1) // 2) else missing).append(point)
    return covered, missing


def _specifics(text: str) -> list[str]:
    found: list[str] = []
    for raw in re.findall(r"[A-Za-z0-9%$.'+#-]+", text):
        word = raw.strip(".'-").lower()
        if re.search(r"\d", word) or word in _NUMBER_WORDS or word in _TECH:
            found.append(word)
        elif len(raw) >= 2 and raw.isupper() and raw.isalpha():  # acronyms: SLA, CRM, GPU
            found.append(word)
    return sorted(set(found))


def _length_score(seconds: float) -> float:
    lo, hi = IDEAL_SECONDS
    if seconds <= 0:
        return 0.0
    if seconds < lo:
        return seconds / lo
    if seconds <= hi:
        return 1.0
    return max(0.4, 1.0 - (seconds - hi) / 240.0)  # rambling costs less than saying nothing


def _wanders(question: Mapping[str, Any], rel: Mapping[str, Any]) -> bool:
    """A long answer that spends most of its words away from the question (rambling)."""
    if rel["sentences"] >= 5 and rel["focus"] < 0.25:
        return True
    # Technical answers stay on their topic: past a minute, under 15 % of the words on it is padding.
    return (question.get("type") in ("technical", "system_design") and bool(question.get("key_points"))
            and rel["content_words"] >= 80 and rel["density"] < 0.15)


def _content(question: Mapping[str, Any], text: str, seconds: float) -> dict[str, Any]:
    answer = _concepts(text)
    key_points = list(question.get("key_points") or [])
    rel = relevance.assess(question, text)
    if key_points:
        covered, missing = _coverage(key_points, answer)
        coverage = len(covered) / len(key_points)
    else:  # a question from elsewhere (LLM, user): the intent and the question's own words instead
        covered, missing = [], []
        coverage = rel["intent"]
    specifics = _specifics(text)
    specificity = min(1.0, len(specifics) / 4)
    length = _length_score(seconds)
    # Relevance to the question asked gates the rest: polish cannot make up for answering another question.
    rel_score = 0.45 * coverage + 0.35 * rel["intent"] + 0.20 * rel["focus"]
    # Missing the intent is off-topic unless the key points are mostly there; a known intent ("a mistake",
    # "letting someone go") asks for more of them, as its key points are easy to brush in passing.
    off_topic = rel["intent"] == 0 and coverage < (0.75 if rel["intent_label"] else 0.5)
    score = 100 * (0.6 * rel_score + 0.2 * length + 0.2 * specificity)
    if off_topic:
        score = min(score, 20.0)
    elif _wanders(question, rel):
        score *= 0.65
    score = round(score)
    intent = rel["intent_label"]
    if off_topic:
        head = ("This answer does not address the question"
                + (f": it asks about {intent}" if intent else "")
                + (f", and a strong answer covers {', '.join(key_points[:3])}" if key_points else ""))
    elif key_points and missing:
        head = f"You covered {len(covered)} of {len(key_points)} key points (missing: {', '.join(missing[:3])})"
    elif key_points:
        head = f"You covered all {len(key_points)} key points"
    else:
        head = f"Your answer addresses {intent or 'the question'}"
    if off_topic:
        tail = ""
    elif _wanders(question, rel):
        tail = "; much of it strays from the question, so cut the tangents"
    elif seconds < IDEAL_SECONDS[0]:
        tail = f"; expand to at least a minute (this answer ran {seconds:.1f} s)"
    elif seconds > IDEAL_SECONDS[1]:
        tail = f"; tighten it to under three minutes (this answer ran {seconds:.1f} s)"
    elif specificity < 0.5:
        tail = "; add concrete numbers or named tools"
    else:
        tail = ", with good length and concrete specifics"
    return {
        "score": int(score), "feedback": head + tail + ".", "covered": covered, "missing": missing,
        "specifics": specifics, "length_seconds": round(seconds, 1), "on_topic": not off_topic,
        "relevance": {"intent": intent or None, "addressed": rel["intent"] > 0, "focus": rel["focus"]},
    }


def _structure(question: Mapping[str, Any], text: str, star: Mapping[str, Any]) -> dict[str, Any]:
    norm = " ".join(_words(text))
    connectors = [c for c in _CONNECTORS if re.search(rf"\b{c}\b", norm)]
    sentences = [s for s in re.split(r"[.!?]+\s*", text) if len(_words(s)) >= 3]
    opening = bool(sentences) and len(_words(sentences[0])) >= 5
    closing = len(sentences) >= 2 and (
        bool(_CLOSING_CUES.search(" ".join(_words(sentences[-1])))) or bool(star.get("result"))
    )
    parts = [p for p in ("situation", "task", "action", "result") if star.get(p)]
    star_part = len(parts) / 4
    conn_part = min(1.0, len(connectors) / 4)
    frame_part = (0.5 if opening else 0.0) + (0.5 if closing else 0.0)
    star_weight = 0.5 if question.get("type", "behavioral") in _STAR_TYPES else 0.2
    rest = 1.0 - star_weight
    score = round(100 * (star_weight * star_part + rest * 0.6 * conn_part + rest * 0.4 * frame_part))
    missing = [p.capitalize() for p in ("situation", "task", "action", "result") if p not in parts]
    if not parts:
        feedback = "No clear Situation-Task-Action-Result structure; set the scene, say what you did, end with the outcome."
    elif missing:
        feedback = (f"Your answer covered {', '.join(p.capitalize() for p in parts)} but no clear "
                    f"{' or '.join(missing)}; " + ("close with a measurable outcome." if "Result" in missing
                                                   else "make each STAR step explicit."))
    elif len(connectors) < 2:
        feedback = "Full STAR structure; link the steps with connectors such as 'first', 'because', 'as a result'."
    else:
        feedback = f"Clear STAR structure with {len(connectors)} linking phrases."
    return {
        "score": score, "feedback": feedback, "star_parts": parts, "connectors": connectors,
        "has_opening": opening, "has_closing": closing,
    }


def _delivery(d: Mapping[str, Any]) -> dict[str, Any]:
    words = int(d.get("word_count") or 0)
    if words == 0:
        return {"score": 0, "feedback": "No speech was detected in this answer.", "issues": []}
    wpm = float(d.get("words_per_minute") or 0.0)
    fillers = d.get("fillers") or {}
    pauses = d.get("pauses") or {}
    hedges = d.get("hedges") or {}
    fcount, fpm = int(fillers.get("count") or 0), float(fillers.get("per_minute") or 0.0)
    long3, long15 = int(pauses.get("count_3s") or 0), int(pauses.get("count_1_5s") or 0)
    hcount = int(hedges.get("count") or 0)
    # (penalty, sentence) per issue; the largest penalty names the feedback.
    issues: list[tuple[float, str]] = []
    if wpm < 110:
        issues.append((min(25.0, (110 - wpm) * 0.5), f"Your pace was {round(wpm)} words per minute; aim for 120-170."))
    elif wpm > 180:
        issues.append((min(25.0, (wpm - 180) * 0.5), f"Your pace was {round(wpm)} words per minute; slow down to 120-170."))
    if fpm > FILLERS_PER_MINUTE_OK:
        issues.append((min(35.0, (fpm - FILLERS_PER_MINUTE_OK) * 5),
                       f"You used {fcount} filler word{'' if fcount == 1 else 's'} ({fpm:.1f}/min); aim for under {FILLERS_PER_MINUTE_OK:g}/min."))
    if long15:
        longest = float(pauses.get("longest_seconds") or 0.0)
        issues.append((min(20.0, long3 * 5 + (long15 - long3) * 2),
                       f"You paused {long15} time{'' if long15 == 1 else 's'} for 1.5 s or more (longest {longest:.1f} s); a brief pause is fine, long silences lose the listener."))
    if hcount > 1:
        issues.append((min(15.0, (hcount - 1) * 3),
                       f"You hedged {hcount} times ('I think', 'maybe'); state your decisions with confidence."))
    if words < _MIN_WORDS_FOR_DELIVERY:
        # A few words cannot show sustained pace or composure; do not reward them with a perfect score.
        issues.append((100 - (40 + 3 * words), f"Only {words} words were spoken; too little to judge delivery, answer at more length."))
    score = round(max(0.0, 100 - sum(p for p, _ in issues)))
    if issues:
        feedback = max(issues, key=lambda i: i[0])[1]
    else:
        fillers = "no filler words" if fcount == 0 else f"{fcount} filler word{'' if fcount == 1 else 's'}"
        feedback = f"Steady pace at {round(wpm)} words per minute with {fillers} and no long pauses."
    return {"score": score, "feedback": feedback, "issues": [s for _, s in sorted(issues, reverse=True)]}


def answer_seconds(delivery: Mapping[str, Any] | None) -> float:
    """The answer's length in seconds as every report shows it: the recording's duration, rounded to 0.1 s."""
    d = delivery or {}
    return round(float(d.get("duration_seconds") or d.get("speaking_seconds") or 0.0), 1)


def score_answer(question: Mapping[str, Any], transcript_text: str, delivery: Mapping[str, Any] | None) -> dict[str, Any]:
    """Rubric scores 0..100 per dimension plus a weighted `overall`; `engine` is always "local"."""
    text = (transcript_text or "").strip()
    d = dict(delivery or {})
    if not text:
        empty = {"score": 0, "feedback": "No answer was transcribed; check the microphone and try again."}
        return {"content": dict(empty), "structure": dict(empty), "delivery": _delivery({}), "overall": 0,
                "engine": "local", "fix": "Answer out loud: no speech was found in this recording.",
                "outline": coaching.outline(question)}
    star = d.get("star")
    if not isinstance(star, Mapping):  # delivery computed elsewhere without STAR: derive it from text
        star = analyze_delivery([{"text": w, "start": 0.0, "end": 0.0} for w in text.split()])["star"]
    # One source for an answer's length everywhere (feedback, report, exports): the recorded duration.
    seconds = answer_seconds(d)
    if seconds <= 0:
        seconds = len(_words(text)) / _SPOKEN_WPM * 60
    content = _content(question, text, seconds)
    structure = _structure(question, text, star)
    deliv = _delivery(d) if d else {"score": 50, "feedback": "No audio figures were available to judge delivery.", "issues": []}
    overall = round(sum(WEIGHTS[k] * part["score"] for k, part in
                        (("content", content), ("structure", structure), ("delivery", deliv))))
    if not content["on_topic"]:  # a fluent answer to another question is not a good answer to this one
        overall = min(overall, 40)
    out = {"content": content, "structure": structure, "delivery": deliv, "overall": int(overall), "engine": "local"}
    return {**out, "fix": coaching.one_fix(question, out), "outline": coaching.outline(question)}
