"""Live transcription of a recording that is still growing: the local-agreement policy of
whisper_streaming (LocalAgreement-2), on the model and decode options of `jobs.stt`.

Each step decodes the audio buffer (everything after the last trim point) and compares the new
hypothesis with the previous one: the longest common prefix of the two, after the words already
committed, is committed and never changes again; the rest is the tentative tail, shown but revisable.
The buffer is trimmed at the end of a segment Whisper has finished and that is entirely committed
(whisper_streaming trims at sentence ends; WhisperLive moves its offset past completed segments), so a
decode never covers more than ~one Whisper window however long the answer. `finish` decodes only
the tail after the last trim and commits all of it.

Pure logic: no Flask, no Dramatiq, no database. The transcriber only needs an object with the
`transcribe(audio) -> jobs.stt.Transcript` of `jobs.stt.FasterWhisperSTT` (tests pass a fake).
"""
from __future__ import annotations

import io
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, Sequence

import numpy as np

from jobs.stt import Segment, Transcript, Word

SAMPLE_RATE = 16_000
# Trim the buffer once it is longer than this (a Whisper window is 30 s; shorter buffers decode faster
# and keep the text decoder's work small).
TRIM_SECONDS = 12.0
# With no committed segment end to trim at, cut hard before the buffer outgrows one Whisper window.
HARD_TRIM_SECONDS = 24.0
# whisper_streaming: new words are those that start after the last committed word (minus this slack).
_SLACK = 0.1
_MAX_NGRAM = 5
_WORD = re.compile(r"[^\w']+")


class Transcriber(Protocol):
    def transcribe(self, audio: Any) -> Transcript: ...


def norm(text: str) -> str:
    """A word for comparison: case and punctuation do not make two hypotheses disagree."""
    return _WORD.sub("", text.lower())


def shifted(w: Word, offset: float) -> Word:
    return Word(text=w.text, start=round(w.start + offset, 3), end=round(w.end + offset, 3),
                probability=w.probability)


class LocalAgreement:
    """Commit the longest common prefix of the last two hypotheses (LocalAgreement-2)."""

    def __init__(self, committed: Sequence[Word] = ()) -> None:
        self.committed: list[Word] = list(committed)
        self.last_time = self.committed[-1].end if self.committed else 0.0
        self.tentative: list[Word] = []

    def _fresh(self, hypothesis: Sequence[Word]) -> list[Word]:
        new = [w for w in hypothesis if w.start > self.last_time - _SLACK and norm(w.text)]
        # Words re-decoded around the last commit point: drop an n-gram that repeats the committed tail.
        if new and self.committed and abs(new[0].start - self.last_time) < 1.0:
            for n in range(min(len(self.committed), len(new), _MAX_NGRAM), 0, -1):
                if [norm(w.text) for w in self.committed[-n:]] == [norm(w.text) for w in new[:n]]:
                    return new[n:]
        return new

    def insert(self, hypothesis: Sequence[Word]) -> list[Word]:
        """Take a new hypothesis (absolute times); return the words it commits."""
        new = self._fresh(hypothesis)
        commit: list[Word] = []
        for a, b in zip(new, self.tentative):
            if norm(a.text) != norm(b.text):
                break
            commit.append(a)
        self.tentative = new[len(commit):]
        self._commit(commit)
        return commit

    def insert_final(self, hypothesis: Sequence[Word]) -> list[Word]:
        """The last hypothesis: everything after the committed words is committed."""
        new = self._fresh(hypothesis)
        self.tentative = []
        self._commit(new)
        return new

    def _commit(self, words: list[Word]) -> None:
        if words:
            self.committed.extend(words)
            self.last_time = words[-1].end


@dataclass
class Update:
    committed: list[Word]  # newly committed by this step (append-only)
    tentative: list[Word]  # the current tail after all committed words (may change)
    audio_seconds: float
    buffer_seconds: float


@dataclass
class LiveTranscriber:
    stt: Transcriber
    offset: float = 0.0  # absolute time of the buffer's first sample
    agreement: LocalAgreement = field(default_factory=LocalAgreement)
    trim_seconds: float = TRIM_SECONDS
    steps: int = 0

    @classmethod
    def resume(cls, stt: Transcriber, state: dict | None, **kw: Any) -> "LiveTranscriber":
        """Continue from `state()` saved by an earlier attempt: its committed words stay as they were."""
        if not state:
            return cls(stt, **kw)
        words = [Word(**w) for w in state.get("committed", [])]
        return cls(stt, offset=float(state.get("offset", 0.0)), agreement=LocalAgreement(words), **kw)

    def state(self) -> dict[str, Any]:
        return {"offset": self.offset, "committed": [asdict(w) for w in self.agreement.committed]}

    @property
    def committed(self) -> list[Word]:
        return self.agreement.committed

    def _decode(self, audio: np.ndarray) -> tuple[list[Word], list[Segment]]:
        buf = audio[int(round(self.offset * SAMPLE_RATE)):]
        if len(buf) < SAMPLE_RATE // 10:
            return [], []
        transcript = self.stt.transcribe(buf)
        words = [shifted(w, self.offset) for w in transcript.words]
        return words, transcript.segments

    def step(self, audio: np.ndarray) -> Update:
        """`audio`: the whole recording so far (16 kHz mono float32)."""
        self.steps += 1
        words, segments = self._decode(audio)
        commit = self.agreement.insert(words)
        total = len(audio) / SAMPLE_RATE
        self._trim(segments, total)
        return Update(commit, list(self.agreement.tentative), round(total, 3), round(total - self.offset, 3))

    def finish(self, audio: np.ndarray) -> Update:
        """Decode the tail once more and commit all of it."""
        words, _ = self._decode(audio)
        commit = self.agreement.insert_final(words) if words else self.agreement.insert_final(self.agreement.tentative)
        total = len(audio) / SAMPLE_RATE
        return Update(commit, [], round(total, 3), round(total - self.offset, 3))

    def _trim(self, segments: list[Segment], total: float) -> None:
        length = total - self.offset
        if length <= self.trim_seconds:
            return
        last = self.agreement.last_time
        # The end of the latest segment (not the one still being spoken) that is wholly committed.
        ends = [round(s.end + self.offset, 3) for s in segments[:-1]]
        done = [e for e in ends if self.offset < e <= last + 0.05]
        if done:
            self._cut(max(done))
        elif length > HARD_TRIM_SECONDS:
            # One long segment: cut after the last committed word, or keep the last few seconds of a
            # stretch where nothing was committed (silence or noise).
            self._cut(last if last > self.offset + 1.0 else total - self.trim_seconds / 2)

    def _cut(self, at: float) -> None:
        self.offset = round(max(self.offset, at), 3)


