"""What the synthetic answers say, and tolerant checks of what a speech model heard in them.

A 39 M-parameter model's exact words on synthetic speech change with the CPU: tests check a word error
rate with margin, or that most of several distinctive words were heard, never one exact word.
"""
from __future__ import annotations

from jobs import wer

# What answer_star.* says (tests/fixtures/make_audio.sh). tiny.en's word error rate on it, measured in
# all five upload formats: 0.16 ("Redis" -> "release", "batch the queries" -> "match the query").
STAR_SCRIPT = ("At the time, our checkout API was slow, um, around eight hundred milliseconds. My task was to fix "
               "it. I decided to add a Redis cache, uh, and batch the queries. In the end, we reduced latency by "
               "sixty percent.")
STAR_MAX_WER = 0.35
# Distinctive words of the STAR answer, spread over its three sentences.
STAR_WORDS = ("checkout", "slow", "milliseconds", "task", "cache", "queries", "reduced", "latency", "percent")


def heard_words(text: str, words: tuple[str, ...] = STAR_WORDS) -> list[str]:
    """The words of `words` that occur in `text` (normalised as the WER is)."""
    said = set(wer.normalize(text))
    return [w for w in words if w in said]


def heard_most(text: str, words: tuple[str, ...] = STAR_WORDS, share: float = 0.5) -> bool:
    """At least `share` of the distinctive words were heard: a tolerance for any CPU, not one word."""
    return len(heard_words(text, words)) >= max(1, round(len(words) * share))


def heard_star_answer(text: str) -> bool:
    return wer.score(STAR_SCRIPT, text).wer <= STAR_MAX_WER
