"""Delivery analytics from word timestamps: pace, fillers, pauses, STAR structure, hedges.

A pure function of the words (and optionally the audio duration) so it runs the same on a fresh
transcript, on words reloaded from the database, or on crafted timings in tests. Every figure is
JSON-able and an empty answer yields zeros rather than an exception.

Heuristics, kept deliberately simple and predictable:
- Tokens are lowercased with punctuation stripped (apostrophes and "%" kept), so "Um," == "um".
- "like" is a filler only when it is followed by another filler ("like, um") or is surrounded by
  breaks: a comma/sentence end or a >= 0.3 s gap on both sides ("and, like, it was"). "I like Go" is
  never counted.
- "so" is a filler only when another filler follows it ("So, um, I was..."); a sentence-initial "So,"
  alone is a discourse marker that links to what came before, not a filler.
- "kind of"/"sort of" after a determiner ("what kind of database") are neither fillers nor hedges;
  otherwise they count as both (they are filler and hedge at once: "it was kind of slow").
- Pauses come from the audio when its speech profile is given (`speech`: the VAD's speech regions,
  `Transcript.speech`): a pause is a silence between two speech regions inside the answer (between
  its first and last word). Whisper stretches a word over the silence after it (the JFK clip's ~1.1 s
  gaps came out as 0.3 s word gaps), and a gap between words where the audio has speech is not a pause
  (words the decoder missed). Without a profile (words reloaded, crafted timings) pauses are the gaps
  between consecutive words. Either way they are rounded to milliseconds before thresholding so that
  a gap of exactly 1.5 s counts.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

PAUSE_SECONDS = 1.5
LONG_PAUSE_SECONDS = 3.0
# A gap this long around "like" is treated as the same kind of break a comma marks.
_BREAK_GAP_SECONDS = 0.3
WPM_SLOW = 110
WPM_FAST = 180

SINGLE_FILLERS = frozenset({"um", "uh", "erm", "er", "ah", "hmm", "basically", "actually", "literally"})
MULTI_FILLERS: tuple[tuple[str, ...], ...] = (
    ("you", "know"),
    ("i", "mean"),
    ("sort", "of"),
    ("kind", "of"),
    ("you", "see"),
)
HEDGES: tuple[tuple[str, ...], ...] = (
    ("i'm", "not", "sure"),
    ("i", "am", "not", "sure"),
    ("i", "think"),
    ("i", "guess"),
    ("sort", "of"),
    ("kind", "of"),
    ("maybe",),
    ("probably",),
    ("perhaps",),
)
# Words before "kind of"/"sort of" that make it a noun phrase ("what kind of cache"), not a hedge.
_DETERMINERS = frozenset({"what", "which", "this", "that", "the", "a", "any", "some", "every", "same", "one", "these", "those", "different", "all"})

# Spelling variants Whisper emits for the same sound, mapped to one canonical filler.
_CANONICAL = (
    (re.compile(r"^u+h*m+$"), "um"),
    (re.compile(r"^u+h+$"), "uh"),
    (re.compile(r"^h+m+$|^m{2,}$"), "hmm"),
    (re.compile(r"^e+r+m+$"), "erm"),
    (re.compile(r"^e+r+$"), "er"),
    (re.compile(r"^a+h+$"), "ah"),
)

# STAR cue phrases, matched on the normalised text (tokens joined by single spaces).
_STAR_CUES: dict[str, tuple[str, ...]] = {
    "situation": (
        r"the situation was", r"at the time", r"at my (?:last|previous|current|old) (?:job|company|role|team)",
        r"in my (?:last|previous|current) (?:job|role|position)", r"we were facing", r"we had a problem",
        r"there was an? (?:problem|issue|incident|outage|bug)", r"the (?:problem|challenge|issue) was",
        r"(?:when|while) i was (?:at|working)", r"the context", r"a few (?:years|months) ago", r"last (?:year|quarter)",
    ),
    "task": (
        r"my task", r"i was responsible", r"my responsibility", r"my role was", r"my (?:goal|job) was",
        r"(?:our|the) goal was", r"i needed to", r"i had to", r"i was asked to", r"i was tasked",
        r"i was in charge", r"i owned",
    ),
    "action": (
        r"(?:i|we) decided", r"(?:i|we) implemented", r"i built", r"i created", r"i designed", r"i led",
        r"i organi[sz]ed", r"i introduced", r"i wrote", r"i added", r"i set up", r"i proposed",
        r"i worked with", r"i started by", r"first i", r"then i", r"i reached out", r"i analy[sz]ed",
        r"i refactored", r"i migrated", r"i automated", r"i (?:talked|spoke) (?:to|with)", r"i profiled",
        r"i measured", r"i investigated",
    ),
    "result": (
        r"as a result", r"the (?:outcome|result) was", r"the outcome", r"in the end", r"ultimately",
        r"(?:which|this|that) led to", r"resulted in", r"by the end", r"i learned",
        r"(?:reduc|increas|cut|improv|sav|grew|grow|lower|decreas|boost|dropp|drop|rais|speed|sped)\w*"
        r"(?: \S+){0,6}? (?:by )?\d+(?:\.\d+)? ?(?:%|percent|x|times)",
        r"(?:doubled|halved|tripled)",
    ),
}
_STAR_RES = {part: re.compile(r"\b(?:" + "|".join(cues) + r")(?!\w)") for part, cues in _STAR_CUES.items()}


@dataclass(frozen=True)
class _Tok:
    norm: str
    raw: str
    start: float
    end: float


def analyze_delivery(
    words: Sequence[Any], duration: float | None = None, speech: Sequence[Sequence[float]] | None = None
) -> dict[str, Any]:
    """Delivery figures for one answer; `words` are `jobs.stt.Word`s or mappings with text/start/end;
    `speech` the audio's speech regions as (start, end) seconds, when known."""
    toks = _tokens(words)
    regions = [(float(a), float(b)) for a, b in speech] if speech else []
    span = round(toks[-1].end - toks[0].start, 3) if toks else 0.0
    pauses = _pauses(_gaps(toks, regions))
    long_gaps = sum(p["seconds"] for p in pauses["items"])
    wpm = round(len(toks) / (span / 60.0), 1) if span > 0 else 0.0
    fillers = _fillers(toks)
    minutes = span / 60.0
    total = float(duration) if duration is not None else (toks[-1].end if toks else 0.0)
    return {
        "word_count": len(toks),
        "duration_seconds": round(total, 3),
        # Time spent talking: the answer's span minus the long (>= 1.5 s) silences inside it.
        "speaking_seconds": round(max(span - long_gaps, 0.0), 3),
        "words_per_minute": wpm,
        "wpm_band": _band(wpm) if toks else None,
        "fillers": {
            "count": len(fillers),
            "per_minute": round(len(fillers) / minutes, 2) if minutes > 0 else 0.0,
            "items": fillers,
            "by_word": dict(Counter(f["word"] for f in fillers)),
        },
        "pauses": pauses,
        "time_to_first_word_seconds": round(_first_word_start(toks, regions), 3) if toks else 0.0,
        "star": _star(toks),
        "hedges": _hedges(toks),
    }


