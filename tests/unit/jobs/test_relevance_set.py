"""The local engine reads the answer: on the labelled relevance set (tests/unit/jobs/relevance_set.json,
written by hand for issue 14) at least 90 % of answers land in their expected content band, and no
off-topic or empty answer scores above the low band."""
from __future__ import annotations

import json
from pathlib import Path

from jobs.delivery import analyze_delivery
from jobs.question_bank import get_question
from jobs.scoring import score_answer
from jobs.stt import Word

SET = json.loads((Path(__file__).parent / "relevance_set.json").read_text())


def _question(ref: str) -> dict:
    if ref.startswith("q:"):
        return {"text": ref[2:], "type": "system_design"}
    q = get_question(ref)
    assert q is not None, ref
    return q


def _timed(text: str, wpm: float = 150.0) -> list[Word]:
    step = 60.0 / wpm
    return [Word(w, 0.5 + i * step, 0.5 + i * step + step * 0.8, 0.9) for i, w in enumerate(text.split())]


def _content(item: dict) -> int:
    scores = score_answer(_question(item["question"]), item["answer"], analyze_delivery(_timed(item["answer"])))
    return scores["content"]["score"]


def test_the_set_is_large_and_varied_enough() -> None:
    kinds = {i["kind"] for i in SET["items"]}
    assert len(SET["items"]) >= 30
    assert kinds == {"strong", "weak", "off-topic", "empty", "rambling"}


def test_the_local_engine_puts_at_least_90_percent_of_answers_in_their_band() -> None:
    misses = []
    for item in SET["items"]:
        lo, hi = SET["bands"][item["band"]]
        got = _content(item)
        if not lo <= got <= hi:
            misses.append((item["question"], item["kind"], item["band"], got))
    in_band = len(SET["items"]) - len(misses)
    print(f"\nrelevance set: {in_band}/{len(SET['items'])} in band; misses: {misses}")
    assert in_band / len(SET["items"]) >= 0.9, misses


def test_off_topic_and_empty_answers_always_score_low_on_content() -> None:
    lo, hi = SET["bands"]["low"]
    for item in SET["items"]:
        if item["kind"] in ("off-topic", "empty"):
            assert _content(item) <= hi, item
