"""The `pshub` command line."""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import NoReturn

from hub.cli_feeds import add_feeds_parser
from hub.cli_projections import cmd_projections_rebuild, cmd_replay
from hub.cli_support import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_USAGE,
    CommandError,
    load_settings,
    stop,
    store_url,
)

TRY_TOKEN_NAME = "local-try"  # noqa: S105 (a token name, not a secret)
TRY_TOKEN_SCOPES = ("read", "read:confidential", "read:pii", "write:hub", "operate", "audit")


def try_token_scopes() -> tuple[str, ...]:
    """The scopes of the token an embedded `serve` prints: every scope, each adapter's webhook
    too (the README's walk-throughs post a Harvest page and a Graph delta page with it)."""
    return (*TRY_TOKEN_SCOPES, *(f"write:{name}" for name in sorted(adapter_registry())))


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line on stderr and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn  # noqa: PLC0415 (only the server needs it)

    from hub.api.app import create_app  # noqa: PLC0415
    from hub.auth import TokenStore  # noqa: PLC0415
    from hub.bootstrap import build_hub  # noqa: PLC0415
    from hub.collector import tune_garbage_collector  # noqa: PLC0415

    settings = load_settings()
    host = args.host or settings.host
    port = args.port or settings.port
    hub = build_hub(settings)
    tune_garbage_collector()
    try:
        print(f"pshub API       http://{host}:{port}  (OpenAPI: http://{host}:{port}/docs)")
        print(f"event store     {hub.database_url}")
        print(f"NATS            {hub.nats_url}")
        if not settings.database_url:
            # Only an embedded, local store gets a ready-made token: never a configured one.
            store = TokenStore(hub.database_url)
            with contextlib.suppress(ValueError):
                store.revoke(TRY_TOKEN_NAME)
            scopes = try_token_scopes()
            token = store.create(TRY_TOKEN_NAME, scopes)
            print(
                f"try it:         curl -H 'Authorization: Bearer {token}' "
                f"http://{host}:{port}/v1/engagements?limit=5"
            )
            print(f"token ({', '.join(scopes)}):")
            print(token, flush=True)
        # uvicorn shuts down gracefully on SIGTERM, then raises the signal again for the
        # handler it found: the default one killed the process before the `finally` below, and
        # the embedded PostgreSQL and NATS were left running. SIGTERM now unwinds like Ctrl-C.
        signal.signal(signal.SIGTERM, _terminated)
        uvicorn.run(create_app(hub), host=host, port=port, log_level=settings.log_level.lower())
    finally:
        hub.close()
    return EXIT_OK


def _terminated(signum: int, frame: object) -> NoReturn:
    raise SystemExit(128 + signum)


def cmd_worker(args: argparse.Namespace) -> int:
    import asyncio  # noqa: PLC0415

    from hub.bootstrap import build_hub  # noqa: PLC0415
    from hub.collector import tune_garbage_collector  # noqa: PLC0415
    from hub.poller import run_pollers  # noqa: PLC0415

    settings = load_settings()
    if not settings.database_url or not settings.nats_url:
        raise CommandError(
            "a worker joins a running hub: set PSHUB_DATABASE_URL and PSHUB_NATS_URL"
        )
    parts = frozenset(p.strip() for p in args.run.split(",") if p.strip())
    unknown = parts - {"ingest", "projections", "relay", "pollers", "feeds", "provisioning"}
    if unknown:
        raise CommandError(f"unknown worker part(s): {', '.join(sorted(unknown))}")
    hub = build_hub(settings)
    hub.components = parts
    tune_garbage_collector()

    async def work() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if "projections" in parts:
            hub.start_projections()
        if "relay" in parts:
            hub.start_relay()
        if "feeds" in parts:
            hub.start_feeds()
        if "provisioning" in parts:
            hub.start_provisioning()
        await hub.connect(ingest="ingest" in parts)
        pollers = asyncio.create_task(run_pollers(hub)) if "pollers" in parts else None
        print(f"pshub worker running {', '.join(sorted(parts))}", flush=True)
        await stop.wait()
        if pollers is not None:
            pollers.cancel()
        await hub.disconnect()

    try:
        asyncio.run(work())
    finally:
        hub.close()
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from hub.bootstrap import build_application, resolve_servers  # noqa: PLC0415
    from hub.demo import DemoSpec, load_demo  # noqa: PLC0415

    settings = load_settings()
    database_url, _, started = resolve_servers(settings, nats=False)
    try:
        app = build_application(settings, database_url)
        try:
            summary = load_demo(app, DemoSpec(seed=args.seed, scale=args.scale))
        finally:
            app.close()
    finally:
        for server in reversed(started):
            server.stop()
    print(summary.describe(settings))
    return EXIT_OK