def _band(wpm: float) -> str:
    if wpm < WPM_SLOW:
        return "slow"
    if wpm > WPM_FAST:
        return "fast"
    return "good"


def normalize(text: str) -> str:
    """Lowercase, straighten quotes, strip punctuation except inner apostrophes and a trailing %."""
    t = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    t = re.sub(r"[^\w'%]+", "", t).strip("'")
    for pattern, canonical in _CANONICAL:
        if pattern.match(t):
            return canonical
    return t


def _tokens(words: Iterable[Any]) -> list[_Tok]:
    toks: list[_Tok] = []
    for w in words:
        if isinstance(w, Mapping):
            raw, start, end = str(w.get("text", w.get("word", ""))), w.get("start", 0.0), w.get("end", 0.0)
        else:
            raw, start, end = w.text, w.start, w.end
        # Whisper occasionally packs two words into one ("check-out", "you know"): split them.
        for part in raw.split():
            norm = normalize(part)
            if norm:
                toks.append(_Tok(norm, part.strip(), float(start or 0.0), float(end or 0.0)))
    toks.sort(key=lambda t: t.start)
    return toks


def _gaps(toks: Sequence[_Tok], speech: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """(start, end) of every silence inside the answer: from the speech profile when there is one,
    else the gaps between consecutive words."""
    if not toks:
        return []
    if speech:
        first, last = toks[0].start, toks[-1].end
        return [(a, b) for (_, a), (b, _) in zip(speech, speech[1:]) if first < (a + b) / 2 < last]
    return [(prev.end, nxt.start) for prev, nxt in zip(toks, toks[1:])]


def _first_word_start(toks: Sequence[_Tok], speech: Sequence[tuple[float, float]]) -> float:
    """When the first word starts; Whisper often dates it into the silence before it, so it is moved
    to the start of the speech it lies in."""
    start = toks[0].start
    for a, b in speech:
        if b > start:
            return max(start, a) if a < toks[0].end else start
    return start


def _pauses(gaps: Sequence[tuple[float, float]]) -> dict[str, Any]:
    items = []
    longest = 0.0
    for start, end in gaps:
        gap = round(max(end - start, 0.0), 3)
        longest = max(longest, gap)
        if gap >= PAUSE_SECONDS:
            items.append({"start": round(start, 3), "end": round(end, 3), "seconds": gap})
    return {
        "count_1_5s": len(items),
        "count_3s": sum(1 for p in items if p["seconds"] >= LONG_PAUSE_SECONDS),
        "longest_seconds": longest,
        "items": items,
    }


def _match_at(toks: Sequence[_Tok], i: int, phrase: tuple[str, ...]) -> bool:
    return i + len(phrase) <= len(toks) and all(toks[i + k].norm == p for k, p in enumerate(phrase))


def _is_noun_phrase(toks: Sequence[_Tok], i: int, phrase: tuple[str, ...]) -> bool:
    return phrase in {("kind", "of"), ("sort", "of")} and i > 0 and toks[i - 1].norm in _DETERMINERS


def _break_before(toks: Sequence[_Tok], i: int) -> bool:
    if i == 0:
        return True
    prev = toks[i - 1]
    return prev.raw[-1:] in ",.;:!?-" or toks[i].start - prev.end >= _BREAK_GAP_SECONDS


def _break_after(toks: Sequence[_Tok], i: int) -> bool:
    if i == len(toks) - 1 or toks[i].raw[-1:] in ",.;:!?-":
        return True
    return toks[i + 1].start - toks[i].end >= _BREAK_GAP_SECONDS


def _filler_len(toks: Sequence[_Tok], i: int) -> int:
    """How many tokens a filler starting at i spans (0: no filler), ignoring the context rules for
    "like" and "so" (used to see whether "like" is followed by a filler)."""
    for phrase in MULTI_FILLERS:
        if _match_at(toks, i, phrase) and not _is_noun_phrase(toks, i, phrase):
            return len(phrase)
    return 1 if toks[i].norm in SINGLE_FILLERS else 0


def _fillers(toks: Sequence[_Tok]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    i = 0
    while i < len(toks):
        n = _filler_len(toks, i)
        tok = toks[i]
        if not n and tok.norm == "like":
            followed = i + 1 < len(toks) and _filler_len(toks, i + 1) > 0
            n = 1 if followed or (_break_before(toks, i) and _break_after(toks, i)) else 0
        elif not n and tok.norm == "so":
            n = 1 if i + 1 < len(toks) and _filler_len(toks, i + 1) > 0 else 0
        if n:
            found.append({
                "word": " ".join(t.norm for t in toks[i:i + n]),
                "start": round(tok.start, 3),
                "end": round(toks[i + n - 1].end, 3),
            })
            i += n
        else:
            i += 1
    return found


def _hedges(toks: Sequence[_Tok]) -> dict[str, Any]:
    items: list[dict[str, Any]] = []
    i = 0
    while i < len(toks):
        phrase = next((p for p in HEDGES if _match_at(toks, i, p) and not _is_noun_phrase(toks, i, p)), None)
        if phrase is None:
            i += 1
            continue
        items.append({
            "phrase": " ".join(phrase),
            "start": round(toks[i].start, 3),
            "end": round(toks[i + len(phrase) - 1].end, 3),
        })
        i += len(phrase)
    return {"count": len(items), "items": items}


def _star(toks: Sequence[_Tok]) -> dict[str, Any]:
    text, offsets = _joined(toks)
    markers: list[dict[str, Any]] = []
    found = {}
    for part, regex in _STAR_RES.items():
        hits = list(regex.finditer(text))
        found[part] = bool(hits)
        for m in hits:
            markers.append({"part": part, "phrase": m.group(0), "start": _time_at(toks, offsets, m.start())})
    markers.sort(key=lambda m: m["start"])
    return {**found, "score": sum(found.values()), "markers": markers}


def _joined(toks: Sequence[_Tok]) -> tuple[str, list[int]]:
    offsets, pos = [], 0
    for t in toks:
        offsets.append(pos)
        pos += len(t.norm) + 1
    return " ".join(t.norm for t in toks), offsets


def _time_at(toks: Sequence[_Tok], offsets: list[int], char: int) -> float:
    idx = 0
    for k, off in enumerate(offsets):
        if off > char:
            break
        idx = k
    return round(toks[idx].start, 3)
