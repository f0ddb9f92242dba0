"""Live transcription of a recording that is still growing: commit on silence (whisper_streaming's
VAC, WhisperLive), with the local-agreement policy of whisper_streaming (LocalAgreement-2) for long
stretches without a pause, on the model and decode options of `jobs.stt`.

Silero VAD (`LiveVAD`) follows the recording. A pause after enough speech closes the utterance: it is
decoded once, whole, with beam search, and all its words are committed (they never change again); the
buffer then starts after it, so each decode covers only the open utterance. Inside an open utterance a decode is
shown as the tentative tail; only when an utterance runs past `LONG_SECONDS` without a closing pause
does local agreement commit the longest common prefix of two decodes, and the buffer is trimmed at
the end of a segment Whisper has finished that is entirely committed. A step with no new speech
decodes nothing. `finish` decodes only the open utterance and commits all of it.

Each decode uses `jobs.stt.decode_options()` (deterministic, guarded) with the filler prompt followed
by the committed text that was trimmed out of the buffer (whisper_streaming's context prompt), and
`jobs.stt`'s hallucination guards. Speech regions (for pauses) come from the same Silero VAD as
`jobs.stt`, run on the new audio only as it arrives.

Pure logic: no Flask, no Dramatiq, no database. `LiveTranscriber` takes a `Decode` function
(`whisper_decode(stt)` in production, a scripted one in tests).
"""
from __future__ import annotations

import io
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from jobs import voice_activity as vad
from jobs.stt import FILLER_PROMPT, FasterWhisperSTT, Segment, Transcript, Word, decode_options

SAMPLE_RATE = 16_000
# Trim the buffer once it is longer than this (a Whisper window is 30 s; shorter buffers decode faster
# and keep the text decoder's work small).
TRIM_SECONDS = 12.0
# With no committed segment end to trim at, cut hard before the buffer outgrows one Whisper window.
HARD_TRIM_SECONDS = 24.0
# A word that ends this close to the end of the audio decoded so far is never committed yet: Whisper
# guesses at a cut-off edge, and two decodes can guess the same wrong word there.
EDGE_SECONDS = 1.0
# A pause this long after speech closes an utterance: it is decoded once, whole, and committed
# (whisper_streaming's VAC closes at 0.5 s of silence). Shorter pauses sit between the sentences of
# synthetic answers and inside spoken ones: cutting there loses the context Whisper needs.
CLOSE_SECONDS = 0.6
# A closed utterance's decode is the one whose words are kept: beam search (3 beams) rather than the
# greedy decode of the previews. Greedy, the live transcript of the bench's answers had WER 0.096 where the
# one-shot transcript of the same audio had 0.061 (Whisper decodes each utterance without the audio after
# it; the one-shot decode hears up to 30 s around each word); with 3 beams 0.067 (5 beams: the same words).
# Closed utterances are few (one every few seconds of speech) and decoded while the person still speaks;
# `finish` stays greedy, as the wait after stop is the one people feel.
CLOSE_BEAM_SIZE = 3
# An utterance this long closes at a shorter pause (one at least half this far into it): the pauses
# between sentences said in one breath; the piece decoded keeps several seconds of context.
LONG_SECONDS = 12.0
LONG_CLOSE_SECONDS = 0.3
# A piece shorter than this is not closed (a word or two decoded alone lose Whisper's context: "ask"
# alone came out "Asp!"); its pause stays inside the utterance.
MIN_UTTERANCE_SECONDS = 3.0
# whisper_streaming: new words are those that start after the last committed word (minus this slack).
_SLACK = 0.1
_MAX_NGRAM = 5
_WORD = re.compile(r"[^\w']+")


_PROMPT_CHARS = 200

# decode(buffer, context, until) -> (words, segment spans), times relative to the buffer's start.
# `until`: where the speech in the buffer ends (None: unknown); the decode may stop once it has heard that far.
Decode = Callable[..., tuple[list[Word], list[tuple[float, float]]]]
# A decode stops after the segment that reaches this close to where the speech ends: with word timestamps,
# faster-whisper otherwise goes on with a second 30 s window from the last word's end (the cut-off word or
# silence), which costs a whole encoder pass (~0.6 s on 2 cores) for words the next step hears anyway.
_STOP_BEFORE_END = 0.6


