"""The worker's own measure of an uploaded answer: decode it with the cap enforced, and bill what
was decoded.

The upload route checks the duration a file's header declares, which costs nothing but can lie: a
900 s FLAC whose header says 5 s passes the 600 s cap and the quota and is billed 5 s. So the job
decodes the audio itself (PyAV, resampled to the 16 kHz mono float32 that faster-whisper takes),
stops as soon as it passes the cap (the job fails at `decode`, never retried), checks the quota
against the real length, and the usage ledger's row for the job is set to the seconds decoded.
"""
from __future__ import annotations

import gc
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.errors import DecodeError, PayloadTooLarge
from jobs.stt import AudioInfo, probe_audio

SAMPLE_RATE = 16_000  # what faster-whisper transcribes
# A header rounds; decoders pad the last frame. Audio this much past the cap is still accepted.
CAP_TOLERANCE_SECONDS = 1.0
_GROUP_SAMPLES = 500_000  # resample in blocks, as faster-whisper's own decoder does


@dataclass(frozen=True)
class MeasuredAudio:
    """The probe's description of the file with the duration that was really decoded, and the
    decoded samples (transcribe these: the file is not decoded a second time)."""

    duration: float
    codec: str
    sample_rate: int
    container: str
    samples: Any  # numpy float32, 16 kHz mono
    declared_duration: float


def decode_capped(path: str, max_seconds: float) -> tuple[Any, float]:
    """(16 kHz mono float32 samples, seconds decoded); PayloadTooLarge (stage `decode`) as soon as
    more than `max_seconds` (+ tolerance) has been decoded, DecodeError when it cannot be decoded."""
    import av
    import numpy as np

    limit = max_seconds + CAP_TOLERANCE_SECONDS
    seconds = 0.0
    chunks: list[Any] = []
    resampler = av.audio.resampler.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    fifo = av.audio.fifo.AudioFifo()

    def resampled(frame: Any) -> None:
        for out in resampler.resample(frame):
            chunks.append(out.to_ndarray().reshape(-1))

    try:
        with av.open(path, mode="r", metadata_errors="ignore") as container:
            frames = container.decode(audio=0)
            while True:
                try:
                    frame = next(frames)
                except StopIteration:
                    break
                except av.error.InvalidDataError:
                    continue
                seconds += frame.samples / float(frame.sample_rate or SAMPLE_RATE)
                if seconds > limit:
                    raise PayloadTooLarge(f"the audio is longer than the limit of {max_seconds:.0f} s",
                                          stage="decode", details={"limit_seconds": max_seconds})
                frame.pts = None  # the fifo checks timestamps; decoded order is what counts
                fifo.write(frame)
                if fifo.samples >= _GROUP_SAMPLES:
                    resampled(fifo.read())
            if fifo.samples:
                resampled(fifo.read())
            resampled(None)  # flush
    except (PayloadTooLarge, MemoryError):
        raise
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise DecodeError("Audio could not be decoded", details={"reason": str(exc)}) from exc
    finally:
        del resampler  # PyAV's resampler holds native buffers until collected (faster-whisper does the same)
        gc.collect()
    samples = np.concatenate(chunks).astype(np.float32) / 32768.0 if chunks else np.zeros(0, np.float32)
    if not samples.size:
        raise DecodeError("Audio stream contains no decodable audio", details={"reason": "no frames"})
    return samples, seconds_of(samples)


def seconds_of(samples: Any) -> float:
    """How long decoded audio (16 kHz mono samples) lasts, in seconds."""
    return round(samples.size / SAMPLE_RATE, 3)


def measure_audio(session: Session, ctx: Any, path: str, *, user_id: str | None, samples: Any = None) -> MeasuredAudio:
    """Probe and decode `path` under the audio cap, then check the quota against what the upload
    did not meter (only reads: the ledger is corrected by `bill_audio` with the job's other writes).
    `samples`: `path` decoded already under the cap (a live turn has), so it is not decoded again."""
    info: AudioInfo = probe_audio(path)
    if samples is None:
        samples, seconds = decode_capped(path, ctx.settings.max_audio_seconds)
    else:
        seconds = seconds_of(samples)
    metered = _metered(session, ctx.job_id)
    if user_id and seconds - metered > CAP_TOLERANCE_SECONDS:
        from core.models import User
        from core.plans import check_quota

        user = session.get(User, user_id)
        check_quota(session, ctx.settings, user_id, user.plan if user else None, "audio_seconds",
                    seconds - metered, utcnow())
    return MeasuredAudio(duration=seconds, codec=info.codec, sample_rate=info.sample_rate,
                         container=info.container, samples=samples, declared_duration=info.duration)


def _metered(session: Session, job_id: str) -> float:
    from core.models import UsageLedger

    amount = session.execute(select(UsageLedger.amount).where(UsageLedger.kind == "audio_seconds",
                                                              UsageLedger.job_id == job_id)).scalar()
    return float(amount or 0.0)


def bill_audio(session: Session, job_id: str, seconds: float, *, user_id: str | None,
               subject_id: str | None = None) -> None:
    """Bill the job for the seconds decoded: its `audio_seconds` ledger row (written at upload from
    the header) is set to them, or written when the upload metered none. Call it with the job's
    other writes, after its last progress report."""
    from core.models import UsageLedger

    amount = round(float(seconds), 3)
    done = session.execute(update(UsageLedger).where(UsageLedger.kind == "audio_seconds", UsageLedger.job_id == job_id)
                           .values(amount=amount).execution_options(synchronize_session=False)).rowcount
    if not done and user_id:
        session.add(UsageLedger(user_id=user_id, kind="audio_seconds", amount=amount, job_id=job_id,
                                subject_id=subject_id))
