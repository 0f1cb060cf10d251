"""The shape of the code: no import circle in app/ (every import counts, also one inside a function)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in APP.rglob("*.py")}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            # `from pkg import mod` names the module; `from mod import thing` names mod.
            targets = [f"{prefix}.{a.name}" if f"{prefix}.{a.name}" in known else prefix for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_import_circle_in_app():
    modules = _modules()
    known = set(modules)
    # The app package's own __init__ builds the app from every blueprint: it sits on top, and
    # nothing below it imports it (checked here, since it is left out of the graph).
    graph = {name: _imports(name, path, known) - {"app"} for name, path in modules.items() if name != "app"}
    importers_of_top = [n for n, p in modules.items() if n != "app" and "app" in _imports(n, p, known)]
    assert importers_of_top == [], importers_of_top
    assert _circles(graph) == []


def test_the_circle_finder_finds_a_circle():
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _circles({"a": {"b"}, "b": set()}) == []


def test_one_ledger_writer_every_movement_row_is_written_in_services_stock():
    import re

    writers = []
    for path in APP.rglob("*.py"):
        text = path.read_text()
        rel = str(path.relative_to(ROOT))
        if re.search(r"INSERT INTO movements|Movement\.__table__\.insert|insert\(Movement\)", text, re.I) \
                or re.search(r"\bs(?:ession)?\.add(?:_all)?\(\s*(?:_movement|Movement)\(", text):
            writers.append(rel)
    assert writers == ["app/services/stock.py"], writers


def test_no_blueprint_writes_stock():
    # Routes translate HTTP: a balance or a movement is written by a service, never in a blueprint.
    for name in ("floor", "tasks", "control", "office", "scanning", "auth", "api/__init__"):
        text = (APP / f"{name}.py").read_text()
        for needle in ("add_to_balance", "lock_balance", "movement_row", "write_movement", "apply_in("):
            assert needle not in text, (name, needle)


# Where the app writes to a host's own disk, and why each is fine with several hosts on one database:
# all are in the instance folder, and none is state the site needs on every host.
DISK_WRITES = {
    "app/__init__.py": "the instance folder itself",
    "app/config.py": "instance/secret_key, the one-machine key (several hosts set SECRET_KEY instead)",
    "app/services/demo.py": "instance/demo-accounts.txt, the demo site's passwords for whoever ran make run",
    "app/db_setup.py": "the SQLite write gate's lock file, beside a SQLite database (one machine only)",
}
WRITES = re.compile(r"write_bytes\(|write_text\(|open\([^)]*['\"][wax]b?\+?['\"]|os\.open\(|imwrite|\.mkdir\(|"
                    r"shutil\.(copy|move)|NamedTemporaryFile|mkstemp|\.save\(\s*['\"/]")


def test_nothing_on_the_multi_host_path_writes_to_a_hosts_own_disk():
    """Photos, labels, imports and deliveries live in the database; a new write to a local file must be
    argued for here."""
    found = {}
    for path in APP.rglob("*.py"):
        rel = str(path.relative_to(ROOT))
        if rel == "app/translations/fill.py":  # a developer's tool that writes the catalogues
            continue
        lines = [n for n, line in enumerate(path.read_text().splitlines(), 1) if WRITES.search(line)]
        if lines:
            found[rel] = lines
    assert set(found) <= set(DISK_WRITES), {k: v for k, v in found.items() if k not in DISK_WRITES}
