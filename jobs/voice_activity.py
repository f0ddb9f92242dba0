"""Where the speech is: faster-whisper's bundled Silero VAD, run once per answer.

One pass of the VAD model gives a speech probability every 32 ms. From it come
- the speech regions (hysteresis: speech starts at p >= 0.5 and ends after p < 0.35), which delivery
  analytics uses to measure pauses from the audio instead of from Whisper's word timestamps (Whisper
  stretches a word over the silence after it: the JFK clip's ~1.1 s gaps came out as 0.3 s);
- the decode chunks: speech regions merged across silences shorter than 2 s and padded by 0.4 s (the
  defaults of faster-whisper's own `vad_filter`), so long silences and the noise around an answer are
  never decoded (that is where Whisper invents "Thank you." and friends);
- the mapping from the concatenated chunks' timeline back to the audio's.

Pure numpy apart from the model call, so it is cheap (~0.5 % of real time on this machine).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

SAMPLE_RATE = 16000
_WINDOW = 512  # samples per VAD frame (32 ms at 16 kHz), fixed by the Silero model
FRAME_SECONDS = _WINDOW / SAMPLE_RATE
SPEECH_THRESHOLD = 0.5
SILENCE_THRESHOLD = 0.35
# Speech shorter than this (a click, a breath) neither opens a decode chunk nor splits a pause.
MIN_SPEECH_SECONDS = 0.1
# Silences shorter than this are part of speech (between syllables, stop consonants).
MIN_SILENCE_SECONDS = 0.2
# Decode chunks: faster-whisper's vad_filter defaults (min_silence_duration_ms=2000, speech_pad_ms=400).
CHUNK_MERGE_SECONDS = 2.0
CHUNK_PAD_SECONDS = 0.4

Region = tuple[float, float]


@dataclass(frozen=True)
class Chunk:
    """A stretch of the original audio [start, end) placed at `offset` in the concatenated audio."""
    start: float
    end: float
    offset: float


def speech_probabilities(audio: np.ndarray) -> np.ndarray:
    """Silero's speech probability for each 32 ms frame of 16 kHz mono float32 audio."""
    from faster_whisper.vad import get_vad_model  # loads (once) the bundled ONNX model

    if audio.size == 0:
        return np.zeros(0, dtype=np.float32)
    padded = np.pad(audio, (0, (-audio.shape[0]) % _WINDOW))
    return np.asarray(get_vad_model()(padded), dtype=np.float32).reshape(-1)


def speech_regions(probs: np.ndarray, duration: float) -> list[Region]:
    """Speech as (start, end) seconds, with hysteresis; short blips dropped, short silences bridged."""
    regions: list[list[float]] = []
    start: float | None = None
    for i, p in enumerate(probs):
        t = i * FRAME_SECONDS
        if start is None and p >= SPEECH_THRESHOLD:
            start = t
        elif start is not None and p < SILENCE_THRESHOLD:
            regions.append([start, t])
            start = None
    if start is not None:
        regions.append([start, len(probs) * FRAME_SECONDS])
    merged: list[list[float]] = []
    for r in regions:
        if merged and r[0] - merged[-1][1] < MIN_SILENCE_SECONDS:
            merged[-1][1] = r[1]
        else:
            merged.append(r)
    return [(round(s, 3), round(min(e, duration), 3)) for s, e in merged
            if e - s >= MIN_SPEECH_SECONDS and s < duration]


def silences_between(speech: Sequence[Region], start: float, end: float) -> list[Region]:
    """The silences between speech regions whose middle lies inside (start, end)."""
    out = []
    for (_, a), (b, _) in zip(speech, speech[1:]):
        if start < (a + b) / 2 < end:
            out.append((round(a, 3), round(b, 3)))
    return out


def decode_chunks(speech: Sequence[Region], duration: float) -> list[Chunk]:
    """Padded, merged stretches of the audio to decode, each with its offset in the concatenation."""
    spans: list[list[float]] = []
    for s, e in speech:
        if spans and s - spans[-1][1] < CHUNK_MERGE_SECONDS:
            spans[-1][1] = e
        else:
            spans.append([s, e])
    chunks: list[Chunk] = []
    offset = 0.0
    for s, e in spans:  # spans are >= CHUNK_MERGE_SECONDS apart, so padded chunks never overlap
        lo = max(0.0, s - CHUNK_PAD_SECONDS)
        hi = min(duration, e + CHUNK_PAD_SECONDS)
        chunks.append(Chunk(round(lo, 3), round(hi, 3), round(offset, 3)))
        offset += hi - lo
    return chunks


def concatenate(audio: np.ndarray, chunks: Sequence[Chunk]) -> np.ndarray:
    parts = [audio[int(round(c.start * SAMPLE_RATE)):int(round(c.end * SAMPLE_RATE))] for c in chunks]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)


def to_original(chunks: Sequence[Chunk], t: float, chunk_index: int | None = None) -> tuple[float, int]:
    """Map a time in the concatenated audio back to the original; returns (time, chunk index).

    With `chunk_index` the time is mapped into that chunk (and clamped to it), so a word's end stays in
    the chunk of its start and never spans a silence that was cut out.
    """
    if not chunks:
        return t, 0
    k = chunk_index
    if k is None:
        k = 0
        for i, c in enumerate(chunks):
            if c.offset <= t + 1e-6:
                k = i
    c = chunks[k]
    return min(max(c.start + (t - c.offset), c.start), c.end), k
