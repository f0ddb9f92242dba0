"""Local agreement (jobs.live_stt) on scripted hypotheses, and the growing-recording decoder."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from jobs.live_stt import SAMPLE_RATE, GrowingDecoder, LiveTranscriber, LocalAgreement, decode_whole, words_to_transcript
from jobs.stt import Word


def _words(text: str, start: float = 0.0, step: float = 0.4) -> list[Word]:
    return [Word(t, round(start + i * step, 3), round(start + i * step + 0.3, 3), 0.9) for i, t in enumerate(text.split())]


def test_only_what_two_hypotheses_agree_on_is_committed() -> None:
    la = LocalAgreement()
    assert la.insert(_words("at the")) == []
    assert [w.text for w in la.tentative] == ["at", "the"]
    assert [w.text for w in la.insert(_words("at the time our"))] == ["at", "the"]
    # A revised tail: "our" became "hour"; only the agreeing prefix "time" is committed.
    assert [w.text for w in la.insert(_words("at the time, hour cache"))] == ["time,"]
    assert [w.text for w in la.tentative] == ["hour", "cache"]
    assert [w.text for w in la.insert_final(_words("at the time our cache was slow"))] == ["our", "cache", "was", "slow"]
    assert [w.text for w in la.committed] == ["at", "the", "time,", "our", "cache", "was", "slow"]


def test_words_re_decoded_at_the_commit_point_are_not_committed_twice() -> None:
    la = LocalAgreement(_words("we cut latency"))
    # A decode after a trim starts slightly before the last committed word and repeats it.
    hyp = [Word("latency", 0.85, 1.1, 0.9), *_words("by half", start=1.2)]
    la.insert(hyp)
    assert [w.text for w in la.insert(hyp)] == ["by", "half"]


class _Scripted:
    """Decodes by looking the buffer's absolute span up in a fixed word list."""

    def __init__(self, words: list[Word]) -> None:
        self.words = words
        self.offset = 0.0
        self.calls: list[float] = []
        self.contexts: list[str] = []

    def __call__(self, audio: np.ndarray, context: str, until: float | None = None) -> tuple[list[Word], list[tuple[float, float]]]:
        length = len(audio) / SAMPLE_RATE
        self.calls.append(length)
        self.contexts.append(context)
        seen = [Word(w.text, w.start - self.offset, w.end - self.offset, 1.0) for w in self.words
                if w.start >= self.offset and w.end <= self.offset + length]
        spans = [(s[0].start, s[-1].end) for s in (seen[j:j + 5] for j in range(0, len(seen), 5))]
        return seen, spans


def test_the_buffer_is_trimmed_at_committed_segment_ends_and_finish_commits_the_tail() -> None:
    script = _words(" ".join(f"w{i}" for i in range(80)), step=0.5)  # 40 s of speech
    fake = _Scripted(script)
    live = LiveTranscriber(fake, trim_seconds=8.0)
    audio = np.zeros(41 * SAMPLE_RATE, np.float32)
    committed: list[str] = []
    for t in range(2, 41):
        fake.offset = live.offset
        update = live.step(audio[: t * SAMPLE_RATE])
        committed += [w.text for w in update.committed]
        assert update.buffer_seconds <= 8.0 + 6.0, "the buffer stays near the trim length"
    fake.offset = live.offset
    committed += [w.text for w in live.finish(audio).committed]
    assert committed == [w.text for w in script]
    assert max(fake.calls) < 16
    # After a trim, the committed words no longer in the buffer are the decoder's context.
    assert fake.contexts[-1].endswith(" ".join(w.text for w in script if w.end <= live.offset)[-40:])


def test_a_resumed_transcriber_keeps_the_committed_words() -> None:
    live = LiveTranscriber(_Scripted([]), offset=3.0, agreement=LocalAgreement(_words("one two")))
    again = LiveTranscriber.resume(_Scripted([]), live.state())
    assert again.offset == 3.0 and again.committed == live.committed


