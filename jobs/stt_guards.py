"""Hallucination guards for faster-whisper output; pure functions, measured thresholds.

On the measured clips (espeak answers ending 0.28 s after the last word, recorded read speech, the
JFK clip, the STAR answer in five codecs) the invented "Thank you." segments after an answer's end
scored a no-speech probability of 0.75-0.83 and an average log-probability of -0.90..-0.99, an
invented "and..." after the Ogg/Vorbis STAR answer 0.46 and -1.13; real speech scored at most 0.26
and no lower than -0.67. The thresholds sit between the two.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence, TypeVar

NO_SPEECH_THRESHOLD = 0.6
LOG_PROB_THRESHOLD = -0.8
# Below NO_SPEECH_THRESHOLD but still doubtful: with a weak log-prob, not speech either.
SUSPECT_NO_SPEECH = 0.3
COMPRESSION_RATIO_THRESHOLD = 2.4
# A word shorter than this at the very end of the transcript is not a word Whisper heard.
MIN_TAIL_WORD_SECONDS = 0.03
# Speech no word reaches, longer than this, is decoded again on its own.
UNCOVERED_SPEECH_SECONDS = 0.6
_COVER_SLACK_SECONDS = 0.3

P = TypeVar("P")  # a segment-like dataclass with `words`, `text`, `end`


def _anomaly(word: Any) -> float:
    """faster-whisper's score for an improbable or implausibly short/long word."""
    score = 0.0
    if word.probability < 0.15:
        score += 1.0
    length = word.end - word.start
    if length < 0.133:
        score += (0.133 - length) * 15
    if length > 2.0:
        score += length - 2.0
    return score


def is_hallucination(segment: Any) -> bool:
    """A faster-whisper segment the model rates as possibly not speech and that decoded weakly, or as
    probably not speech and into anomalous words: the shape of the text Whisper invents after an
    answer's end."""
    if segment.no_speech_prob > SUSPECT_NO_SPEECH and segment.avg_logprob < LOG_PROB_THRESHOLD:
        return True
    if segment.no_speech_prob <= NO_SPEECH_THRESHOLD:
        return False
    words = [w for w in (segment.words or ()) if w.word.strip(" .,!?")][:8]
    score = sum(_anomaly(w) for w in words)
    return bool(words) and (score >= 3 or score + 0.01 >= len(words))


def trim_tail(pieces: Sequence[P], duration: float, speech_end: float) -> list[P]:
    """Drop words that start at or past `speech_end` (the last speech plus the VAD's pad, at most the
    audio's end), clamp word ends to the audio's end, drop zero-length words at the transcript's tail;
    a segment left with no word is dropped, one that lost words gets its text rebuilt from them."""
    limit = min(duration, speech_end)
    out: list[Any] = []
    for p in pieces:
        words = [w if w.end <= duration else replace(w, end=duration) for w in p.words if w.start < limit]
        out.append((p, words))
    while out:  # zero-length words at the tail, from the end backwards
        p, words = out[-1]
        while words and words[-1].end - words[-1].start < MIN_TAIL_WORD_SECONDS:
            words = words[:-1]
        if words:
            out[-1] = (p, words)
            break
        out.pop()
    kept: list[P] = []
    for p, words in out:
        if list(p.words) == words:
            kept.append(p)
        elif words:
            text = " ".join(w.text for w in words)
            kept.append(replace(p, words=words, text=text, end=words[-1].end))
    return kept


def uncovered(speech: Sequence[tuple[float, float]], words: Sequence[Any]) -> list[tuple[float, float]]:
    """Stretches of VAD speech, longer than `UNCOVERED_SPEECH_SECONDS`, that no word reaches."""
    spans = sorted((w.start - _COVER_SLACK_SECONDS, w.end + _COVER_SLACK_SECONDS) for w in words)
    holes: list[tuple[float, float]] = []
    for s, e in speech:
        cursor = s
        for a, b in spans:
            if b <= cursor or a >= e:
                continue
            if a > cursor:
                holes.append((cursor, a))
            cursor = max(cursor, b)
        if cursor < e:
            holes.append((cursor, e))
    return [(round(a, 3), round(b, 3)) for a, b in holes if b - a >= UNCOVERED_SPEECH_SECONDS]
