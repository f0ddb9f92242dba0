"""End to end: how many of the fillers spoken in fillers.wav survive transcription and detection.

Measured with the bundled tiny.en, beam 1 and jobs.stt.FILLER_PROMPT: recall 8/8 = 1.00. The threshold
leaves room for other CPUs / CTranslate2 builds decoding slightly differently.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from jobs.delivery import analyze_delivery
from jobs.stt import get_stt

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
MIN_RECALL = 0.75


def test_filler_recall_on_the_spoken_fixture():
    expected = Counter(json.loads((FIXTURES / "fillers.json").read_text())["fillers"])
    transcript = get_stt().transcribe(str(FIXTURES / "fillers.wav"))
    found = Counter(analyze_delivery(transcript.words, transcript.duration)["fillers"]["by_word"])
    recall = sum((expected & found).values()) / sum(expected.values())
    print(f"\nfiller recall {recall:.2f} ({sum((expected & found).values())}/{sum(expected.values())}); "
          f"transcript: {transcript.text!r}; detected: {dict(found)}")
    assert recall >= MIN_RECALL
