"""What to do next with an answer: the one thing to fix, and an outline of a stronger answer.

The local engine's counterpart of an LLM coach's "here is what a better answer looks like": the outline
is built from the question's intent and key points (STAR for behavioural questions, definition → points
→ trade-off for technical ones); the fix is the single change that would raise the score most.
"""
from __future__ import annotations

from typing import Any, Mapping

from jobs import relevance

_STAR_TYPES = frozenset({"behavioral", "leadership", "situational", "culture"})


def outline(question: Mapping[str, Any]) -> list[str]:
    """Steps of a stronger answer to `question`, in the order to say them."""
    points = [str(p) for p in question.get("key_points") or []]
    label, _ = relevance.intent_of(question)
    qtype = str(question.get("type") or "behavioral")
    if qtype in _STAR_TYPES:
        steps = [f"Situation: one or two sentences on where you were and what was at stake"
                 + (f" ({label})." if label else ".")]
        if points:
            steps.append(f"Task: what you were responsible for ({points[0]}).")
            steps += [f"Action: {p}: what you did, in the first person." for p in points[1:-1]]
            last = points[-1]
            steps.append("Result: the outcome" + ("" if last.lower() in ("result", "outcome", "impact") else f" ({last})")
                         + ", with a number (%, time, money, users) if you have one.")
        else:
            steps += ["Task: what you were responsible for.", "Action: two or three things you did, in order.",
                      "Result: the measurable outcome."]
        steps.append("Close with what you learned or would do differently.")
        return steps
    steps = ["Open with a one-sentence direct answer."]
    steps += [f"Explain {p}." for p in points] or ["Walk through the main idea step by step."]
    steps.append("Close with a trade-off or an example from your own work.")
    return steps


def one_fix(question: Mapping[str, Any], scores: Mapping[str, Any]) -> str:
    """The single most valuable change to this answer, as one sentence."""
    content = scores.get("content") if isinstance(scores.get("content"), Mapping) else {}
    if content and content.get("on_topic") is False:
        label, _ = relevance.intent_of(question)
        return (f"Answer the question that was asked{f' (it is about {label})' if label else ''}: "
                "pick a story that fits it, rather than a prepared one.")
    dims = {k: v for k, v in scores.items() if isinstance(v, Mapping) and isinstance(v.get("score"), (int, float))}
    if not dims:
        return "Answer the question at more length so there is something to coach."
    weakest, part = min(dims.items(), key=lambda kv: kv[1]["score"])
    if weakest == "content" and part.get("missing"):
        return f"Cover {part['missing'][0]}: it is what this question is testing."
    if weakest == "delivery" and part.get("issues"):
        return str(part["issues"][0])
    feedback = str(part.get("feedback") or "").strip()
    return feedback or f"Work on {weakest.replace('_', ' ')}: it was your lowest score on this answer."
