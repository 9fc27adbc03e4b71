"""DESIGN §2: dependencies point one way — app → reconciliation → projections → domain — with no cycle anywhere;
the domain starts no thread, takes no lock, never sleeps; no one reaches into a library's private members."""

import ast
import importlib
import inspect
import subprocess
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
    outside = {module: files for module, files in imports.items() if module not in allowed}
    # numpy only for the slot's certification maths (DESIGN §2)
    certification = {f for f in outside.pop("numpy", set()) if not f.startswith("domain/slot/certification/")}
    assert (sorted(outside), sorted(certification)) == ([], [])


def test_the_domain_reads_no_clock_and_no_randomness_of_its_own():
    """Time and randomness come in through the ports; numpy's generator, seeded by the caller, is the one exception
    (the certification maths)."""
    imports = imported_top_level_modules("domain")
    assert sorted(set(imports) & {"random", "secrets", "time"}) == []
    read = []
    for path in (ROOT / "domain").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.alias) and node.name in ("uuid1", "uuid4", "urandom", "getrandom", "randbytes"):
                read.append(f"{path.name}: imports {node.name}")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                owner, called = node.func.value, node.func.attr
                if isinstance(owner, ast.Name) and (owner.id, called) in {
                    ("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"),
                    ("uuid", "uuid1"), ("uuid", "uuid4"), ("os", "urandom"), ("np", "random"),
                }:
                    read.append(f"{path.name}:{node.lineno} {owner.id}.{called}()")
    assert read == []


PACKAGES = ("app", "domain", "projections", "reconciliation")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_package(name: str) -> bool:
    return (ROOT / Path(*name.split(".")) / "__init__.py").exists()


def our_modules() -> dict[str, ast.Module]:
    return {module_name(p): ast.parse(p.read_text(), filename=str(p)) for package in PACKAGES for p in (ROOT / package).rglob("*.py")}


def import_graph() -> dict[str, set[str]]:
    """Each of our modules and ours it imports, anywhere in it (under TYPE_CHECKING and inside functions too)."""
    modules = our_modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, tree in modules.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and (node.module or node.level):
                base = node.module or ""
                if node.level:  # relative: from the importing module's package
                    package = name.split(".")[:-node.level] if not is_package(name) else name.split(".")[: len(name.split(".")) - node.level + 1]
                    base = ".".join([*package, *([node.module] if node.module else [])])
                # ``from package import module`` imports the module; ``from module import name`` the module
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
            else:
                continue
            graph[name] |= {target for target in targets if target in modules and target != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_one_that_imports_it_back():
    assert cycles(import_graph()) == []


def test_the_cycle_check_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_domain_starts_no_thread_takes_no_lock_and_never_sleeps():
    concurrency = {"threading", "_thread", "multiprocessing", "concurrent", "asyncio", "gevent", "queue", "sched"}
    imports = imported_top_level_modules("domain")
    assert sorted(set(imports) & concurrency) == []
    sleeps = []
    for path in (ROOT / "domain").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            # ``retry`` is eventsourcing's decorator that sleeps between attempts
            if isinstance(node, ast.Attribute) and node.attr in ("sleep", "retry") or isinstance(node, ast.alias) and node.name in ("sleep", "retry"):
                sleeps.append(f"{path.relative_to(ROOT)}:{node.lineno if hasattr(node, 'lineno') else ''}")
    assert sleeps == []


# Extension points the libraries document, though their names start with an underscore: namedtuple's, a
# marshmallow field's, an eventsourcing aggregate's ``_create`` and a tracking recorder's ``_insert_tracking``
# (the library's examples write a view and its tracking row in one transaction with it).
DOCUMENTED = {"_make", "_asdict", "_replace", "_fields", "_serialize", "_deserialize", "_create", "_insert_tracking"}


def test_no_module_reaches_into_anothers_private_members():
    reached = []
    for name, tree in our_modules().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                owner = node.value
                if isinstance(owner, ast.Name) and owner.id in ("self", "cls") or node.attr in DOCUMENTED:
                    continue
                reached.append(f"{name}:{node.lineno} {ast.unparse(node)}")
    assert reached == []


def test_no_class_uses_a_private_member_its_library_base_defines():
    """``self._x`` is a class's own, unless a library class it derives from has ``_x``: then it is the library's."""
    used = []
    for name in sorted(set(our_modules()) - {"app.wsgi"}):
        module = importlib.import_module(name)
        tree = ast.parse(inspect.getsource(module))
        classes = {node.name: node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)}
        for cls in vars(module).values():
            if not inspect.isclass(cls) or cls.__module__ != name or cls.__name__ not in classes:
                continue
            library_bases = [base for base in cls.__mro__[1:] if base.__module__.split(".")[0] not in (*PACKAGES, "builtins", "typing")]
            for node in ast.walk(classes[cls.__name__]):
                if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
                        and node.attr.startswith("_") and not node.attr.startswith("__") and node.attr not in DOCUMENTED
                        and any(hasattr(base, node.attr) for base in library_bases)):
                    used.append(f"{name}.{cls.__qualname__}: {ast.unparse(node)}")
    assert used == []