def whisper_decode(stt: FasterWhisperSTT, beam_size: int | None = None) -> Decode:
    """One pass of the model over a buffer, with `jobs.stt`'s options and hallucination guards (no VAD
    gating and no second pass: a live buffer ends mid-speech by design); `beam_size`: instead of the
    configured one."""
    beam = beam_size or stt.beam_size

    def decode(buf: np.ndarray, context: str, until: float | None = None) -> tuple[list[Word], list[tuple[float, float]]]:
        prompt = f"{FILLER_PROMPT} {context}" if context else FILLER_PROMPT
        length = round(len(buf) / SAMPLE_RATE, 3)
        whole = [vad.Chunk(0.0, length, 0.0)]
        stop = min(length, until if until is not None else length) - _STOP_BEFORE_END
        raws = []
        for r in stt._decode(buf, whole, decode_options(beam, prompt=prompt)):  # noqa: SLF001 - jobs.stt's own pass
            raws.append(r)
            if r.end >= stop:
                break  # faster-whisper decodes lazily: the next window is never started
        return [w for r in raws for w in r.words], [(r.start, r.end) for r in raws]

    return decode


def whisper_decode_final(stt: FasterWhisperSTT) -> Decode:
    """A second try at a tail the single pass found empty: `jobs.stt`'s whole treatment (VAD gating,
    guards, speech the decoder skipped decoded again, without the prompt if need be)."""

    def decode(buf: np.ndarray, context: str, until: float | None = None) -> tuple[list[Word], list[tuple[float, float]]]:
        t = stt.transcribe(buf)
        return t.words, [(s.start, s.end) for s in t.segments]

    return decode


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
        self._horizon: float | None = None  # the previous hypothesis' horizon

    def _fresh(self, hypothesis: Sequence[Word]) -> list[Word]:
        new = [w for w in hypothesis if w.start > self.last_time - _SLACK and norm(w.text)]
        # Words re-decoded around the last commit point: drop an n-gram that repeats the committed tail.
        if new and self.committed and abs(new[0].start - self.last_time) < 1.0:
            for n in range(min(len(self.committed), len(new), _MAX_NGRAM), 0, -1):
                if [norm(w.text) for w in self.committed[-n:]] == [norm(w.text) for w in new[:n]]:
                    return new[n:]
        return new

    def insert(self, hypothesis: Sequence[Word], horizon: float | None = None) -> list[Word]:
        """Take a new hypothesis (absolute times); return the words it commits (none ending after
        `horizon`)."""
        new = self._fresh(hypothesis)
        commit: list[Word] = []
        for a, b in zip(new, self.tentative):
            if norm(a.text) != norm(b.text):
                break
            # Both decodes must have heard a while past the word, not guessed it at their cut-off edge.
            if horizon is not None and (a.end > horizon or (self._horizon is not None and b.end > self._horizon)):
                break
            commit.append(a)
        self._horizon = horizon
        self.tentative = new[len(commit):]
        self._commit(commit)
        return commit

    def propose(self, hypothesis: Sequence[Word], horizon: float | None = None) -> None:
        """Take a new hypothesis as the tentative tail only (the utterance will be decoded whole when it
        closes; its words are committed then)."""
        self.tentative = self._fresh(hypothesis)
        self._horizon = horizon

    def insert_final(self, hypothesis: Sequence[Word]) -> list[Word]:
        """The last hypothesis: everything after the committed words is committed."""
        new = self._fresh(hypothesis)
        self.tentative = []
        self._commit(new)
        return new

    def commit_forced(self, words: list[Word]) -> None:
        """Commit a prefix of the tentative words without a second opinion (buffer overflow)."""
        n = len(words)
        if n and self.tentative[:n] == words:
            self.tentative = self.tentative[n:]
            self._commit(words)

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
    decoded: bool = True  # False: the step found no new speech and decoded nothing


Regions = Sequence[tuple[float, float]]


