"""`pshub projections rebuild` and `pshub replay`: long work over the whole log, with a bar."""

from __future__ import annotations

import argparse

from hub.cli_support import EXIT_OK, Bar, CommandError, load_settings, stop, store_url


def cmd_projections_rebuild(args: argparse.Namespace) -> int:
    from hub.bootstrap import build_application  # noqa: PLC0415
    from hub.collector import tune_garbage_collector  # noqa: PLC0415
    from hub.feeds.running import feed_names, feed_view, is_feed, rebuild_feed  # noqa: PLC0415
    from hub.projecting import KINDS, rebuild  # noqa: PLC0415

    known = [*KINDS, *feed_names()]
    if args.name != "all" and args.name not in known:
        raise CommandError(f"no projection {args.name}; projections: {', '.join(known)}, all")
    names = known if args.name == "all" else [args.name]
    database_url, started = store_url()
    try:
        settings = load_settings()
        app = build_application(settings, database_url)
        # A rebuild keeps thousands of aggregates and a page of events alive: with the
        # collector's defaults its passes over them were a tenth of a rebuild's CPU.
        tune_garbage_collector()
        try:
            with Bar() as bar:
                for name in names:
                    if is_feed(name):  # a feed keeps its own ledger of what the target holds
                        fed = rebuild_feed(app, name, await_provisioning=settings.feeds_await())
                        feed_view(app, name[5:], fed["generation"] - 1).drop()
                        print(f"{name}: generation {fed['generation']} at position "
                              f"{fed['position']}")  # fmt: skip
                        continue
                    done = rebuild(app, name, progress=bar.update, grace=args.grace)
                    print(f"{name}: generation {done.generation} at position {done.position}")
        finally:
            app.close()
    finally:
        stop(started)
    return EXIT_OK


def cmd_replay(args: argparse.Namespace) -> int:
    if args.until is None and args.into is None:
        args.name = "all"  # `pshub replay`: every projection from position zero
        return cmd_projections_rebuild(args)
    if args.until is None or args.into is None:
        raise CommandError("--until and --into go together (or neither: rebuild every projection)")
    from hub.bootstrap import build_application  # noqa: PLC0415
    from hub.collector import tune_garbage_collector  # noqa: PLC0415
    from hub.replay import check_schema, replay  # noqa: PLC0415

    database_url, started = store_url()
    try:
        settings = load_settings()
        app = build_application(settings, database_url)
        tune_garbage_collector()  # as a rebuild's
        try:
            check_schema(app, args.into)  # refused before any bar is drawn
            with Bar() as bar:
                done = replay(app, args.until, args.into, progress=bar.update)
        finally:
            app.close()
    finally:
        stop(started)
    until = args.until.isoformat()
    print(f"golden records as of {until} in schema {args.into} (position {done.position})")
    return EXIT_OK
