"""What the schemathesis tests (test_openapi.py, test_fuzz_all_checks.py) fuzz: every operation of
/openapi.json but those that cannot be fuzzed here. Streams stay open by design, the cron routes would
run retention against every other test's data, and /metrics is plain text for Prometheus."""
from __future__ import annotations

import re
from typing import Any, Iterator

EXCLUDED = re.compile(r"/events$|/stream$|^/api/cron/|^/metrics$")


def fuzzable_operations(schema: Any) -> Iterator[Any]:
    for result in schema.get_all_operations():
        operation = result.ok()
        if not EXCLUDED.search(operation.path):
            yield operation
