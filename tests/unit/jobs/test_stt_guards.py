"""The pure parts of trustworthy transcription: VAD regions and chunk mapping, guards, WER."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from jobs import stt_guards as guards
from jobs import voice_activity as vad
from jobs import wer
from jobs.stt import Segment, Word


def _probs(pattern: str) -> np.ndarray:
    """One character per 32 ms frame: 'S' speech (0.9), '.' silence (0.05), '~' in between (0.4)."""
    return np.array([{"S": 0.9, ".": 0.05, "~": 0.4}[c] for c in pattern], dtype=np.float32)


def test_speech_regions_use_hysteresis_and_bridge_short_silences():
    f = vad.FRAME_SECONDS
    # speech 10 frames, 0.4 (stays speech: above the 0.35 end threshold), 3 silent frames (< 0.2 s:
    # bridged), speech 5, 40 silent frames (1.28 s), speech 10
    probs = _probs("." * 5 + "S" * 10 + "~" + "." * 3 + "S" * 5 + "." * 40 + "S" * 10 + "." * 5)
    regions = vad.speech_regions(probs, len(probs) * f)
    assert regions == [(round(5 * f, 3), round(24 * f, 3)), (round(64 * f, 3), round(74 * f, 3))]
    assert vad.silences_between(regions, 0.0, 10.0) == [(round(24 * f, 3), round(64 * f, 3))]


def test_a_click_is_not_speech():
    probs = _probs("." * 20 + "SS" + "." * 20)  # 64 ms
    assert vad.speech_regions(probs, len(probs) * vad.FRAME_SECONDS) == []


def test_decode_chunks_merge_short_silences_pad_and_map_back():
    speech = [(1.0, 2.0), (3.0, 4.0), (8.0, 9.0)]  # 1 s gap merged, 4 s gap cut
    chunks = vad.decode_chunks(speech, 9.2)
    assert chunks == [vad.Chunk(0.6, 4.4, 0.0), vad.Chunk(7.6, 9.2, 3.8)]
    assert vad.to_original(chunks, 1.0) == (pytest.approx(1.6), 0)
    assert vad.to_original(chunks, 4.0) == (pytest.approx(7.8), 1)
    # A word that starts in the first chunk cannot end inside the second one.
    assert vad.to_original(chunks, 4.0, 0)[0] == pytest.approx(4.4)
    audio = np.arange(int(9.2 * vad.SAMPLE_RATE), dtype=np.float32)
    assert vad.concatenate(audio, chunks).shape[0] == int(round((3.8 + 1.6) * vad.SAMPLE_RATE))


def _seg(no_speech: float, logprob: float, words=()):  # noqa: ANN001, ANN202
    return SimpleNamespace(no_speech_prob=no_speech, avg_logprob=logprob, words=list(words))


def _fw_word(text: str, start: float, end: float, p: float):  # noqa: ANN202
    return SimpleNamespace(word=text, start=start, end=end, probability=p)


@pytest.mark.parametrize("segment, invented", [
    (_seg(0.83, -0.97), True),   # "Thank you." after an answer (measured)
    (_seg(0.46, -1.13), True),   # "and..." after the Ogg STAR answer (measured)
    (_seg(0.26, -0.67), False),  # the weakest real segment measured
    (_seg(0.05, -1.5), False),   # hard to decode, but the model is sure it is speech
    (_seg(0.7, -0.3, [_fw_word(" Thank", 19.6, 19.62, 0.03), _fw_word(" you.", 19.62, 19.64, 0.9)]), True),
    (_seg(0.7, -0.3, [_fw_word(" Yes,", 1.0, 1.3, 0.9), _fw_word(" sure.", 1.3, 1.7, 0.8)]), False),
])
def test_hallucination_guard(segment, invented):  # noqa: ANN001
    assert guards.is_hallucination(segment) is invented


def _segment(words: list[Word]) -> Segment:
    return Segment(0, words[0].start, words[-1].end, " ".join(w.text for w in words), tuple(words))


def test_trim_tail_drops_words_past_the_end_and_zero_length_tail_words():
    real = [Word("customers", 15.2, 15.4, 0.99), Word("complaining.", 15.4, 16.0, 0.98)]
    late = [Word("Thank", 16.48, 16.5, 0.03), Word("you.", 16.5, 16.66, 0.98)]
    kept = guards.trim_tail([_segment(real), _segment(late)], duration=16.93, speech_end=16.3)
    assert [s.text for s in kept] == ["customers complaining."]
    zero = [Word("So", 1.0, 1.2, 0.9), Word("yeah", 1.2, 1.3, 0.9), Word("bye.", 1.3, 1.3, 0.2)]
    kept = guards.trim_tail([_segment(zero)], duration=2.0, speech_end=2.0)
    assert kept[0].text == "So yeah" and kept[0].end == 1.3
    past = [Word("end", 1.0, 1.2, 0.9), Word("over", 1.9, 2.4, 0.9)]
    assert guards.trim_tail([_segment(past)], duration=2.0, speech_end=2.4)[0].words[-1].end == 2.0


def test_uncovered_finds_speech_without_words():
    words = [Word("a", 0.5, 1.0, 1.0), Word("b", 1.1, 4.0, 1.0)]
    assert guards.uncovered([(0.4, 4.2)], words) == []
    assert guards.uncovered([(0.4, 4.2), (6.0, 9.0)], words) == [(6.0, 9.0)]
    assert guards.uncovered([(0.4, 7.0)], words) == [(4.3, 7.0)]


def test_wer_normalises_spelling_and_counts_invented_words():
    assert wer.score("ten of clubs", "10 of clubs.").wer == 0
    assert wer.score("sixty percent and mister smith", "60% and Mr. Smith").wer == 0
    assert wer.score("cold hearted", "Cold-hearted, um").wer == 0
    s = wer.score("he might even have been made amiable himself", "He might have been made amiable himself. Thank you.")
    assert (s.deletions, s.insertions, s.inserted_past_end) == (1, 2, 2)
    assert s.wer == pytest.approx(3 / 8)
    lost = wer.score("after that we dropped half of them", "After that we dropped")
    assert (lost.deleted_at_end, lost.inserted_past_end) == (3, 0)
