"""Schemathesis with every check it has (issue 7) over every route, as a normal user and as an admin:
positive and negative data, ~25 examples per operation. Slow: `make test-slow`.

The fast test (`test_openapi.py`) runs four checks on five examples; this one adds the checks that
re-send requests (`ignored_auth` drops the credentials, `unsupported_method` tries other verbs,
`missing_required_header`), and the data checks (`negative_data_rejection`: invalid input is a
4xx; `positive_data_acceptance`: valid input is not refused as invalid).
"""
from __future__ import annotations

from collections import defaultdict

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import InvalidArgument, Unsatisfiable
from schemathesis import GenerationMode

from tests.support.fuzzing import fuzzable_operations

pytestmark = pytest.mark.slow

EXAMPLES = 25


# Validity no JSON Schema can state: an upload is checked by its bytes (magic numbers, decodable
# audio, zip central directory), so a schema-valid upload may still be a 413/415/422; a provider is
# accepted only when this server has it configured; a job-list cursor is opaque (only a `next_cursor`
# the server handed out is one); a reconciliation range must run forwards and span at most 36 months.
# Each of these answers names its stage.
CONFIG = """
[[operations]]
include-name = ["GET /api/jobs", "GET /api/analytics/reconciliation"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404"]

[[operations]]
include-path-regex = "^/(turn|api/resume/upload)$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "413", "415", "422"]

[[operations]]
include-name = "PUT /api/settings/llm"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "422"]
"""


def _fuzz(base_url: str, token: str) -> tuple[int, dict[str, list[str]]]:
    config = schemathesis.Config.from_str(CONFIG)
    schema = schemathesis.openapi.from_url(base_url + "/openapi.json", config=config)
    schema.config.checks.update(included_check_names=["all"])
    headers = {"Authorization": f"Bearer {token}"}
    failures: dict[str, list[str]] = defaultdict(list)
    no_negative: list[str] = []
    tried = 0
    with requests.Session() as session:
        for operation in fuzzable_operations(schema):
            tried += 1
            label = f"{operation.method.upper()} {operation.path}"
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

                @given(case=operation.as_strategy(generation_mode=mode))
                @settings(max_examples=EXAMPLES // 2 + 1, deadline=None, suppress_health_check=list(HealthCheck),
                          derandomize=True, database=None)
                def exercise(case) -> None:  # noqa: ANN001
                    try:
                        case.call_and_validate(base_url=base_url, session=session, headers=headers, timeout=30)
                    except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collect all, then report
                        failures[label].append(f"[{mode.value}] {str(exc)[:900]}")

                try:
                    exercise()
                except (Unsatisfiable, InvalidArgument):
                    if mode is GenerationMode.POSITIVE:
                        raise  # an operation schemathesis cannot build a valid request for is a spec bug
                    # Nothing to make invalid (no parameters, no body), or only something Hypothesis
                    # cannot draw (a string past a 50 000-character maxLength that must match a pattern).
                    no_negative.append(label)
    print(f"{tried} operations; no negative cases for {len(no_negative)}: {', '.join(no_negative)}")
    return tried, failures


def _cancel_leftovers(base_url: str, token: str) -> None:
    """Fuzzed canaries (bursts of up to 500, sleeps of up to 300 s) would hold the shared worker's
    threads long after this test: cancel whatever the fuzz left unfinished and wait for it to stop."""
    import time

    with requests.Session() as s:
        s.headers["Authorization"] = f"Bearer {token}"

        def unfinished(status: str) -> list[str]:
            ids, cursor = [], None
            while True:
                page = s.get(f"{base_url}/api/jobs", params={"status": status, "limit": 100,
                                                             **({"cursor": cursor} if cursor else {})}, timeout=30)
                body = page.json()["data"]
                ids += [j["id"] for j in body["jobs"]]
                if not (cursor := body.get("next_cursor")):
                    return ids
        for status in ("queued", "running"):
            for job_id in unfinished(status):
                s.delete(f"{base_url}/api/jobs/{job_id}", timeout=30)  # 409 if it finished meanwhile
        deadline = time.monotonic() + 120  # a loaded machine stops 500-canary bursts slowly
        while unfinished("running") or unfinished("queued"):
            if time.monotonic() > deadline:
                pytest.fail("cancelled fuzz jobs did not stop", pytrace=False)
            time.sleep(0.2)


@pytest.mark.timeout(900)  # the admin run fuzzes bursts of up to 500 canaries and then waits them out
@pytest.mark.parametrize("admin", [False, True], ids=["user", "admin"])
def test_every_check_passes_on_every_route(platform, admin: bool) -> None:  # noqa: ANN001
    from core.tokens import mint_access_token

    email = "admin@example.com" if admin else "fuzz-all@example.com"
    token = mint_access_token(platform.settings, email, email=email, admin=admin)
    try:
        tried, failures = _fuzz(platform.base_url, token)
    finally:
        _cancel_leftovers(platform.base_url, token)
    assert tried > 30
    report = "\n\n".join(f"{label} ({len(msgs)}):\n" + "\n".join(msgs[:2]) for label, msgs in sorted(failures.items()))
    if failures:
        # pytest.fail without a traceback: formatting one after the deep-JSON cases had hit Python's
        # recursion limit once crashed pytest itself (SystemError in ast.parse), hiding the report.
        pytest.fail(report, pytrace=False)
