"""Command line: python -m app {migrate,serve,create-user,token,worker}."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import sys

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.config import Settings, load_settings
from app.core.logging import configure_logging

PASSWORD_ENV = "BERTH_PASSWORD"
MIN_PASSWORD_LENGTH = 8
log = logging.getLogger("app.cli")


def _read_password() -> str:
    """From $BERTH_PASSWORD, else stdin (prompted on a terminal). Never from argv."""
    password = os.environ.get(PASSWORD_ENV)
    if password is None:
        password = getpass.getpass("Password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    if len(password) < MIN_PASSWORD_LENGTH:
        sys.exit(f"error: password must be at least {MIN_PASSWORD_LENGTH} characters")
    return password


def _token_for(settings: Settings, user) -> str:  # noqa: ANN001
    from app.core.security import create_token

    return create_token(user_id=user.id, role=user.role, secret_key=settings.secret_key,
                        expire_minutes=settings.token_expire_minutes)


def cmd_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from app.migrate import run_migrations

    run_migrations(settings)
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    if not settings.is_postgres and not settings.database_url:
        cmd_migrate(settings, args)  # embedded SQLite: make a fresh checkout just work
    uvicorn.run("app.main:create_app", factory=True, host=args.host, port=args.port or settings.port,
                reload=args.reload, log_config=None, access_log=False,
                forwarded_allow_ips=settings.forwarded_allow_ips, timeout_keep_alive=settings.keepalive_seconds)
    return 0


def cmd_create_user(settings: Settings, args: argparse.Namespace) -> int:
    from app.core.security import hash_password
    from app.db import make_sync_engine
    from app.models import User

    email = args.email.strip().lower()
    password = _read_password()
    engine = make_sync_engine(settings)
    with Session(engine) as session:
        if session.scalar(select(User).where(User.email == email)) is not None:
            print("error: a user with that email already exists (use `token` to issue a token)", file=sys.stderr)
            return 1
        user = User(email=email, password_hash=hash_password(password), role=args.role, is_active=True)
        session.add(user)
        session.commit()
        log.info("user created", extra={"user_id": user.id, "role": user.role})
        print(_token_for(settings, user))
    engine.dispose()
    return 0


def cmd_token(settings: Settings, args: argparse.Namespace) -> int:
    from app.db import make_sync_engine
    from app.models import User

    engine = make_sync_engine(settings)
    with Session(engine) as session:
        user = session.scalar(select(User).where(User.email == args.email.strip().lower()))
        if user is None or not user.is_active:
            print("error: no active user with that email", file=sys.stderr)
            return 1
        print(_token_for(settings, user))
    engine.dispose()
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    from app.worker import Worker

    if not settings.redis_url:
        print("error: the worker needs REDIS_URL (it reads the questions the API recorded there)",
              file=sys.stderr)
        return 2
    asyncio.run(Worker(settings, interval=args.interval, top=args.top).run())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="upgrade the database schema to head (safe to run concurrently)")
    serve = sub.add_parser("serve", help="development server (production uses gunicorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=None, help="default: $PORT or 8000")
    serve.add_argument("--reload", action="store_true")
    create = sub.add_parser("create-user", help=f"create a user and print a token; password from ${PASSWORD_ENV} or stdin")
    create.add_argument("--email", required=True)
    create.add_argument("--role", choices=["admin", "user"], default="user")
    token = sub.add_parser("token", help="print a fresh token for an existing user")
    token.add_argument("--email", required=True)
    worker = sub.add_parser("worker", help="pre-warm the answer cache for the most asked questions")
    worker.add_argument("--interval", type=float, default=30.0)
    worker.add_argument("--top", type=int, default=10)
    args = parser.parse_args(argv)

    try:
        settings = load_settings()  # names a bad setting, never echoes its value
    except SystemExit as exc:
        return int(exc.code)
    configure_logging(settings.log_level, settings.secrets)
    handlers = {"migrate": cmd_migrate, "serve": cmd_serve, "create-user": cmd_create_user,
                "token": cmd_token, "worker": cmd_worker}
    return handlers[args.command](settings, args)


if __name__ == "__main__":
    sys.exit(main())
