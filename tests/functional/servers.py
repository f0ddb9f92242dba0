"""Extra web processes for issue-5 tests: another app (own settings) on the platform's runtime, behind
its own werkzeug server, so tests can turn on rate limits, webhooks or quotas without touching the
shared platform."""
from __future__ import annotations

import threading
import uuid
from contextlib import contextmanager
from typing import Any, Iterator

from werkzeug.serving import make_server


@contextmanager
def web_process(platform: Any, **changes: Any) -> Iterator[str]:
    """Yield the base URL of a new web server on the platform's runtime with `changes` to settings."""
    from webapp import create_app

    changes.setdefault("redis_prefix", f"{platform.settings.redis_prefix}-{uuid.uuid4().hex[:8]}")
    app = create_app(platform.settings.replace(**changes), runtime=platform.runtime)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
