"""A live turn: an answer transcribed while it is being recorded.

The web stores each numbered chunk the browser sends (`ChunkStore`, files under `live/<user>/<turn>/`)
and marks the turn finished; this job (on the `stt` queue, started when the turn is opened) follows
the chunks as they arrive, decodes the growing recording and streams `partial` events with the
committed text (never changes) and the tentative tail, with delivery figures so far. When the turn
is finished, or no chunk has come for its idle timeout, or the audio reaches the length cap, only the
tail is decoded and the answer goes through the same delivery → scoring → next question steps as an
uploaded one (`jobs.practice.process_turn` with the transcript already made).

Everything the job knows lives in storage: a worker killed mid-turn is replaced by another that
reads the same chunks and the committed words saved after each step (`state.json`), so the committed
prefix carries on unchanged and nothing is lost.
"""
from __future__ import annotations

import json
import os
import shutil
import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator

from core.errors import BadInput, Conflict
from core.models import Interview, Turn
from core.storage import LocalStorage
from jobs import practice
from jobs.context import JobContext
from jobs.delivery import analyze_delivery
from jobs.live_stt import (CLOSE_BEAM_SIZE, SAMPLE_RATE, GrowingDecoder, LiveTranscriber, LiveVAD, whisper_decode,
                           whisper_decode_final, words_to_transcript)
from jobs.stt import Word, stt_for

KIND = "practice.live_turn"
STATUS_LIVE = "live"
STATUS_FINISHING = "finishing"
# A new decode starts once this much new audio has arrived (at most one decode a second per turn), and
# only if the VAD heard speech in it; before the first words are shown, after half of it.
MIN_STEP_SECONDS = 1.0
FIRST_STEP_SECONDS = 0.5
POLL_SECONDS = 0.05
# Live turns following their chunks in this process: they share one model (and the CPU), so each
# waits for more new audio per decode when there are several (fewer, longer steps instead of a queue).
_active = {"n": 0, "finishing": 0}
_active_lock = threading.Lock()
# While a turn of this process is finishing (its last decode, then scoring), the others start no new
# decode: the person who pressed Stop waits for the model, the others' words can wait a moment.
FINISH_PRIORITY_MAX_SECONDS = 5.0
_FINISH = "finish.json"
_STATE = "state.json"


def chunk_prefix(user_id: str, turn_id: str) -> str:
    return f"live/{user_id}/{turn_id}"


def final_audio_key(user_id: str, turn_id: str) -> str:
    return f"audio/{user_id}/{turn_id}.webm"


