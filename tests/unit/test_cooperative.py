"""Under gevent (socket patched), psycopg2's wait callback is psycogreen's; elsewhere nothing changes."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1].parent


def test_psycogreen_callback_only_under_gevent() -> None:
    from psycopg2 import extensions

    from webapp.cooperative import make_postgres_cooperative

    from core import pgwait

    assert make_postgres_cooperative() is False
    # Not psycogreen's: none, or core.pgwait's deadline wait once a PostgreSQL engine exists (it
    # replaces psycogreen's in a gevent web process too, and yields to gevent the same way).
    assert extensions.get_wait_callback() in (None, pgwait.wait)
    probe = ("from gevent import monkey; monkey.patch_all()\n"
             "from psycopg2 import extensions\nfrom webapp.cooperative import make_postgres_cooperative\n"
             "import psycogreen.gevent\nassert make_postgres_cooperative() is True\n"
             "assert extensions.get_wait_callback() is psycogreen.gevent.gevent_wait_callback\nprint('ok')")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "ok", out.stderr
