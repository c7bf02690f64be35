"""`pshub feeds migrate <category> --from <system> --to <system>`: a firm moves a category
(billing from QuickBooks to Xero, the ERP from Odoo to NetSuite) to another system; see
hub/feeds/migration.py for what it does, in order. Idempotent: run again, it changes nothing."""

from __future__ import annotations

import argparse
import getpass
import sys

from hub.cli_support import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, Bar, load_settings, stop, store_url


def cmd_feeds_migrate(args: argparse.Namespace) -> int:
    from hub.bootstrap import Hub, build_application  # noqa: PLC0415
    from hub.feeds.migration import MigrationRefused, check, migrate  # noqa: PLC0415

    try:  # refused before any server starts
        check(args.category, args.source, args.target)
    except MigrationRefused as refused:
        print(f"pshub feeds migrate: error: {refused} ({refused.field}: {refused.rule})",
              file=sys.stderr)  # fmt: skip
        return EXIT_USAGE if refused.usage else EXIT_FAILURE
    settings = load_settings()
    database_url, started = store_url()
    try:
        app = build_application(settings, database_url)
        try:
            # The hub's own feeds, unstarted: only their acknowledgement path is used (the
            # target's ids become xrefs, as when the running feed delivers).
            feeds = Hub(settings, database_url, "", app).feeds_of()
            with Bar() as bar:
                done = migrate(
                    app,
                    args.category,
                    args.source,
                    args.target,
                    actor=f"cli:{getpass.getuser()}",
                    database_url=database_url,
                    acknowledge=feeds.acknowledge,
                    backoff=feeds.backoff,
                    progress=bar.update,
                    await_provisioning=settings.feeds_await(),
                )
        finally:
            app.close()
    finally:
        stop(started)
    migration = done.migration
    if done.changed:
        print(f"{done.category}: moved from {done.source} to {done.target} at position "
              f"{migration.position}; the {done.source} feed is retired")  # fmt: skip
    else:
        print(f"{done.category}: moved from {done.source} to {done.target} already (at position "
              f"{migration.position}, {migration.migrated_at:%Y-%m-%d %H:%M:%SZ}, by "
              f"{migration.actor}); nothing recorded again")  # fmt: skip
    print(f"feed.{done.target}: generation {done.generation} at position {done.position}; "
          f"{done.delivered} item(s) delivered now")  # fmt: skip
    if not done.connector:
        print(f"no connector for {done.target} (PSHUB_FEED_{done.target.upper()}_BASE_URL): "
              f"its feed is published on feed.{done.target}.* only")  # fmt: skip
    if done.carried:
        numbers = ", ".join(done.carried[:10]) + ("..." if len(done.carried) > 10 else "")
        print(f"{len(done.carried)} open invoice(s) of {done.source} carried to {done.target} "
              f"(their open balance, under the same number): {numbers}")  # fmt: skip
    elif migration.open_invoices:
        print(f"{len(migration.open_invoices)} open invoice(s) of {done.source} were carried "
              f"to {done.target} when the migration was recorded")  # fmt: skip
    if done.held_by_both:
        print(f"{done.held_by_both} item(s) {done.source} was given before the migration are "
              f"held by {done.target} now too (a billable line as an unsent document): void "
              f"them in {done.source} (the hub never deletes downstream)")  # fmt: skip
    pending = done.backlog.get("pending", 0)
    if pending:
        why = f" ({done.waiting_on})" if done.waiting_on else ""
        drain = "the running feed delivers them, or run this again"
        print(f"{pending} item(s) wait in the {done.target} backlog{why}: they drain when it "
              f"answers ({drain})", file=sys.stderr)  # fmt: skip
    return EXIT_OK


def add_feeds_parser(commands: argparse._SubParsersAction, parser_class: type) -> None:
    """`pshub feeds ...` under the top-level parser."""
    from hub.feeds.assignments import CATEGORIES  # noqa: PLC0415

    feeds = commands.add_parser(
        "feeds",
        help="move a feed category to another downstream system",
        description="Each downstream system is fed from the log (feed.<target>.<entity>, and "
        "its API where a connector is configured).",
    )
    actions = feeds.add_subparsers(
        dest="feeds_command", metavar="ACTION", required=True, parser_class=parser_class
    )
    migrate = actions.add_parser(
        "migrate",
        help="move a category (erp, billing, psa, knowledge) from one system to another",
        description="Record the migration and retire the old system's feed (no running hub "
        "process publishes or delivers it any more), build the new system's feed from the log "
        "and deliver what it must hold now. Idempotent: run again, it changes nothing and "
        "delivers nothing twice. What the target does not take now waits in its backlog.",
    )
    migrate.add_argument("category", choices=CATEGORIES, help="the category to move")
    migrate.add_argument(
        "--from", dest="source", required=True, help="the system the category moves from"
    )
    migrate.add_argument(
        "--to", dest="target", required=True, help="the system (a feed target) it moves to"
    )
    migrate.set_defaults(func=cmd_feeds_migrate)
