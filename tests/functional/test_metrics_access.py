"""Metrics are for Prometheus, not the internet (issue 13 item 17): web `/metrics` answers a direct
connection from an allowed address or a scraper with the metrics token; the worker's own metrics
server binds 127.0.0.1 unless told otherwise."""
from __future__ import annotations

import requests

from tests.functional.servers import web_process


def test_web_metrics_need_an_allowed_address_or_the_token(platform) -> None:  # noqa: ANN001
    assert requests.get(platform.base_url + "/metrics", timeout=10).status_code == 200  # loopback, direct
    relayed = requests.get(platform.base_url + "/metrics", headers={"X-Forwarded-For": "203.0.113.9"}, timeout=10)
    assert relayed.status_code == 403 and relayed.json()["stage"] == "auth"
    with web_process(platform, metrics_allow=(), metrics_token="scrape-secret-0123456789") as url:
        assert requests.get(url + "/metrics", timeout=10).status_code == 403
        wrong = requests.get(url + "/metrics", headers={"Authorization": "Bearer nope"}, timeout=10)
        assert wrong.status_code == 403
        good = requests.get(url + "/metrics", headers={"Authorization": "Bearer scrape-secret-0123456789"},
                            timeout=10)
        assert good.status_code == 200 and "voicemock_queue_depth" in good.text


def test_the_worker_metrics_server_binds_loopback_by_default(settings) -> None:  # noqa: ANN001
    from workers.metrics import serve

    assert settings.worker_metrics_host == "127.0.0.1"  # from the environment, which does not set it
    server = serve(0, settings.worker_metrics_host)
    try:
        host, port = server.server_address[:2]
        assert host == "127.0.0.1"
        assert "voicemock_jobs_total" in requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    finally:
        server.shutdown()
        server.server_close()
