"""`/openapi.json` covers every route, `/docs` lists them, and schemathesis (in-process, against the live
platform) finds no server error and no response that breaks the schema."""
from __future__ import annotations

import re

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from tests.support.client import ApiClient
from tests.support.fuzzing import fuzzable_operations


def test_every_route_is_in_the_spec_and_the_docs_page(platform, anon: ApiClient) -> None:  # noqa: ANN001
    spec = anon.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    documented = {(p, m.upper()) for p, ops in spec["paths"].items() for m in ops}
    hidden = {"/openapi.json", "/docs", "/docs/assets/{filename}", "/static/{filename}"}
    for rule in platform.app.url_map.iter_rules():
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        if path in hidden:
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method) in documented, f"{method} {path} is missing from /openapi.json"
    start = spec["paths"]["/session/start"]["post"]
    assert start["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/StartSession")
    assert "StartSession" in spec["components"]["schemas"]
    page = anon.get("/docs")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "swagger-ui-bundle.js" in page.text and "/openapi.json" in page.text  # Swagger UI (test_api_docs.py)
    assert anon.get("/docs/assets/swagger-ui-bundle.js").status_code == 200


_CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
           checks.response_schema_conformance]


def test_schemathesis_finds_no_server_error_and_no_schema_mismatch(platform) -> None:  # noqa: ANN001
    from core.tokens import mint_access_token

    token = mint_access_token(platform.settings, "fuzz@example.com", email="fuzz@example.com")
    headers = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_url(platform.base_url + "/openapi.json")
    failures: list[str] = []
    tried = 0
    with requests.Session() as session:
        for operation in fuzzable_operations(schema):
            tried += 1

            @given(case=operation.as_strategy())
            @settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                      database=None)
            def exercise(case) -> None:  # noqa: ANN001
                try:
                    case.call_and_validate(base_url=platform.base_url, session=session, headers=headers,
                                           timeout=30, checks=_CHECKS)
                except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collect all, then report
                    failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:700]}")

            exercise()
    assert tried > 30
    assert not failures, "\n\n".join(failures)