def test_no_module_reads_a_private_member_by_its_name():
    read = []
    for name, tree in our_modules().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("getattr", "setattr", "hasattr"):
                if len(node.args) > 1 and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str):
                    member = node.args[1].value
                    if member.startswith("_") and not member.startswith("__"):
                        read.append(f"{name}:{node.lineno} {ast.unparse(node)}")
    assert read == []


def test_no_class_overrides_a_librarys_private_method():
    overridden = []
    for name in sorted(set(our_modules()) - {"app.wsgi"}):  # the one module that builds the app when imported
        module = importlib.import_module(name)
        for cls in vars(module).values():
            if not inspect.isclass(cls) or cls.__module__ != name:
                continue
            library_bases = [base for base in cls.__mro__[1:] if base.__module__.split(".")[0] not in (*PACKAGES, "builtins", "typing")]
            for member, value in vars(cls).items():
                if member.startswith("_") and not member.startswith("__") and member not in DOCUMENTED and inspect.isfunction(value):
                    if any(inspect.isfunction(vars(base).get(member)) for base in library_bases):
                        overridden.append(f"{name}.{cls.__qualname__}.{member}")
    assert overridden == []


def printed_by(probe: str) -> str:
    """What ``probe`` prints, run in a fresh interpreter: what it imports is not already imported by the tests."""
    return subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()


def test_gunicorns_master_loads_no_database_driver_before_gevent_patches_its_workers():
    """The master imports the hooks and the log formatter; a psycopg imported there would be inherited by
    the forked workers with a wait function chosen before gevent's patches: one that blocks the worker."""
    probe = (
        "import sys, logging.config, app.gunicorn_hooks as hooks\n"
        "logging.config.dictConfig(hooks.logconfig_dict)\n"
        "logging.getLogger('gunicorn.error').info('booting')\n"
        "print(sorted(m for m in ('psycopg', 'eventsourcing', 'flask', 'gevent') if m in sys.modules))\n"
    )
    loaded = printed_by(probe)
    assert loaded == "[]"


def test_the_served_workers_wait_on_the_database_cooperatively():
    """In the order gunicorn runs them: the master's imports, then in the worker gevent's patches, then the app."""
    probe = (
        "import logging.config, app.gunicorn_hooks as hooks\n"
        "logging.config.dictConfig(hooks.logconfig_dict)\n"
        "from gevent import monkey; monkey.patch_all()\n"
        "import app.factory, psycopg.waiting as waiting\n"
        "print(waiting.wait.__name__)\n"
    )
    chosen = printed_by(probe)
    assert chosen != "wait_c"  # psycopg's C wait blocks the whole process


# A probe's start: gunicorn's configuration as `-c python:app.gunicorn_hooks` gives it, in `loader.cfg` (only the
# application's reading of its configuration is used), and the hooks module as `hooks`.
GUNICORN_CONFIG_LOADED = (
    "import app.gunicorn_hooks as hooks\n"
    "from gunicorn.app.base import Application\n"
    "from gunicorn.config import Config\n"
    "loader = Application.__new__(Application)\n"
    "loader.cfg = Config()\n"
    "loader.load_config_from_module_name_or_filename('python:app.gunicorn_hooks')\n"
)


def test_a_served_worker_takes_what_it_loaded_out_of_the_garbage_collectors_full_passes():
    """gunicorn calls ``post_worker_init`` once the worker has loaded the app; what exists then is frozen."""
    probe = (
        "import gc\n"
        + GUNICORN_CONFIG_LOADED +
        "import app.factory\n"
        "before = gc.get_freeze_count()\n"
        "loader.cfg.post_worker_init(None)\n"
        "print(loader.cfg.post_worker_init is hooks.post_worker_init, before, gc.get_freeze_count() > 10_000)\n"
    )
    frozen = printed_by(probe)
    assert frozen == "True 0 True"


def test_a_served_worker_builds_no_line_for_gunicorns_own_access_log():
    """The app writes the one line per request; gunicorn's logger, as ``-c python:app.gunicorn_hooks`` configures
    it, neither builds its line's fields nor logs a record for it."""
    probe = (
        "import logging\n"
        + GUNICORN_CONFIG_LOADED +
        "log = loader.cfg.logger_class(loader.cfg)\n"
        "built, records = [], []\n"
        "log.atoms = lambda *args: built.append(args) or {}\n"
        "logging.getLogger('gunicorn.access').handle = records.append\n"
        "log.access(None, None, {}, None)\n"
        "print(loader.cfg.logger_class is hooks.WithoutAccessLog, len(built), len(records))\n"
    )
    assert printed_by(probe) == "True 0 0"
