"""Adapters import only the standard library, pydantic, httpx, the public contract
(hub.contracts), the shared refusals, fetching and feeding (outbound answers), and their own
package: never the hub's internals."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ADAPTERS = Path(__file__).resolve().parents[3] / "adapters"
SHARED = (
    "pydantic",
    "httpx",
    "hub.contracts",
    "adapters.refusals",
    "adapters.fetching",
    "adapters.feeding",
)
MODULES = sorted(ADAPTERS.glob("*/*.py"))


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            # A relative import stays inside the adapter's own package.
            modules.add(f"adapters.{path.parent.name}" if node.level else node.module or "")
    return modules


def is_allowed(module: str, system: str) -> bool:
    allowed = (*SHARED, f"adapters.{system}")
    return module.split(".", maxsplit=1)[0] in sys.stdlib_module_names or any(
        module == a or module.startswith(f"{a}.") for a in allowed
    )


@pytest.mark.parametrize("path", MODULES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_adapter_imports_only_stdlib_pydantic_httpx_contracts_refusals_and_itself(
    path: Path,
) -> None:
    system = path.parent.name
    forbidden = sorted(m for m in imported_modules(path) if not is_allowed(m, system))
    assert forbidden == [], f"{system}/{path.name} imports {forbidden}"


@pytest.mark.parametrize("name", ["refusals.py", "fetching.py", "feeding.py"])
def test_the_shared_modules_import_no_adapter_and_nothing_of_the_hub_but_the_contract(
    name: str,
) -> None:
    modules = imported_modules(ADAPTERS / name)
    assert all(is_allowed(m, "shared") for m in modules)
    assert not any(m.startswith("adapters.") and m not in SHARED for m in modules)


def test_the_check_itself_refuses_the_hub_and_other_adapters() -> None:
    assert len({p.parent.name for p in MODULES}) == 9
    assert not is_allowed("hub.settings", "xero")
    assert not is_allowed("adapters.stripe.mapping", "xero")
    assert not is_allowed("fastapi", "xero")
    assert is_allowed("adapters.xero.mapping", "xero")
    assert is_allowed("hub.contracts.adapters", "xero")