@dataclass
class LiveTranscriber:
    """Local agreement inside an utterance, commit on silence between utterances.

    With speech regions (Silero VAD, `LiveVAD`) a step (1) skips the decode when no speech arrived since
    the last one; (2) once a pause of `close_seconds` follows speech in the buffer, decodes that closed
    utterance once, whole, and commits all of it (whisper_streaming's VAC and WhisperLive commit on
    silence the same way), moving the buffer's start past it; (3) otherwise decodes the open utterance
    and commits what two decodes agree on (long stretches without a pause)."""

    decode: Decode
    offset: float = 0.0  # absolute time of the buffer's first sample
    agreement: LocalAgreement = field(default_factory=LocalAgreement)
    trim_seconds: float = TRIM_SECONDS
    final_decode: Decode | None = None  # for `finish` when `decode` finds nothing in the tail
    close_decode: Decode | None = None  # for a closed utterance, whose words are kept (default: `decode`)
    close_seconds: float = CLOSE_SECONDS
    long_seconds: float = LONG_SECONDS
    long_close_seconds: float = LONG_CLOSE_SECONDS
    min_utterance: float = MIN_UTTERANCE_SECONDS
    steps: int = 0
    _heard: int = 0  # samples of audio the latest decode heard (absolute)

    @classmethod
    def resume(cls, decode: Decode, state: dict | None, **kw: Any) -> "LiveTranscriber":
        """Continue from `state()` saved by an earlier attempt: its committed words stay as they were."""
        if not state:
            return cls(decode, **kw)
        words = [Word(**w) for w in state.get("committed", [])]
        return cls(decode, offset=float(state.get("offset", 0.0)), agreement=LocalAgreement(words), **kw)

    def state(self) -> dict[str, Any]:
        return {"offset": self.offset, "committed": [asdict(w) for w in self.agreement.committed]}

    @property
    def committed(self) -> list[Word]:
        return self.agreement.committed

    def _context(self) -> str:
        """The committed text before the buffer (it is no longer heard, so it is given as a prompt)."""
        before = [w.text for w in self.agreement.committed if w.end <= self.offset + 0.01]
        return " ".join(before)[-_PROMPT_CHARS:].lstrip()

    def _decode(self, audio: np.ndarray, using: Decode | None = None, end: float | None = None,
                until: float | None = None) -> tuple[list[Word], list[tuple[float, float]]]:
        stop = len(audio) if end is None else int(round(end * SAMPLE_RATE))
        buf = audio[int(round(self.offset * SAMPLE_RATE)):stop]
        if len(buf) < SAMPLE_RATE // 10:
            return [], []
        decode = using or self.decode
        words, spans = decode(buf, self._context(), until=None if until is None else max(0.0, until - self.offset))
        limit = len(buf) / SAMPLE_RATE + self.offset
        return [shifted(w, self.offset) for w in words if w.start + self.offset < limit], spans

    def _update(self, commit: list[Word], total: float, decoded: bool = True) -> Update:
        return Update(commit, list(self.agreement.tentative), round(total, 3), round(total - self.offset, 3), decoded)

    def step(self, audio: np.ndarray, speech: Regions | None = None, speech_seconds: float | None = None) -> Update:
        """`audio`: the whole recording so far (16 kHz mono float32); `speech`: its speech regions as far
        as the VAD has looked (`speech_seconds`, default all of it), absolute seconds; None: decode the
        buffer every step, local agreement only."""
        self.steps += 1
        total = len(audio) / SAMPLE_RATE
        if speech is not None:
            closed = self._closed_utterance(speech, min(total, speech_seconds if speech_seconds is not None else total))
            if closed is not None:
                cut, speech_end = closed
                words, _ = self._decode(audio, self.close_decode, end=cut, until=speech_end)
                commit = self.agreement.insert_final(words)
                self._cut(cut)
                self._heard = int(round(cut * SAMPLE_RATE))
                return self._update(commit, total)
            if not _speech_after(speech, self._heard / SAMPLE_RATE, self.offset):
                return self._update([], total, decoded=False)  # nothing new was said: nothing to decode
        self._heard = len(audio)
        words, segments = self._decode(audio, until=_speech_end(speech, total) if speech is not None else None)
        if speech is not None and total - self.offset < self.long_seconds:
            self.agreement.propose(words, horizon=total - EDGE_SECONDS)  # shown; committed when it closes
            return self._update([], total)
        commit = self.agreement.insert(words, horizon=total - EDGE_SECONDS)
        self._trim(segments, total)
        return self._update(commit, total)

    def finish(self, audio: np.ndarray, speech: Regions | None = None) -> Update:
        """Decode the open tail once more and commit all of it (the latest step's hypothesis if that step
        already heard all the speech: the same audio decodes to the same words)."""
        total = len(audio) / SAMPLE_RATE
        heard = self._heard / SAMPLE_RATE
        nothing_new = (len(audio) - self._heard < SAMPLE_RATE // 10
                       or (speech is not None and not _speech_after(speech, heard, self.offset)))
        if self.steps and nothing_new:
            commit = self.agreement.insert_final(self.agreement.tentative)
            return self._update(commit, total)
        if speech is not None and not _speech_after(speech, self.offset, self.offset):
            return self._update(self.agreement.insert_final([]), total)  # the tail is silence
        until = _speech_end(speech, total) if speech is not None else None
        words, _ = self._decode(audio, until=until)
        if not words and self.final_decode is not None:
            words, _ = self._decode(audio, self.final_decode)  # e.g. the prompt made the model end too early
        commit = self.agreement.insert_final(words) if words else self.agreement.insert_final(self.agreement.tentative)
        self._heard = len(audio)
        return self._update(commit, total)

    def _closed_utterance(self, speech: Regions, total: float) -> tuple[float, float] | None:
        """(where to cut, where its speech ends) of the latest utterance in the buffer that a pause of
        `close_seconds` has closed (or, once the buffer is `long_seconds` long, a shorter pause of
        `long_close_seconds`: between sentences said without a real pause), or None. `total`: how far
        the VAD has looked."""
        regions = [(a, b) for a, b in speech if b > self.offset + 0.05]
        if not regions:
            return None
        gaps = [(b0, a1) for (_, b0), (a1, _) in zip(regions, regions[1:])] + [(regions[-1][1], total)]
        gaps = [(b0, a1) for b0, a1 in gaps if b0 - self.offset >= self.min_utterance and b0 < total - 0.05]
        closed = [(b0, a1) for b0, a1 in gaps if a1 - b0 >= self.close_seconds]
        if not closed and total - self.offset >= self.long_seconds:
            closed = [(b0, a1) for b0, a1 in gaps if a1 - b0 >= self.long_close_seconds
                      and b0 - self.offset >= self.long_seconds / 2]
        if not closed:
            return None
        b0, a1 = closed[-1]
        # Cut inside the pause, keeping some of it (Whisper hears the end of a word better with silence after it).
        return round(min(b0 + 0.4, (b0 + a1) / 2), 3), b0

    def _trim(self, segments: list[tuple[float, float]], total: float) -> None:
        length = total - self.offset
        if length <= self.trim_seconds:
            return
        last = self.agreement.last_time
        # The end of the latest segment (not the one still being spoken) that is wholly committed.
        ends = [round(end + self.offset, 3) for _, end in segments[:-1]]
        done = [e for e in ends if self.offset < e <= last + 0.05]
        if done:
            self._cut(max(done))
        elif length > HARD_TRIM_SECONDS:
            # One long segment: cut after the last committed word; with nothing committed in the buffer
            # (decodes too far apart to agree), commit what the latest decode heard well before the
            # end rather than let the buffer outgrow a Whisper window. Nothing heard is ever dropped.
            if last <= self.offset + 1.0:
                horizon = total - self.trim_seconds / 2
                forced = [w for w in self.agreement.tentative if w.end <= horizon]
                self.agreement.commit_forced(forced)
                last = self.agreement.last_time
            if last > self.offset:
                self._cut(last)

    def _cut(self, at: float) -> None:
        self.offset = round(max(self.offset, at), 3)



