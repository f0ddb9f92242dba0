"""Real faster-whisper (bundled tiny.en) on recorded human speech: accuracy with a tolerance, the same
transcript on every run, nothing invented past the end, pauses measured from the audio.

The clips in tests/fixtures/speech are recorded speech with reference transcripts (see LICENSES and
refs.json there). Measured on this machine with the shipped decode options: 2 errors over 95 reference
words (WER 0.021: "a more a amiable" read as "a more amiable", "clubs" heard as "clothes"). The
threshold, 0.08, is the issue's target and leaves room for another CPU decoding a word differently.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobs import wer
from jobs.delivery import analyze_delivery
from jobs.stt import decode_options, get_stt

SPEECH = Path(__file__).resolve().parents[2] / "fixtures" / "speech"
FIXTURES = SPEECH.parent
REFS = json.loads((SPEECH / "refs.json").read_text())
MAX_WER = 0.08
TAIL_SCRIPT = ("Well, um, I led the team that rebuilt our payment service. We had, uh, a lot of timeouts. I "
               "measured every call and found a slow query. I added an index and a small cache. After that, "
               "the timeouts went away and customers stopped complaining.")


@pytest.fixture(scope="module")
def star():
    return get_stt().transcribe(str(FIXTURES / "answer_star.wav"))


@pytest.fixture(scope="module")
def tail():
    return get_stt().transcribe(str(FIXTURES / "answer_tail.flac"))


@pytest.fixture(scope="module")
def transcripts():
    stt = get_stt()
    return {name: stt.transcribe(str(SPEECH / name)) for name in REFS}


def test_word_error_rate_over_the_recorded_clips_is_within_tolerance(transcripts):
    scores = {name: wer.score(ref["transcript"], transcripts[name].text) for name, ref in REFS.items()}
    errors = sum(s.errors for s in scores.values())
    words = sum(s.reference_words for s in scores.values())
    detail = {name: (s.errors, transcripts[name].text) for name, s in scores.items() if s.errors}
    assert words >= 90
    assert errors / words <= MAX_WER, detail
    assert all(s.inserted_past_end == 0 and s.deleted_at_end == 0 for s in scores.values()), detail


def test_the_same_audio_gives_the_same_transcript_every_time(transcripts):
    stt = get_stt()
    runs = [transcripts["jfk.flac"].to_dict()] + [stt.transcribe(str(SPEECH / "jfk.flac")).to_dict() for _ in range(2)]
    assert runs[0] == runs[1] == runs[2]  # text, segments and every word timestamp


def test_decoding_is_deterministic_and_guarded():
    options = decode_options()
    assert options["temperature"] == 0.0  # no random fallback
    assert options["word_timestamps"] and options["initial_prompt"]
    assert options["no_speech_threshold"] and options["log_prob_threshold"] and options["compression_ratio_threshold"]


def test_nothing_is_invented_after_the_answer_ends(tail):
    # Without the guards tiny.en decoded this answer's last 0.28 s as a new window: "... complaining. Thank you."
    transcript = tail
    score = wer.score(TAIL_SCRIPT, transcript.text)
    assert score.inserted_past_end == 0 and score.deleted_at_end == 0, transcript.text
    assert score.wer <= 0.3, transcript.text
    assert wer.normalize(transcript.text)[-3:] == ["customers", "stopped", "complaining"]
    words = transcript.words
    assert all(w.end <= transcript.duration for w in words)
    assert words[-1].end - words[-1].start > 0.03


def test_the_last_sentence_is_kept_and_fillers_survive(tail):
    transcript = tail
    # Every stretch of speech the VAD heard has words in it, the last one included.
    last_speech_end = transcript.speech[-1][1]
    assert transcript.words[-1].end >= last_speech_end - 1.0
    tokens = {w.text.lower().strip(",.") for w in transcript.words}
    assert "um" in tokens


def test_pauses_are_measured_from_the_audio(transcripts, star):
    # The JFK clip has ~1.1 s silences after "Americans" and after "not"; Whisper's word timestamps
    # stretch the words over them (longest word gap 0.32 s).
    jfk = transcripts["jfk.flac"]
    delivery = analyze_delivery(jfk.words, jfk.duration, jfk.speech)
    assert 0.9 <= delivery["pauses"]["longest_seconds"] <= 1.3
    # The STAR fixture has a 2.0 s and a 3.5 s pause of digital silence.
    pauses = analyze_delivery(star.words, star.duration, star.speech)["pauses"]
    assert pauses["count_1_5s"] == 2 and pauses["count_3s"] == 1
    assert [round(p["seconds"]) for p in pauses["items"]] == [2, 3]
    assert 3.2 <= pauses["longest_seconds"] <= 3.7


def test_speech_the_decoder_skipped_is_decoded_again(star):
    # Make the first pass lose its last segment, as the filler prompt sometimes made tiny.en do with an
    # answer's last sentence; the VAD still hears that speech, so it is decoded on its own.
    from jobs.stt import FasterWhisperSTT

    shared = get_stt()

    class LosesTheEnd(FasterWhisperSTT):
        passes = 0

        def _decode(self, audio, chunks, options):  # noqa: ANN001, ANN202
            self.passes += 1
            decoded = list(super()._decode(audio, chunks, options))
            return iter(decoded[:-1] if self.passes == 1 else decoded)

    stt = LosesTheEnd(whisper=shared._model)
    seen = []
    transcript = stt.transcribe(str(FIXTURES / "answer_star.wav"), on_segment=seen.append)
    normal = star
    assert stt.passes >= 2
    assert wer.normalize(transcript.text)[-4:] == wer.normalize(normal.text)[-4:] == ["latency", "by", "sixty", "percent"]
    assert seen == transcript.segments and [s.id for s in seen] == list(range(len(seen)))
