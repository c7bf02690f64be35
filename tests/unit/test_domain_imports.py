"""The domain imports only the standard library, eventsourcing.domain, iso4217 and itself."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[2] / "domain"
ALLOWED = {"eventsourcing.domain", "iso4217"}


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            # A relative import stays inside the package.
            modules.add("domain" if node.level else node.module or "")
    return modules


def is_allowed(module: str) -> bool:
    top = module.split(".", maxsplit=1)[0]
    return (
        top == "domain"
        or top in sys.stdlib_module_names
        or module in ALLOWED
        or any(module.startswith(f"{allowed}.") for allowed in ALLOWED)
    )


@pytest.mark.parametrize("path", sorted(DOMAIN.glob("*.py")), ids=lambda p: p.name)
def test_domain_module_imports_only_stdlib_eventsourcing_domain_and_iso4217(path: Path) -> None:
    forbidden = sorted(m for m in imported_modules(path) if not is_allowed(m))
    assert forbidden == [], f"{path.name} imports {forbidden}"


def test_the_check_itself_refuses_other_packages() -> None:
    assert not is_allowed("eventsourcing.application")
    assert not is_allowed("pydantic")
    assert not is_allowed("hub.settings")
    assert is_allowed("eventsourcing.domain")
    assert is_allowed("decimal")