def _token_store() -> tuple[object, list[object]]:
    from hub.auth import TokenStore  # noqa: PLC0415
    from hub.bootstrap import build_application, resolve_servers  # noqa: PLC0415

    settings = load_settings()
    database_url, _, started = resolve_servers(settings, nats=False)
    # Building the application once creates the token table in a fresh store.
    build_application(settings, database_url).close()
    return TokenStore(database_url), started


def cmd_tokens_create(args: argparse.Namespace) -> int:
    store, started = _token_store()
    try:
        token = store.create(args.name, args.scopes.split(","))  # type: ignore[attr-defined]
    finally:
        for server in reversed(started):
            server.stop()  # type: ignore[attr-defined]
    print(f"token '{args.name}' created; it is shown only once:")
    print(token)
    return EXIT_OK


def cmd_tokens_revoke(args: argparse.Namespace) -> int:
    store, started = _token_store()
    try:
        store.revoke(args.name)  # type: ignore[attr-defined]
    finally:
        for server in reversed(started):
            server.stop()  # type: ignore[attr-defined]
    print(f"token '{args.name}' revoked")
    return EXIT_OK


def cmd_audit_verify(args: argparse.Namespace) -> int:
    import json  # noqa: PLC0415

    from hub import audit  # noqa: PLC0415
    from hub.application import HubApplication  # noqa: PLC0415

    database_url, started = store_url()
    try:
        result = audit.verify(database_url, f"{HubApplication.name.lower()}_events")
    finally:
        stop(started)
    print(json.dumps(result.as_json()))
    return EXIT_OK if result.intact else EXIT_FAILURE


def cmd_audit_export(args: argparse.Namespace) -> int:
    from hub import audit  # noqa: PLC0415
    from hub.application import HubApplication  # noqa: PLC0415

    database_url, started = store_url()
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
    try:
        for line in audit.export(
            database_url,
            f"{HubApplication.name.lower()}_events",
            since=args.since,
            until=args.until,
        ):
            out.write(line)
    finally:
        if out is not sys.stdout:
            out.close()
        stop(started)
    return EXIT_OK


def _read_payload(file: str, limit: int) -> bytes:
    try:
        body = Path(file).read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read {file}: {exc.strerror}") from exc
    if len(body) > limit:
        raise CommandError(
            f"{file} has {len(body)} bytes; the limit is {limit} (PAYLOAD_TOO_LARGE)"
        )
    return body


