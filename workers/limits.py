"""The memory cap of a process that runs jobs (`voicemock worker` processes, and `voicemock dev`,
whose in-process worker shares the web's process)."""
from __future__ import annotations

import ctypes
import ctypes.util
import logging
import resource

log = logging.getLogger("voicemock.worker")


def cap_memory(megabytes: int) -> int:
    """Cap this process's address space (RLIMIT_AS) at `megabytes` (0: leave it alone); returns the
    cap applied, in MB (0 when none).

    A job that needs more (a hostile document) gets a MemoryError, which fails that job alone; the
    process and its other threads carry on. glibc would otherwise reserve a 64 MB malloc arena per
    thread (address space, not memory): with a dozen threads that reservation alone eats most of a
    modest cap, so arenas are held to two before any worker thread starts. A cap already set lower
    (by the operator's shell or container) is kept.
    """
    if megabytes <= 0:
        return 0
    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt(-8, 2)  # M_ARENA_MAX
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to tune
        pass
    limit = megabytes * 1024 * 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    for existing in (soft, hard):
        if existing != resource.RLIM_INFINITY:
            limit = min(limit, existing)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    log.info("address space capped at %d MB", limit // (1024 * 1024))
    return limit // (1024 * 1024)
