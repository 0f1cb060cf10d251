"""The stock rules import nothing from Flask, SQLAlchemy or the web."""

import ast
import subprocess
import sys
from pathlib import Path

DOMAIN = Path(__file__).resolve().parents[2] / "app" / "domain"
FORBIDDEN = ("flask", "sqlalchemy", "werkzeug", "jinja2", "flask_sqlalchemy", "psycopg")


def test_the_domain_source_imports_no_framework():
    for path in DOMAIN.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN, f"{path.name} imports {name}"


def test_the_domain_loads_alone_without_pulling_in_a_framework():
    # Loaded by file path, so the app package (which is Flask) is not run.
    code = f"""
import importlib.util, sys
for name in ("stock", "gtin"):
    spec = importlib.util.spec_from_file_location("domain_" + name, r"{DOMAIN}/" + name + ".py")
    mod = importlib.util.module_from_spec(spec); sys.modules[spec.name] = mod; spec.loader.exec_module(mod)
bad = sorted(m for m in sys.modules if m.split(".")[0] in {FORBIDDEN!r})
print(",".join(bad))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