def cmd_adapter_publish(args: argparse.Namespace) -> int:
    import asyncio  # noqa: PLC0415

    import nats  # noqa: PLC0415

    from hub.adapters import config_for  # noqa: PLC0415
    from hub.bootstrap import build_application, resolve_servers  # noqa: PLC0415
    from hub.contracts.adapters import AdapterError  # noqa: PLC0415
    from hub.intake import (  # noqa: PLC0415
        fetch_in,
        owns_cursor,
        record_fetch_failures,
        save_cursor,
        take_in,
    )
    from hub.publish import note_pending, publish_changes  # noqa: PLC0415
    from hub.streams import Streams, ensure_streams  # noqa: PLC0415

    settings = load_settings()
    body = _read_payload(args.file, settings.max_body_bytes)
    try:  # refused input is refused before any server starts
        mapped = take_in(args.system, body, event=args.event, tenant=args.tenant)
    except AdapterError as error:
        where = f" (field {error.field}, rule {error.rule})" if error.field else ""
        raise CommandError(f"{error.reason}: {error.message}{where}") from error
    if mapped.ignored and not mapped.cursor:
        print(f"nothing to publish: {mapped.ignored}", file=sys.stderr)
        return EXIT_OK
    tenant = args.tenant or config_for(args.system).tenant or ""
    database_url, nats_url, started = resolve_servers(settings)
    try:
        app = build_application(settings, database_url)
        try:
            intake = fetch_in(app, args.system, tenant, mapped)
            streams = Streams(settings.nats_prefix)

            async def publish() -> list[str]:
                nc = await nats.connect(nats_url)
                try:
                    js = nc.jetstream()
                    await ensure_streams(js, streams)
                    return await publish_changes(js, streams, intake.events)
                finally:
                    await nc.close()

            ids = asyncio.run(publish())
            note_pending(app, intake.events)
            cases = record_fetch_failures(app, args.system, intake.failures)
            if owns_cursor(args.system):
                save_cursor(app, args.system, tenant, intake.cursor)
        finally:
            app.close()
    finally:
        stop(started)
    for message_id in ids:
        print(message_id)
    for request, error in intake.failures:
        print(f"fetch failed: {request.kind} {request.id}: {error.message}", file=sys.stderr)
    if intake.ignored:
        print(f"nothing to publish: {intake.ignored}", file=sys.stderr)
    return EXIT_FAILURE if cases else EXIT_OK


def adapter_registry() -> dict[str, object]:
    from hub.adapters import registry  # noqa: PLC0415 (imports every adapter package)

    return dict(registry())


