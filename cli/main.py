"""`voicemock` — run, operate and try the platform. `voicemock COMMAND --help` explains each command."""
from __future__ import annotations

import json
import os
import sys

import click

from core.config import ConfigError, Settings


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="voicemock", prog_name="voicemock")
def main() -> None:
    """VoiceMock: self-hostable AI interview coaching.

    \b
    Embedded mode (no DATABASE_URL / REDIS_URL):  voicemock dev
    Production mode (see Procfile):               voicemock db upgrade; gunicorn …; voicemock worker; voicemock scheduler
    """


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def dev(host: str, port: int) -> None:
    """Run the whole platform in one process (embedded mode: SQLite, in-process broker, worker,
    event bus and scheduler) on http://HOST:PORT."""
    from cli.embedded import serve

    serve(_settings(), host, port)


@main.command()
@click.option("--queues", "-Q", default="stt,llm,default,maintenance", show_default=True,
              help="comma-separated queues to consume")
@click.option("--processes", "-p", default=os.cpu_count() or 1, show_default=True, type=int)
@click.option("--threads", "-t", default=4, show_default=True, type=int, help="threads per process")
def worker(queues: str, processes: int, threads: int) -> None:
    """Run Dramatiq workers (production mode). Scale by running more."""
    settings = _settings()
    if settings.embedded:
        raise click.ClickException("`voicemock worker` needs REDIS_URL (or BROKER_URL); embedded mode runs "
                                   "its worker inside `voicemock dev`")
    # Dramatiq reads its idle poll interval from the environment at import time (default 1 s,
    # which adds ~0.5 s of pick-up latency to every job on a quiet queue).
    os.environ.setdefault("dramatiq_worker_timeout", str(settings.worker_poll_ms))
    from dramatiq.cli import main as dramatiq_main, make_argument_parser

    qs = [q.strip() for q in queues.split(",") if q.strip()]
    os.environ.setdefault("VOICEMOCK_PRELOAD_STT", "1" if "stt" in qs else "0")
    args = make_argument_parser().parse_args(
        ["workers.entry", "--processes", str(processes), "--threads", str(threads), "--queues", *qs])
    sys.exit(dramatiq_main(args))


@main.group()
def db() -> None:
    """Database migrations (Alembic)."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    import migrations

    migrations.upgrade(_settings().database_url, revision)
    click.echo(f"database at {revision}")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION."""
    import migrations

    migrations.downgrade(_settings().database_url, revision)


@db.command("current")
def db_current() -> None:
    """Show the database's current revision."""
    import migrations

    migrations.current(_settings().database_url)


@main.group()
def token() -> None:
    """Access tokens."""


@token.command("create")
@click.option("--user", "email", required=True, help="the user's email (the token's subject)")
@click.option("--admin", is_flag=True, help="grant the account the admin role (in the database; "
              "`voicemock admin revoke` takes it back)")
@click.option("--ttl", default=24 * 3600, show_default=True, type=int, help="lifetime in seconds")
def token_create(email: str, admin: bool, ttl: int) -> None:
    """Mint a bearer token signed with this installation's secret."""
    from core.tokens import mint_access_token

    settings = _settings()
    if admin:  # the role lives in the database, so it works for an existing account too
        from cli.admin_cmd import set_role

        click.echo(set_role(settings, email, True), err=True)
    click.echo(mint_access_token(settings, email, email=email, ttl=ttl))


_SECRETS = {"cron": "cron_secret", "secret-key": "secret_key", "tracking": "tracking_secret"}


@main.command()
@click.option("--show-secret", type=click.Choice(sorted(_SECRETS)), default=None,
              help="print one secret in full (e.g. `cron`, for X-Cron-Secret) instead of the settings")
def config(show_secret: str | None) -> None:
    """Print the effective settings (JSON, secrets masked), where the data lives and how to get the
    cron secret."""
    settings = _settings()
    if show_secret:
        value = getattr(settings, _SECRETS[show_secret])
        if not value:
            raise click.ClickException(f"no {show_secret} secret is set in {settings.mode} mode")
        click.echo(value)
        return
    click.echo(json.dumps(settings.masked(), indent=2, default=str))
    cron = ("`voicemock config --show-secret cron` prints it" if settings.cron_secret
            else "not set: set VOICEMOCK_CRON_SECRET")
    click.echo(f"data directory: {settings.data_dir} (chosen by {settings.data_dir_source})\n"
               f"cron secret (X-Cron-Secret for POST /api/cron/retention, /api/cron/purge): {cron}", err=True)


@main.command()
@click.option("--url", default="http://127.0.0.1:5000", show_default=True, help="a running VoiceMock server")
@click.option("--token", "token_", default=None, help="bearer token (default: a guest token, if allowed)")
@click.option("--audio", type=click.Path(exists=True, dir_okay=False), default=None,
              help="answer to upload (default: the bundled sample answer)")
def demo(url: str, token_: str | None, audio: str | None) -> None:
    """Act as a client: start a session, upload an answer, print the streamed events."""
    from cli.demo import run

    sys.exit(run(url, token_, audio))


from cli import jobs_cmd  # noqa: E402 - registers `voicemock jobs`

main.add_command(jobs_cmd.jobs)

from cli import scheduler_cmd  # noqa: E402 - registers `voicemock scheduler`

main.add_command(scheduler_cmd.scheduler)

from cli import admin_cmd  # noqa: E402 - registers `voicemock admin`

main.add_command(admin_cmd.admin)

from cli import batch_cmd  # noqa: E402 - registers `voicemock batch`

main.add_command(batch_cmd.batch)

if __name__ == "__main__":  # pragma: no cover
    main()
