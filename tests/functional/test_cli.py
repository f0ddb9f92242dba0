"""The `voicemock` command itself: --version, a --help that imports nothing heavy, one data directory
whatever the working directory, and `voicemock config` saying where the data and the cron secret are."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).parents[2]
VOICEMOCK = str(Path(sys.executable).parent / "voicemock")


def _run(*args: str, env: dict[str, str] | None = None, cwd: Path | str = ROOT) -> subprocess.CompletedProcess:
    full = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([VOICEMOCK, *args], env=full, cwd=cwd, capture_output=True, text=True, timeout=60)


def _embedded_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VOICEMOCK_", "DATABASE_URL", "REDIS_URL",
                                                                      "BROKER_URL"))}
    return {**env, "PYTHONPATH": str(ROOT)}


def test_version() -> None:
    out = _run("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"voicemock, version {version('voicemock')}"


def test_help_imports_no_heavy_module() -> None:
    probe = ("import sys\nfrom click.testing import CliRunner\nfrom cli.main import main\n"
             "r = CliRunner().invoke(main, ['--help'])\nassert r.exit_code == 0, r.output\n"
             "heavy = {'sqlalchemy', 'flask', 'dramatiq', 'requests', 'openai', 'faster_whisper', 'av', 'redis'}\n"
             "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", f"--help imported {out.stdout}"
    assert "batch" in _run("--help").stdout


def test_the_data_directory_is_the_same_from_any_working_directory(tmp_path: Path) -> None:
    env = {**_embedded_env(), "VOICEMOCK_DATA_DIR": "data"}  # relative: resolved once, against the cwd
    here = subprocess.run([VOICEMOCK, "config"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert json.loads(here.stdout)["data_dir"] == str(tmp_path / "data")
    env = _embedded_env()
    seen = []
    for cwd in (ROOT, tmp_path):
        out = subprocess.run([VOICEMOCK, "config"], env=env, cwd=cwd, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        shown = json.loads(out.stdout)
        seen.append((shown["data_dir"], shown["database_url"]))
        assert f"data directory: {shown['data_dir']}" in out.stderr
        secret = subprocess.run([VOICEMOCK, "config", "--show-secret", "secret-key"], env=env, cwd=cwd,
                                capture_output=True, text=True, timeout=60).stdout.strip()
        seen.append(secret)
    assert seen[0] == seen[2] and seen[1] == seen[3], "same database and secret from another directory"
    assert Path(seen[0][0]).is_absolute() and not (tmp_path / "var").exists()


def test_config_says_how_to_get_the_cron_secret(test_env: dict[str, str]) -> None:
    out = _run("config", env=test_env)
    assert out.returncode == 0, out.stderr
    assert test_env["VOICEMOCK_CRON_SECRET"] not in out.stdout
    assert "voicemock config --show-secret cron" in out.stderr and "X-Cron-Secret" in out.stderr
    assert f"data directory: {test_env['VOICEMOCK_DATA_DIR']} (chosen by VOICEMOCK_DATA_DIR)" in out.stderr
    shown = _run("config", "--show-secret", "cron", env=test_env)
    assert shown.returncode == 0 and shown.stdout.strip() == test_env["VOICEMOCK_CRON_SECRET"]
