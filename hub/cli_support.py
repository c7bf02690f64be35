"""What the `pshub` commands share: exit codes, the one-line error, the store and a progress bar."""

from __future__ import annotations

from hub.settings import Settings

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class CommandError(Exception):
    """A command failed in a way the user can act on; printed as one line, exit code 1."""


def load_settings() -> Settings:
    return Settings()


def store_url() -> tuple[str, list[object]]:
    """The configured store, or the embedded one (started here if the hub is not running)."""
    from hub.bootstrap import resolve_servers  # noqa: PLC0415

    database_url, _, started = resolve_servers(load_settings(), nats=False)
    return database_url, started


def stop(started: list[object]) -> None:
    for server in reversed(started):
        server.stop()  # type: ignore[attr-defined]


class Bar:
    """A rich progress bar on standard error for long work: position, rate, ETA."""

    def __init__(self) -> None:
        from rich.console import Console  # noqa: PLC0415 (only long commands draw bars)
        from rich.progress import (  # noqa: PLC0415
            BarColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("position {task.completed:,.0f}/{task.total:,.0f}"),
            TextColumn("{task.fields[rate]:,.0f} events/s"),
            TextColumn("{task.fields[state]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self.tasks: dict[str, object] = {}

    def __enter__(self) -> Bar:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(*exc)  # type: ignore[arg-type]

    def update(self, progress: object) -> None:
        name = progress.name  # type: ignore[attr-defined]
        if name not in self.tasks:
            self.tasks[name] = self.bar.add_task(
                name,
                total=progress.head,
                rate=0.0,
                state=progress.state,  # type: ignore[attr-defined]
            )
        self.bar.update(
            self.tasks[name],  # type: ignore[arg-type]
            completed=progress.position,  # type: ignore[attr-defined]
            total=max(progress.head, progress.position),  # type: ignore[attr-defined]
            rate=progress.rate,  # type: ignore[attr-defined]
            state=progress.state,  # type: ignore[attr-defined]
        )
