"""Word error rate of a transcript against a reference, and the words invented past its end.

Both texts are normalised the way Whisper's own English evaluation does in spirit, so that spelling
choices are not counted as errors: lowercase, punctuation dropped (inner apostrophes kept), hyphens
split ("cold-hearted" = "cold hearted"), numbers written as words ("10" = "ten", "60%" = "sixty
percent"), "Mr." = "mister", and hesitation fillers (um, uh, hmm, …) removed from both sides, because
the reference transcripts of the recorded clips do not mark them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
         "sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_ABBREVIATIONS = {"mr": "mister", "mrs": "missus", "dr": "doctor", "st": "saint"}
_FILLERS = frozenset({"um", "umm", "uh", "uhh", "hmm", "hm", "mm", "er", "erm", "ah"})


def _number_words(n: int) -> list[str]:
    if n < 20:
        return [_ONES[n]]
    if n < 100:
        return [_TENS[n // 10]] + ([_ONES[n % 10]] if n % 10 else [])
    if n < 1000:
        return [_ONES[n // 100], "hundred"] + (_number_words(n % 100) if n % 100 else [])
    if n < 1_000_000:
        return _number_words(n // 1000) + ["thousand"] + (_number_words(n % 1000) if n % 1000 else [])
    return [str(n)]


def normalize(text: str) -> list[str]:
    """The words of `text` as compared: see the module docstring."""
    out: list[str] = []
    for raw in text.lower().replace("\u2019", "'").replace("-", " ").split():
        percent = raw.rstrip(".,!?;:").endswith("%")
        word = re.sub(r"[^\w']", "", raw).strip("'")
        if not word:
            continue
        if word.isdigit():
            out += _number_words(int(word))
        else:
            out.append(_ABBREVIATIONS.get(word, word))
        if percent:
            out.append("percent")
    return [w for w in out if w not in _FILLERS]


@dataclass(frozen=True)
class Score:
    errors: int  # substitutions + deletions + insertions
    reference_words: int
    substitutions: int
    deletions: int
    insertions: int
    # Hypothesis words after the last word matched or substituted to the reference: text invented past
    # the end of the speech ("Thank you.").
    inserted_past_end: int
    # Reference words after the last aligned one that the hypothesis lacks: the end of the speech lost.
    deleted_at_end: int = 0

    @property
    def wer(self) -> float:
        return self.errors / self.reference_words if self.reference_words else float(self.errors > 0)


def score(reference: str, hypothesis: str) -> Score:
    """Levenshtein alignment of the normalised words, with the kinds of error counted."""
    ref, hyp = normalize(reference), normalize(hypothesis)
    n, m = len(ref), len(hyp)
    # cost[i][j]: edits turning ref[:i] into hyp[:j]
    cost = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        cost[i][0] = i
    for j in range(m + 1):
        cost[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            cost[i][j] = min(cost[i - 1][j] + 1, cost[i][j - 1] + 1,
                             cost[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]))
    subs = dels = ins = 0
    trailing = lost = 0
    seen_aligned = False
    i, j = n, m
    while i > 0 or j > 0:  # walk back; insertions before any aligned word (from the end) are trailing
        if i > 0 and j > 0 and cost[i][j] == cost[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]):
            subs += ref[i - 1] != hyp[j - 1]
            seen_aligned = True
            i, j = i - 1, j - 1
        elif j > 0 and cost[i][j] == cost[i][j - 1] + 1:
            ins += 1
            trailing += not seen_aligned
            j -= 1
        else:
            dels += 1
            lost += not seen_aligned
            i -= 1
    return Score(subs + dels + ins, n, subs, dels, ins, trailing, lost)