def _speech_after(speech: Regions, t: float, offset: float) -> bool:
    """Whether any speech (after the buffer's start) goes on past `t` (a little before it, for the
    VAD's frame and a region's end rounding)."""
    return any(b > max(t, offset) + 0.05 and b - a > 0 for a, b in speech)


def _speech_end(speech: Regions, total: float) -> float:
    return min(total, speech[-1][1]) if speech else total


class LiveVAD:
    """Speech regions of a growing recording: Silero run on each new stretch of audio only, with a
    second of the audio before it so the model's state has settled by the new part."""

    _CONTEXT = 1.0

    def __init__(self, min_new: float = 0.25) -> None:
        self._probs = np.zeros(0, np.float32)
        self.min_new = min_new  # seconds of new audio worth a VAD call

    @property
    def seconds(self) -> float:
        """How far the VAD has looked."""
        return len(self._probs) * vad.FRAME_SECONDS

    def heard(self) -> list[tuple[float, float]]:
        """The speech regions as far as the VAD has looked (the last one open if speech goes on)."""
        return vad.speech_regions(self._probs, self.seconds)

    def update(self, audio: np.ndarray) -> None:
        done = len(self._probs) * vad.FRAME_SECONDS
        window = int(round(vad.FRAME_SECONDS * SAMPLE_RATE))
        usable = (len(audio) // window) * window
        if usable / SAMPLE_RATE - done < self.min_new:
            return
        ctx_frames = int(min(done, self._CONTEXT) / vad.FRAME_SECONDS)
        start = (len(self._probs) - ctx_frames) * window
        probs = vad.speech_probabilities(audio[start:usable])[ctx_frames:]
        self._probs = np.concatenate([self._probs, probs])

    def regions(self, audio: np.ndarray) -> list[tuple[float, float]]:
        """All speech regions, after the rest of `audio` has been looked at."""
        window = int(round(vad.FRAME_SECONDS * SAMPLE_RATE))
        done = len(self._probs) * window
        if len(audio) > done:
            ctx_frames = int(min(done / SAMPLE_RATE, self._CONTEXT) / vad.FRAME_SECONDS)
            start = done - ctx_frames * window
            self._probs = np.concatenate([self._probs, vad.speech_probabilities(audio[start:])[ctx_frames:]])
        return vad.speech_regions(self._probs, len(audio) / SAMPLE_RATE)


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


def words_to_transcript(words: Sequence[Word], duration: float, speech: Sequence[tuple[float, float]] = (),
                        language: str = "en", pause: float = 1.5) -> Transcript:
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
    return Transcript(text=text, language=language, duration=round(duration, 3), segments=segments,
                      speech=[(float(a), float(b)) for a, b in speech])