# ---------------------------------------------------------------------------------------- audio


class GrowingDecoder:
    """16 kHz mono float32 PCM of a recording that is still growing (the bytes of the MediaRecorder
    slices received so far: their concatenation is a valid stream, cut short anywhere).

    Each call demuxes the bytes again (cheap) but decodes only the packets it has not decoded yet,
    with one decoder kept across calls; the last packet waits for the next call (it may be cut short)
    unless `final`. Anything PyAV cannot take apart incrementally is decoded whole instead."""

    def __init__(self) -> None:
        self._codec: Any = None
        self._resampler: Any = None
        self._pcm: list[np.ndarray] = []
        self._last_pts: int | None = None
        self._whole = False

    def decode(self, data: bytes, *, final: bool = False) -> np.ndarray:
        if self._whole:
            return decode_whole(data)
        try:
            return self._incremental(data, final)
        except Exception:  # noqa: BLE001 - an odd container: decode it whole from now on
            self._whole = True
            return decode_whole(data)

    def _incremental(self, data: bytes, final: bool) -> np.ndarray:
        import av

        try:
            container = av.open(io.BytesIO(data), mode="r")
        except (av.FFmpegError, OSError, ValueError):
            if final:
                raise
            return self._samples()  # not even a whole header yet
        try:
            if not container.streams.audio:
                return self._samples()
            stream = container.streams.audio[0]
            if self._codec is None:
                cc = stream.codec_context
                self._codec = av.CodecContext.create(cc.name, "r")
                if cc.extradata:
                    self._codec.extradata = cc.extradata
                self._codec.sample_rate = cc.sample_rate
                self._codec.layout = cc.layout
                if cc.format is not None:
                    self._codec.format = cc.format
                self._resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
            packets = []
            try:
                for packet in container.demux(stream):
                    if packet.size and packet.pts is not None and (self._last_pts is None or packet.pts > self._last_pts):
                        packets.append(packet)
            except (av.FFmpegError, OSError, ValueError, EOFError):
                pass  # the stream is cut short here
            if not final:
                packets = packets[:-1]
            for packet in packets:
                for frame in self._codec.decode(packet):
                    self._add(self._resampler.resample(frame))
                self._last_pts = packet.pts
            if final:
                self._add(self._resampler.resample(None))
        finally:
            container.close()
        return self._samples()

    def _add(self, frames: list) -> None:
        for f in frames:
            self._pcm.append(f.to_ndarray().reshape(-1).astype(np.float32, copy=False))

    def _samples(self) -> np.ndarray:
        if len(self._pcm) > 1:
            self._pcm = [np.concatenate(self._pcm)]
        return self._pcm[0] if self._pcm else np.zeros(0, np.float32)


def decode_whole(data: bytes) -> np.ndarray:
    """16 kHz mono float32 PCM of `data`, as far as it decodes (a cut-off last packet is dropped)."""
    import av  # PyAV

    if not data:
        return np.zeros(0, np.float32)
    out: list[np.ndarray] = []
    try:
        container = av.open(io.BytesIO(data), mode="r")
    except (av.FFmpegError, OSError, ValueError):
        return np.zeros(0, np.float32)  # not even a header yet
    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    try:
        if not container.streams.audio:
            return np.zeros(0, np.float32)
        try:
            for frame in container.decode(audio=0):
                out.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(frame))
        except (av.FFmpegError, OSError, ValueError, EOFError):
            pass  # the cut-off last packet: everything before it is good
        out.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(None))
    finally:
        container.close()
    return np.concatenate(out).astype(np.float32, copy=False) if out else np.zeros(0, np.float32)


# ------------------------------------------------------------------------------------ transcript


def words_to_transcript(words: Sequence[Word], duration: float, language: str = "en",
                        pause: float = 1.5) -> Transcript:
    """Committed words as a `Transcript`: segments end at sentence punctuation or a long pause."""
    segments: list[Segment] = []
    current: list[Word] = []

    def close() -> None:
        if current:
            text = " ".join(w.text for w in current).strip()
            segments.append(Segment(id=len(segments), start=current[0].start, end=current[-1].end, text=text,
                                    words=tuple(current)))
            current.clear()

    for i, w in enumerate(words):
        if current and w.start - current[-1].end >= pause:
            close()
        current.append(w)
        if w.text.endswith((".", "?", "!")) and i + 1 < len(words):
            close()
    close()
    text = " ".join(s.text for s in segments).strip()
    return Transcript(text=text, language=language, duration=round(duration, 3), segments=segments)