class ChunkStore:
    """The chunks of one live turn in storage, numbered from 0, and its finish marker."""

    def __init__(self, storage: LocalStorage, prefix: str) -> None:
        self.dir = storage.path(prefix)
        self._cache: dict[int, bytes] = {}

    def _chunk(self, seq: int) -> str:
        return os.path.join(self.dir, f"{seq:06d}.chunk")

    def put(self, seq: int, data: bytes) -> bool:
        """Store chunk `seq`; False if the same bytes were already there (a retry). Conflict if a
        different chunk already holds that number."""
        path = self._chunk(seq)
        if os.path.exists(path):
            with open(path, "rb") as f:
                if f.read() == data:
                    return False
            raise Conflict(f"chunk {seq} was already received with different content", stage="upload")
        os.makedirs(self.dir, exist_ok=True)
        tmp = f"{path}.{os.getpid()}.part"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)  # readers never see half a chunk
        return True

    def seqs(self) -> list[int]:
        try:
            names = os.listdir(self.dir)
        except FileNotFoundError:
            return []
        return sorted(int(n[:-6]) for n in names if n.endswith(".chunk") and n[:-6].isdigit())

    def total_bytes(self) -> int:
        return sum(os.path.getsize(self._chunk(s)) for s in self.seqs())

    def contiguous(self) -> tuple[int, bytes]:
        """(n, bytes of chunks 0..n-1): the recording as far as it has arrived without a gap."""
        seqs = set(self.seqs())
        n = 0
        parts = []
        while n in seqs:
            if n not in self._cache:
                with open(self._chunk(n), "rb") as f:
                    self._cache[n] = f.read()
            parts.append(self._cache[n])
            n += 1
        return n, b"".join(parts)

    def missing(self, last_seq: int) -> list[int]:
        have = set(self.seqs())
        return [s for s in range(last_seq + 1) if s not in have]

    def finished(self) -> dict | None:
        try:
            with open(os.path.join(self.dir, _FINISH)) as f:
                return json.load(f)
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def mark_finished(self, reason: str) -> dict:
        """Write the finish marker once (the first writer wins); return the marker in force."""
        os.makedirs(self.dir, exist_ok=True)
        marker = {"reason": reason, "at": time.time()}
        try:
            fd = os.open(os.path.join(self.dir, _FINISH), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return self.finished() or marker
        with os.fdopen(fd, "w") as f:
            json.dump(marker, f)
        return marker

    def load_state(self) -> dict | None:
        try:
            with open(os.path.join(self.dir, _STATE)) as f:
                return json.load(f)
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def save_state(self, state: dict) -> None:
        path = os.path.join(self.dir, _STATE)
        with open(path + ".part", "w") as f:
            json.dump(state, f)
        os.replace(path + ".part", path)

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def live_figures(words: list[Word], seconds: float) -> dict[str, Any]:
    """The delivery figures the page shows while the person speaks."""
    d = analyze_delivery(words, seconds)
    return {"words_per_minute": d["words_per_minute"], "wpm_band": d["wpm_band"], "word_count": d["word_count"],
            "fillers": d["fillers"]["count"], "pauses": d["pauses"]["count_1_5s"],
            "longest_pause_seconds": d["pauses"]["longest_seconds"]}


def _words(ws: list[Word]) -> list[dict[str, Any]]:
    return [{"text": w.text, "start": w.start, "end": w.end} for w in ws]


def process_live_turn(session: Any, ctx: JobContext, turn_id: str, idle_seconds: float | None = None) -> dict[str, Any]:
    turn = session.get(Turn, turn_id)
    if turn is None:
        raise BadInput(f"turn {turn_id} does not exist", stage="lookup")
    interview = session.get(Interview, turn.interview_id)
    user_id = interview.user_id
    store = ChunkStore(ctx.storage, chunk_prefix(user_id, turn_id))
    final_key = turn.audio_key or final_audio_key(user_id, turn_id)
    samples = _follow(ctx, store, turn_id, final_key, idle_seconds or ctx.settings.live_idle_seconds)
    transcript = _final_transcript(ctx, store, final_key)
    # The recording decoded here already (under the cap) is measured as it is, not decoded again.
    result = practice.process_turn(session, ctx, turn_id, transcript=transcript, samples=samples)
    store.remove()  # the whole recording is in `final_key` now
    return result


def _follow(ctx: JobContext, store: ChunkStore, turn_id: str, final_key: str, idle_seconds: float) -> Any:
    """Transcribe while chunks arrive; return once the turn is finished (by the client, the idle
    timeout or the length cap) with the whole recording saved under `final_key`, and its samples
    (None when an earlier attempt had got that far)."""
    with _counted("n"):
        return _follow_chunks(ctx, store, turn_id, final_key, idle_seconds)


@contextmanager
def _counted(key: str) -> Iterator[None]:
    """Count this turn in `_active[key]` for the block (live turns of the process, or finishing ones)."""
    with _active_lock:
        _active[key] += 1
    try:
        yield
    finally:
        with _active_lock:
            _active[key] -= 1


def _follow_chunks(ctx: JobContext, store: ChunkStore, turn_id: str, final_key: str, idle_seconds: float) -> Any:
    saved = store.load_state()
    if ctx.storage.exists(final_key) and ((saved or {}).get("final") or not store.seqs()):
        return None  # an earlier attempt got this far (the recording is whole); only its writes were lost
    stt = stt_for(ctx.settings)
    live = LiveTranscriber.resume(whisper_decode(stt), saved, final_decode=whisper_decode_final(stt),
                                  close_decode=whisper_decode(stt, beam_size=max(stt.beam_size, CLOSE_BEAM_SIZE)))
    decoder = GrowingDecoder()
    voice = LiveVAD()
    cap = ctx.settings.max_audio_seconds
    decoded_samples = 0
    yielded_since = time.monotonic()
    shown = bool(live.committed)
    seen_bytes = -1
    last_arrival = time.monotonic()
    ctx.progress("live", 0.0)
    while True:
        ctx.check_cancelled()
        marker = store.finished()
        n, data = store.contiguous()
        if len(data) != seen_bytes:
            seen_bytes, last_arrival = len(data), time.monotonic()
        if marker is not None:
            break
        if time.monotonic() - last_arrival > idle_seconds:
            store.mark_finished("timeout")
            continue  # one more look: a chunk may have landed just before the marker
        audio = decoder.decode(data)
        if len(audio) > cap * SAMPLE_RATE:
            store.mark_finished("limit")
            continue
        step = (MIN_STEP_SECONDS * max(1, _active["n"]) if shown else FIRST_STEP_SECONDS)
        yielding = _active["finishing"] > 0 and time.monotonic() - yielded_since < FINISH_PRIORITY_MAX_SECONDS
        if not yielding:
            yielded_since = time.monotonic()
        if len(audio) - decoded_samples < step * SAMPLE_RATE or yielding:
            time.sleep(POLL_SECONDS)
            continue
        decoded_samples = len(audio)
        voice.update(audio)
        update = live.step(audio, voice.heard(), voice.seconds)
        if not update.decoded:
            continue  # no speech since the last decode: nothing new to show
        shown = shown or bool(update.committed or update.tentative)
        if update.committed:
            store.save_state(live.state())  # saved before it is sent: a replacement worker keeps it
        seconds = update.audio_seconds
        ctx.partial({"stage": "live", "turn_id": turn_id, "chunks": n, "audio_seconds": seconds,
                     "committed": " ".join(w.text for w in live.committed),
                     "committed_words": len(live.committed), "new_words": _words(update.committed),
                     "tentative": " ".join(w.text for w in update.tentative),
                     "delivery": live_figures(live.committed + update.tentative, seconds)})
    with _counted("finishing"):
        return _finish(ctx, store, turn_id, final_key, live, decoder, voice)


def _finish(ctx: JobContext, store: ChunkStore, turn_id: str, final_key: str, live: LiveTranscriber,
            decoder: GrowingDecoder, voice: LiveVAD) -> Any:
    cap = ctx.settings.max_audio_seconds
    _, data = store.contiguous()
    ctx.storage.save(final_key, data)
    audio = decoder.decode(data, final=True)[: int(cap * SAMPLE_RATE)]
    speech = voice.regions(audio)
    update = live.finish(audio, speech)
    store.save_state({**live.state(), "final": True, "audio_seconds": update.audio_seconds, "speech": speech})
    ctx.partial({"stage": "live", "turn_id": turn_id, "final": True, "reason": (store.finished() or {}).get("reason"),
                 "audio_seconds": update.audio_seconds, "committed": " ".join(w.text for w in live.committed),
                 "committed_words": len(live.committed), "new_words": _words(update.committed), "tentative": "",
                 "delivery": live_figures(live.committed, update.audio_seconds)})
    return audio


def _final_transcript(ctx: JobContext, store: ChunkStore, final_key: str) -> Any:
    state = store.load_state()
    if state and state.get("final"):
        words = [Word(**w) for w in state["committed"]]
        return words_to_transcript(words, float(state.get("audio_seconds") or 0.0), state.get("speech") or ())
    # Finished on an earlier attempt whose chunks are gone: transcribe the saved recording whole.
    return stt_for(ctx.settings).transcribe(str(ctx.storage.path(final_key)))
