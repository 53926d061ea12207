"""The `cercle` command: demo, serve, worker, createworkspace, manage."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cercle.settings")
    import django

    django.setup()


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve pages and the live stream with uvicorn (ASGI); stateless, run as many as you like."""
    import uvicorn

    _setup()
    if args.migrate:
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)
    # With --fd the socket was bound by the parent (`cercle demo`): the address it
    # prints is surely this server's, never another program's that took the port.
    where: dict[str, Any] = {"fd": args.fd} if args.fd is not None else {}
    if not where:
        where = {"host": args.host, "port": args.port}
    uvicorn.run(
        "cercle.asgi:application",
        **where,
        workers=args.processes,
        log_level="warning",
        # uvicorn's records go through Django's LOGGING (root handler and its filters):
        # one format, and no traceback for a client that went away.
        log_config=None,
        proxy_headers=True,
        timeout_graceful_shutdown=2,
    )
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Run background tasks (ingest, outbox, polling) and the periodic scheduler."""
    _setup()
    from cercle.pipeline.worker import run_worker

    return run_worker(processes=args.processes, interval=args.interval)


def cmd_createworkspace(args: argparse.Namespace) -> int:
    """Create a workspace with an owner login."""
    _setup()
    from django.contrib.auth import get_user_model

    from cercle.workspaces.actions import do_add_member, do_create_user, do_create_workspace
    from cercle.workspaces.choices import Role

    workspace = do_create_workspace(args.name, timezone=args.timezone, language=args.language)
    user = get_user_model().objects.filter(username=args.owner).first()
    if user is None:
        if not args.password:
            print("error: --password is required for a new owner", file=sys.stderr)
            return 2
        user = do_create_user(args.owner, args.password)
    do_add_member(workspace, user, Role.OWNER)
    print(f"workspace {workspace.slug!r} created; owner: {args.owner}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Set up and start Cercle on SQLite with a living demo community."""
    _setup()
    from cercle.simulator.demo import run_demo

    return run_demo(host=args.host, port=args.port, days=args.days, rate=args.rate)


def _env_port() -> int | None:
    """`PORT=8001 make demo`: the port asked for in the environment, if any."""
    value = os.environ.get("PORT", "").strip()
    return int(value) if value.isdigit() else None


def cmd_manage(args: argparse.Namespace) -> int:
    """Any Django management command (migrate, createsuperuser, compilemessages…)."""
    _setup()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["cercle manage", *args.rest])
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cercle", description="Cercle: the community inbox.")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help=cmd_demo.__doc__)
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument(
        "--port",
        type=int,
        default=_env_port(),
        help="port to serve on (default: $PORT, else 8000 or a free one when 8000 is taken)",
    )
    demo.add_argument(
        "--days", type=int, default=30, help="days of history to backfill (default 30)"
    )
    demo.add_argument(
        "--rate", type=float, default=1.0, help="speed of the live community (1 = realistic-busy)"
    )
    demo.set_defaults(func=cmd_demo)

    serve = sub.add_parser("serve", help=cmd_serve.__doc__)
    serve.add_argument("--host", default=os.environ.get("CERCLE_HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("CERCLE_PORT", "8000")))
    serve.add_argument("--processes", type=int, default=1)
    serve.add_argument(
        "--fd", type=int, default=None, help="serve on this already-bound socket (file descriptor)"
    )
    serve.add_argument("--migrate", action="store_true", help="apply migrations first")
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help=cmd_worker.__doc__)
    worker.add_argument("--processes", type=int, default=1)
    worker.add_argument(
        "--interval", type=float, default=0.2, help="seconds between queue checks when idle"
    )
    worker.set_defaults(func=cmd_worker)

    create = sub.add_parser("createworkspace", help=cmd_createworkspace.__doc__)
    create.add_argument("name")
    create.add_argument("--owner", required=True, help="username of the owner (created if new)")
    create.add_argument("--password", default="")
    create.add_argument("--timezone", default="Europe/Paris")
    create.add_argument("--language", default="fr")
    create.set_defaults(func=cmd_createworkspace)

    manage = sub.add_parser("manage", help=cmd_manage.__doc__)
    manage.add_argument("rest", nargs=argparse.REMAINDER)
    manage.set_defaults(func=cmd_manage)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    sys.exit(args.func(args))
