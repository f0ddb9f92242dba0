"""core.pgwait waits on PostgreSQL's socket whatever its descriptor number: a web process holding a
thousand SSE connections gives the next database connection a descriptor above 1024, which
`select.select` refuses ("filedescriptor out of range"); plain and under gevent."""
from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

PROBE = """
import os, sys
{patch}
from sqlalchemy import text
from core.db import Database
from core import pgwait
from psycopg2 import extensions
held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]  # the next descriptors are above 1024
db = Database(sys.argv[1])
assert extensions.get_wait_callback() is pgwait.wait
with db.engine.connect() as conn:
    fd = conn.connection.dbapi_connection.fileno()
    assert fd > 1024, fd
    print(fd, conn.execute(text("SELECT 41 + 1")).scalar_one())
"""


@pytest.mark.parametrize("patch", ["", "from gevent import monkey; monkey.patch_all()"], ids=["threads", "gevent"])
def test_a_database_connection_on_a_descriptor_above_1024_works(platform, patch: str) -> None:  # noqa: ANN001
    if platform.runtime.db.is_sqlite:
        pytest.skip("PostgreSQL only")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2048:
        pytest.skip(f"this machine allows {hard} open files")

    def raise_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard) if hard != resource.RLIM_INFINITY else 4096, hard))

    out = subprocess.run([sys.executable, "-c", PROBE.format(patch=patch), platform.settings.database_url],
                         cwd=ROOT, capture_output=True, text=True, timeout=60, preexec_fn=raise_limit)
    assert out.returncode == 0, out.stderr[-2000:]
    fd, answer = out.stdout.split()
    assert int(fd) > 1024 and answer == "42"
