"""Fixtures over the real store: the application, the API, and tokens of every scope."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.auth import TokenStore
from hub.bootstrap import Hub, build_hub
from hub.settings import Settings


@pytest.fixture(scope="session")
def hub(settings: Settings) -> Iterator[Hub]:
    built = build_hub(settings)
    yield built
    built.close()


@pytest.fixture(scope="session")
def api(hub: Hub) -> Iterator[TestClient]:
    with TestClient(create_app(hub), raise_server_exceptions=False) as client:
        yield client


class Tokens:
    """Creates tokens on demand and hands out their Authorization headers."""

    def __init__(self, database_url: str) -> None:
        self.store = TokenStore(database_url)
        self._made: dict[str, str] = {}

    def headers(self, *scopes: str) -> dict[str, str]:
        key = ",".join(sorted(scopes))
        if key not in self._made:
            name = "t-" + key.replace(":", "_").replace(",", "-")
            self._made[key] = self.store.create(name, scopes)
        return {"Authorization": f"Bearer {self._made[key]}"}


@pytest.fixture(scope="session")
def tokens(hub: Hub) -> Tokens:
    return Tokens(hub.database_url)
