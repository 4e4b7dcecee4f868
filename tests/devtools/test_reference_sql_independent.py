"""The DuckDB reference is an independent check: it imports from gnp only the table contracts and the params.

A reference that borrows the Spark side's constants or helpers agrees with
Spark by construction, and a wrong constant goes unnoticed on both sides. So
every module of ``gnp.devtools.reference_sql`` may import only ``gnp.core.schemas`` (the
table contracts), ``gnp.core.config`` (the params) and its own package.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = "gnp.devtools.reference_sql"
LIB = Path(__file__).resolve().parents[2] / "lib"
PACKAGE_DIR = LIB / "gnp" / "devtools" / "reference_sql"
ALLOWED = ("gnp.core.schemas", "gnp.core.config", PACKAGE)
DYNAMIC_IMPORTS = ("import_module", "__import__")


def _resolve(node: ast.ImportFrom, module: str) -> str:
    """The absolute module an ``ImportFrom`` names, relative imports resolved against ``module``."""
    if not node.level:
        return node.module or ""
    base = module.split(".")[: -node.level]
    return ".".join(base + ([node.module] if node.module else []))


def imported_modules(source: str, module: str) -> list[tuple[int, str]]:
    """(line, module) for every import in ``source``, at any depth (function-local imports too).

    ``from gnp.p import x`` counts as importing ``gnp.p.x`` when ``gnp.p`` is a package; ``importlib.import_module("...")``
    and ``__import__("...")`` with a literal name count as imports of that name.
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(node, module)
            if (LIB / target.replace(".", "/")).is_dir():
                found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, target))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if name in DYNAMIC_IMPORTS and isinstance(node.args[0].value, str):
                found.append((node.lineno, node.args[0].value))
    return found


def is_allowed(module: str) -> bool:
    """Not a gnp module, or one of the allowed ones (or a module inside them)."""
    if module != "gnp" and not module.startswith("gnp."):
        return True
    return any(module == allowed or module.startswith(allowed + ".") for allowed in ALLOWED)


def forbidden_imports() -> list[str]:
    problems = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        relative = path.relative_to(PACKAGE_DIR).with_suffix("")
        parts = [p for p in relative.parts if p != "__init__"]
        module = ".".join([PACKAGE, *parts]) if path.name != "__init__.py" else ".".join([PACKAGE, *parts, "__init__"])
        for line, imported in imported_modules(path.read_text(encoding="utf-8"), module):
            if not is_allowed(imported):
                problems.append(f"{path.relative_to(PACKAGE_DIR.parents[2])}:{line} imports {imported}")
    return problems


def test_the_reference_imports_only_the_table_contracts_the_params_and_itself():
    problems = forbidden_imports()

    assert not problems, (
        f"gnp.devtools.reference_sql may import from gnp only {', '.join(ALLOWED)}; state the rule in the reference "
        "instead (citing hyperion-source.md or the README). Found:\n" + "\n".join(problems))


@pytest.mark.parametrize(
    "source, forbidden",
    [
        ("from gnp.silver import cleaning", ["gnp.silver.cleaning"]),
        ("from gnp import serving", ["gnp.serving"]),
        ("from gnp.core import schemas, registry", ["gnp.core.registry"]),
        ("import gnp.gold.histogram as h", ["gnp.gold.histogram"]),
        ("def f():\n    from gnp.silver.parse import BronzeFile", ["gnp.silver.parse"]),
        ("from ...silver import cleaning", ["gnp.silver.cleaning"]),
        ("from .. import bench", ["gnp.devtools.bench"]),
        ("import importlib\nimportlib.import_module('gnp.silver.cleaning')", ["gnp.silver.cleaning"]),
        ("from gnp.core.schemas import TABLES\nfrom gnp.core.config import SemanticsParams\nfrom . import gold\n"
         "from gnp.devtools.reference_sql.source import API_FIELDS\nimport duckdb", []),
    ],
)
def test_the_import_check_sees_every_kind_of_import(source, forbidden):
    """The checker itself: absolute, ``from <package> import``, function-local, relative and dynamic imports."""
    found = [m for _, m in imported_modules(source, f"{PACKAGE}.silver") if not is_allowed(m)]

    assert found == forbidden, f"expected {forbidden} to be flagged in {source!r}, found {found}"


def _modules_loaded_by(imports: str) -> set[str]:
    """gnp and pyspark modules in ``sys.modules`` after ``imports`` in a fresh interpreter."""
    code = (f"import sys, {imports}\n"
            "print('\\n'.join(m for m in sys.modules if m.split('.')[0] in ('gnp', 'pyspark')))")
    return set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split())


def test_importing_the_reference_loads_nothing_beyond_what_the_contracts_and_params_load():
    """In fact, not only in the source text: the reference pulls in neither the Spark side nor pyspark."""
    baseline = _modules_loaded_by("gnp.core.schemas, gnp.core.config")
    loaded = _modules_loaded_by("gnp.devtools.reference_sql, gnp.devtools.reference_sql.silver")

    # gnp.devtools itself (a docstring) comes along with its subpackage
    others = sorted(m for m in loaded - baseline if not m.startswith(PACKAGE) and not PACKAGE.startswith(m + "."))
    assert not others, f"importing gnp.devtools.reference_sql loaded {others}"