def test_segments_of_a_live_transcript_end_at_sentences_and_long_pauses() -> None:
    words = [*_words("So. We cached it."), *_words("It worked", start=5.0)]
    t = words_to_transcript(words, 6.0, [(0.0, 1.5), (5.0, 5.8)])
    assert [s.text for s in t.segments] == ["So.", "We cached it.", "It worked"]
    assert t.text == "So. We cached it. It worked" and t.duration == 6.0 and t.speech == [(0.0, 1.5), (5.0, 5.8)]


def test_a_growing_recording_decodes_to_the_same_audio_as_the_whole_file(fixtures_dir: Path) -> None:
    for name in ("answer_star.webm", "answer_short.wav"):
        raw = (fixtures_dir / name).read_bytes()
        dec = GrowingDecoder()
        lengths = [len(dec.decode(raw[: len(raw) * k // 12])) for k in range(1, 12)]
        assert lengths == sorted(lengths) and lengths[0] >= 0
        final = dec.decode(raw, final=True)
        whole = decode_whole(raw)
        assert abs(len(final) - len(whole)) <= SAMPLE_RATE // 20, name
    assert len(decode_whole(b"")) == 0 and len(GrowingDecoder().decode(b"\x1aE\xdf")) == 0


def test_speech_regions_of_a_growing_recording_match_those_of_the_whole(fixtures_dir: Path) -> None:
    from jobs import voice_activity as vad
    from jobs.live_stt import LiveVAD

    audio = decode_whole((fixtures_dir / "answer_star.wav").read_bytes())
    live = LiveVAD()
    for end in range(SAMPLE_RATE, len(audio), SAMPLE_RATE * 3 // 4):
        live.update(audio[:end])
    regions = live.regions(audio)
    whole = vad.speech_regions(vad.speech_probabilities(audio), len(audio) / SAMPLE_RATE)
    assert abs(len(regions) - len(whole)) <= 1
    assert sum(b - a for a, b in regions) == pytest.approx(sum(b - a for a, b in whole), rel=0.1)


def test_decodes_that_never_agree_still_lose_no_words_when_the_buffer_overflows() -> None:
    script = _words(" ".join(f"w{i}" for i in range(70)), step=0.5)  # 35 s of speech
    fake = _Scripted(script)
    flip = {"n": 0}

    def disagreeing(audio: np.ndarray, context: str, until: float | None = None) -> tuple[list[Word], list[tuple[float, float]]]:
        words, _ = fake(audio, context)
        flip["n"] += 1
        # Every other decode hears the first word differently: nothing is ever agreed on, one segment.
        if words and flip["n"] % 2:
            words[0] = Word(words[0].text + "x", words[0].start, words[0].end, 1.0)
        return words, [(words[0].start, words[-1].end)] if words else []

    live = LiveTranscriber(disagreeing, trim_seconds=8.0)
    audio = np.zeros(36 * SAMPLE_RATE, np.float32)
    for t in range(2, 36):
        fake.offset = live.offset
        update = live.step(audio[: t * SAMPLE_RATE])
        assert update.buffer_seconds <= 25.0
    fake.offset = live.offset
    live.finish(audio)
    assert [w.text.rstrip("x") for w in live.committed] == [w.text for w in script]


def _heard(regions: list[tuple[float, float]], t: float) -> list[tuple[float, float]]:
    """The speech regions a VAD that has looked at `t` seconds reports (the last one open)."""
    return [(a, min(b, t)) for a, b in regions if a < t]


def test_an_utterance_closed_by_a_pause_is_decoded_whole_once_and_its_words_never_change() -> None:
    first = _words(" ".join(f"a{i}" for i in range(8)), step=0.5)  # speech 0-3.8 s
    second = _words(" ".join(f"b{i}" for i in range(6)), start=5.0, step=0.5)  # speech 5.0-7.8 s
    speech = [(0.0, 3.8), (5.0, 7.8)]
    fake = _Scripted(first + second)
    live = LiveTranscriber(fake)
    audio = np.zeros(9 * SAMPLE_RATE, np.float32)

    def step(t: float):  # noqa: ANN202
        fake.offset = live.offset
        return live.step(audio[: int(t * SAMPLE_RATE)], _heard(speech, t), t)

    for t in (1.0, 2.0, 3.0, 4.0):
        update = step(t)
        # Inside an open utterance the words are shown, not committed: the whole decode at its end decides.
        assert update.committed == [] and update.tentative and live.committed == []
    closed = step(4.5)  # 0.7 s of pause after 3.8 s of speech closes the utterance
    assert [w.text for w in closed.committed] == [w.text for w in first]
    assert fake.calls[-1] == pytest.approx(4.15, abs=0.01), "the closed utterance alone, cut inside the pause"
    assert live.offset == pytest.approx(4.15, abs=0.01)
    calls = len(fake.calls)
    assert step(4.9).decoded is False and len(fake.calls) == calls, "no speech since the last decode: no decode"
    kept = list(live.committed)
    for t in (6.0, 7.0, 8.0):
        update = step(t)
        assert live.committed[: len(kept)] == kept and update.tentative
    # The later decodes start after the cut, with the committed words as the prompt.
    assert fake.calls[-1] == pytest.approx(8.0 - 4.15, abs=0.01) and fake.contexts[-1].endswith("a6 a7")
    # Finish: the latest decode heard all the speech (only silence came after it), so nothing is decoded again.
    calls = len(fake.calls)
    live.finish(audio[: int(8.5 * SAMPLE_RATE)], speech)
    assert len(fake.calls) == calls
    assert [w.text for w in live.committed] == [w.text for w in first + second]


def test_finish_decodes_only_the_open_utterance_after_the_last_cut() -> None:
    first = _words(" ".join(f"a{i}" for i in range(8)), step=0.5)
    second = _words(" ".join(f"b{i}" for i in range(6)), start=5.0, step=0.5)
    speech = [(0.0, 3.8), (5.0, 7.8)]
    fake = _Scripted(first + second)
    live = LiveTranscriber(fake)
    audio = np.zeros(8 * SAMPLE_RATE, np.float32)
    for t in (1.0, 2.0, 3.0, 4.0, 4.6, 6.0):
        fake.offset = live.offset
        live.step(audio[: int(t * SAMPLE_RATE)], _heard(speech, t), t)
    fake.offset = live.offset
    update = live.finish(audio, speech)  # speech went on after the last decode (6.0 s)
    assert fake.calls[-1] == pytest.approx(8.0 - live.offset, abs=0.01) and live.offset > 4.0
    assert [w.text for w in update.committed] == [w.text for w in second]
    assert [w.text for w in live.committed] == [w.text for w in first + second]


def test_a_closed_utterance_is_decoded_by_the_closing_decoder_and_previews_and_finish_are_not() -> None:
    first = _words(" ".join(f"a{i}" for i in range(8)), step=0.5)
    second = _words(" ".join(f"b{i}" for i in range(6)), start=5.0, step=0.5)
    speech = [(0.0, 3.8), (5.0, 7.8)]
    preview, closing = _Scripted(first + second), _Scripted(first + second)
    live = LiveTranscriber(preview, close_decode=closing)
    audio = np.zeros(8 * SAMPLE_RATE, np.float32)
    for t in (1.0, 2.0, 3.0, 4.0, 4.6, 6.0):
        preview.offset = closing.offset = live.offset
        live.step(audio[: int(t * SAMPLE_RATE)], _heard(speech, t), t)
    # One closing decode: the first utterance, whole, cut inside its pause; every other decode is a preview.
    assert closing.calls == [pytest.approx(4.2, abs=0.01)] and len(preview.calls) == 5
    preview.offset = closing.offset = live.offset
    live.finish(audio, speech)
    assert len(closing.calls) == 1 and len(preview.calls) == 6, "finish decodes with the preview (greedy) decoder"
    assert [w.text for w in live.committed] == [w.text for w in first + second]
