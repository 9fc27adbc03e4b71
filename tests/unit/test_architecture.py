"""DESIGN §2: dependencies point one way — app → reconciliation → projections → domain."""

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {
    "domain": {"app", "projections", "reconciliation", "flask", "flask_smorest", "marshmallow", "psycopg", "psycopg_pool"},
    "projections": {"app", "reconciliation", "flask", "flask_smorest", "marshmallow"},
    "reconciliation": {"app", "flask", "flask_smorest", "marshmallow"},
}


def imported_top_level_modules(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], set()).add(str(path.relative_to(ROOT)))
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_package_imports_nothing_upstream_of_it(package):
    imports = imported_top_level_modules(package)
    offending = {module: sorted(files) for module, files in imports.items() if module in FORBIDDEN[package]}
    assert offending == {}


def test_the_domain_imports_only_the_standard_library_and_eventsourcing():
    imports = imported_top_level_modules("domain")
    allowed = set(sys.stdlib_module_names) | {"eventsourcing", "domain", "__future__"}
    assert sorted(set(imports) - allowed) == []


def test_the_domain_reads_no_clock_and_no_randomness_of_its_own():
    for path in (ROOT / "domain").rglob("*.py"):
        source = path.read_text()
        for call in ("datetime.now(", "datetime.utcnow(", "time.time(", "random.", "os.urandom", "uuid4(", "date.today("):
            assert call not in source, f"{path.name} calls {call}"