def build_parser() -> argparse.ArgumentParser:

    parser = _Parser(
        prog="pshub",
        description="pshub: the canonical, event-sourced data hub of a professional-services "
        "firm. Configuration comes from PSHUB_* environment variables.",
    )
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=_Parser
    )

    serve = commands.add_parser(
        "serve",
        help="run the API, ingest and projections in one process",
        description="Run the hub. Starts embedded PostgreSQL and NATS where PSHUB_DATABASE_URL "
        "or PSHUB_NATS_URL is unset (data under PSHUB_DATA_DIR, default ./var).",
    )
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, help="port to listen on (default 8000)")
    serve.set_defaults(func=cmd_serve)

    worker = commands.add_parser(
        "worker",
        help="run ingest, projections, the relay, pollers or feeds without the API (scale out)",
        description="Run parts of the hub without the HTTP API, beside a running hub "
        "(PSHUB_DATABASE_URL and PSHUB_NATS_URL required). Ingest workers share one JetStream "
        "consumer; each change still applies once. One relay publishes at a time: another "
        "waits and takes over when it stops.",
    )
    worker.add_argument(
        "--run",
        default="ingest",
        help="comma-separated: ingest, projections, relay, pollers, feeds, provisioning "
        "(default ingest)",
    )
    worker.set_defaults(func=cmd_worker)

    demo = commands.add_parser(
        "demo",
        help="load a realistic demo firm into the store",
        description="Load a deterministic demo firm (regions, currencies, clients, engagements, "
        "contracts, rate cards, resources, time, expenses, milestones, invoices, knowledge "
        "assets). Loading the same seed twice changes nothing.",
    )
    demo.add_argument("--seed", type=int, default=7, help="generator seed (default 7)")
    demo.add_argument(
        "--scale",
        type=_positive_float,
        default=1.0,
        help="multiplies every count (default 1.0: 10,000 time entries)",
    )
    demo.set_defaults(func=cmd_demo)

    tokens = commands.add_parser(
        "tokens",
        help="create or revoke API tokens",
        description="Manage bearer tokens; works without a server.",
    )
    token_commands = tokens.add_subparsers(
        dest="tokens_command", metavar="ACTION", required=True, parser_class=_Parser
    )
    create = token_commands.add_parser(
        "create",
        help="create a token and print it (last line)",
        description="Create a token. Scopes: read, read:confidential, read:pii, "
        "write:<system>, operate, audit.",
    )
    create.add_argument("--name", required=True, help="a unique name for the token")
    create.add_argument("--scopes", required=True, help="comma-separated scopes")
    create.set_defaults(func=cmd_tokens_create)
    revoke = token_commands.add_parser(
        "revoke", help="revoke a token by name", description="Revoke the named token."
    )
    revoke.add_argument("name", help="the token's name")
    revoke.set_defaults(func=cmd_tokens_revoke)

    audit = commands.add_parser(
        "audit",
        help="verify or export the audit trail",
        description="Check or export the hash-chained event log.",
    )
    audit_commands = audit.add_subparsers(
        dest="audit_command", metavar="ACTION", required=True, parser_class=_Parser
    )
    verify = audit_commands.add_parser(
        "verify",
        help="recompute the hash chain; exit 1 at the first break",
        description="Recompute every event's hash; print {intact, checked, first_break}.",
    )
    verify.set_defaults(func=cmd_audit_verify)
    export = audit_commands.add_parser(
        "export",
        help="write the log as JSON Lines with chain hashes",
        description="Write every event (or those recorded in [--since, --until)) as JSON "
        "Lines; ops/audit/verify_export.py re-verifies the file offline.",
    )
    export.add_argument("--since", type=_instant, help="RFC 3339 instant, inclusive")
    export.add_argument("--until", type=_instant, help="RFC 3339 instant, exclusive")
    export.add_argument("--output", "-o", help="file to write (default: standard output)")
    export.set_defaults(func=cmd_audit_export)

    projections = commands.add_parser(
        "projections",
        help="rebuild read models from the log",
        description="Projections follow the event log; a rebuild fills a new generation from "
        "position zero beside the live one, catches up, switches reads to it (every running "
        "hub process follows at once), then drops the old one. Runs beside a running hub.",
    )
    projection_commands = projections.add_subparsers(
        dest="projections_command", metavar="ACTION", required=True, parser_class=_Parser
    )
    rebuild = projection_commands.add_parser(
        "rebuild",
        help="rebuild a projection (or all) from position zero",
        description="Rebuild golden_records, exceptions, metrics, a feed (feed.<target>), or "
        "all. A rebuilt feed publishes and delivers nothing its target already has.",
    )
    rebuild.add_argument(
        "name", help="a projection (golden_records, exceptions, metrics, feed.<target>) or all"
    )
    rebuild.add_argument(
        "--grace",
        type=_non_negative_float,
        default=3.0,
        help="seconds between the switch and dropping the old generation (default 3: every "
        "running hub process follows the switch first)",
    )
    rebuild.set_defaults(func=cmd_projections_rebuild)
    replay = commands.add_parser(
        "replay",
        help="replay the log: into every projection, or golden records until an instant",
        description="Without options: replay the event log from position zero into fresh "
        "generations of every projection, then switch reads to them. With --until and --into: "
        "write the golden records exactly as they were at that instant into a new schema, "
        "without touching the live projections.",
    )
    replay.add_argument("--until", type=_instant, help="RFC 3339 instant (recording time)")
    replay.add_argument("--into", help="a new schema for the replayed golden records")
    replay.set_defaults(func=cmd_replay, grace=3.0)
    add_feeds_parser(commands, _Parser)

    adapter = commands.add_parser(
        "adapter",
        help="work with a source system's adapter",
        description="Map a source system's native payloads and publish them to the hub.",
    )
    adapter.add_argument("system", choices=sorted(adapter_registry()), help="the adapter's system")
    adapter_commands = adapter.add_subparsers(
        dest="adapter_command", metavar="ACTION", required=True, parser_class=_Parser
    )
    publish = adapter_commands.add_parser(
        "publish",
        help="map a native payload file and publish its change events",
        description="Map one native payload (a single event, or a page for page-shaped "
        "sources), fetch what key-only notifications name, and publish the canonical change "
        "events to NATS; prints one message id per line.",
    )
    publish.add_argument("file", help="the payload file, exactly as the source sends it")
    publish.add_argument(
        "--event", help="the event name where the body lacks it (Confluence: page_created, ...)"
    )
    publish.add_argument("--tenant", help="the source tenant, where the payload lacks it")
    publish.set_defaults(func=cmd_adapter_publish)
    return parser


def _instant(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an RFC 3339 instant") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"'{text}' has no UTC offset")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a port number") from None
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError(f"{value} is not between 1 and 65535")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be greater than zero")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `pshub` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except KeyboardInterrupt:
        return EXIT_FAILURE
    except Exception as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"pshub: error: {message}", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
