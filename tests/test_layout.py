"""Imports point down the data flow: a gnp module imports its own package or a lower layer, never up or sideways.

The layer order is stated once, here (``LAYERS``), and each package's
``__init__`` docstring says the same in words. Every import counts, also one
inside a function: a function-level import is still a dependency, only a later
one. The notebooks sit on top: their code cells may import any runtime package,
never ``devtools`` or the CLI.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

LIB = Path(__file__).resolve().parents[1] / "lib"
NOTEBOOKS = LIB.parent / "notebooks"
NOT_FOR_NOTEBOOKS = ("devtools", "cli")  # a notebook is a runtime stage (or the dashboard): no developer tool, no CLI

# Bottom to top, along the data flow. Packages on one line share a layer and may not import each other.
LAYERS = (
    ("core",),  # params, table contracts, locations, errors, storage, dates, the run manifest, pure column helpers
    ("lake",),  # Spark, Delta tables, the lake lock
    ("source",),  # the Hyperion contract, client and body; the sample source (generator, loopback API)
    ("bronze",),
    ("quality",),  # checks, stage results, audit before publish
    ("silver",),
    ("gold",),
    ("serving",),  # DuckDB warehouse, BigQuery tables and publish, time travel
    ("dashboard",),
    ("chapters", "display"),  # what the book's chapters and the stage notebooks show
    ("orchestration",),  # runner, book
    ("devtools",),  # outside the runtime path: benches, SQL reference, cluster
    ("cli",),  # the front door: reaches devtools only inside its dev commands
)
RANK = {package: rank for rank, packages in enumerate(LAYERS) for package in packages}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted
    target: str  # the imported gnp module (or name), dotted
    line: int
    in_function: bool


def module_name(path: Path, lib: Path) -> str:
    parts = list(path.relative_to(lib).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def gnp_imports(path: Path, lib: Path) -> list[Import]:
    """Every ``gnp`` import of a module, at any depth, relative ones resolved."""
    name = module_name(path, lib)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    return imports_in(path.read_text(encoding="utf-8"), str(path), name, package)


def imports_in(code: str, filename: str, name: str, package: str) -> list[Import]:
    """Every ``gnp`` import in some Python source read as module ``name`` of ``package``."""
    found: list[Import] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                found.extend(Import(name, a.name, child.lineno, in_function) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    parts = package.split(".")
                    base = ".".join(parts[: len(parts) - child.level + 1] + ([base] if base else []))
                found.extend(Import(name, f"{base}.{a.name}", child.lineno, in_function) for a in child.names)
            visit(child, nested)

    visit(ast.parse(code, filename), False)
    return [i for i in found if i.target.split(".")[0] == "gnp"]


def layer_of(dotted: str) -> str | None:
    """The layer package of a gnp module: ``gnp.silver.stage`` -> ``silver``; None for ``gnp`` itself."""
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 else None


def violations(lib: Path) -> list[str]:
    """Each import pointing up or sideways between layers, and each unlisted package, as one line."""
    problems = []
    for path in sorted((lib / "gnp").rglob("*.py")):
        for imp in gnp_imports(path, lib):
            source, target = layer_of(imp.module), layer_of(imp.target)
            where = f"{path.relative_to(lib.parent)}:{imp.line}: {imp.module} imports {imp.target}"
            if source is None or target is None or target == source or target == "__version__":
                continue
            if source not in RANK or target not in RANK:
                problems.append(f"{where}: {source if source not in RANK else target} is in no layer of LAYERS")
            elif RANK[target] > RANK[source]:
                problems.append(f"{where}: upward ({target} is above {source})")
            elif RANK[target] == RANK[source]:
                problems.append(f"{where}: sideways ({source} and {target} share a layer)")
            elif source == "cli" and target == "devtools" and not imp.in_function:
                problems.append(f"{where}: gnp.cli reaches devtools only inside a command's function")
    return problems


def notebook_imports(path: Path) -> list[Import]:
    """Every ``gnp`` import in a notebook's code cells (IPython's ``%`` and ``!`` lines are not Python)."""
    found = []
    for number, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"], 1):
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
        found.extend(imports_in(code, f"{path.name} cell {number}", f"notebook {path.name} cell {number}", ""))
    return found


def notebook_violations(notebooks: Path) -> list[str]:
    """Each notebook import of a package a notebook may not use (the notebooks sit on top of the runtime layers)."""
    return [f"{imp.module}:{imp.line}: imports {imp.target}: {layer_of(imp.target)} is "
            f"{'outside the runtime path' if layer_of(imp.target) in NOT_FOR_NOTEBOOKS else 'in no layer of LAYERS'}"
            for path in sorted(notebooks.glob("*.ipynb")) for imp in notebook_imports(path)
            if layer_of(imp.target) in NOT_FOR_NOTEBOOKS or layer_of(imp.target) not in RANK]


def test_every_gnp_import_points_down_the_layers():
    assert violations(LIB) == []


def test_no_notebook_imports_a_developer_tool_or_the_command_line():
    assert notebook_violations(NOTEBOOKS) == []


def test_a_planted_notebook_import_of_a_developer_tool_fails_even_inside_a_branch(tmp_path):
    cells = [{"cell_type": "markdown", "source": ["import gnp.devtools.bench"]},
             {"cell_type": "code", "source": ["%matplotlib inline\n", "import gnp.core.context\n"]},
             {"cell_type": "code", "source": ["if True:\n", "    from gnp.devtools import fake_api\n"]},
             {"cell_type": "code", "source": ["from gnp import cli"]}]
    (tmp_path / "10_x.ipynb").write_text(json.dumps({"cells": cells}), encoding="utf-8")
    assert notebook_violations(tmp_path) == [
        "notebook 10_x.ipynb cell 3:2: imports gnp.devtools.fake_api: devtools is outside the runtime path",
        "notebook 10_x.ipynb cell 4:1: imports gnp.cli: cli is outside the runtime path",
    ]


def test_every_package_is_a_layer_and_says_what_it_owns_and_may_import():
    packages = {p.parent.name for p in (LIB / "gnp").glob("*/__init__.py")}
    modules = {p.stem for p in (LIB / "gnp").glob("*.py") if p.name != "__init__.py"}
    assert packages | modules == set(RANK), "LAYERS and lib/gnp's packages differ"
    for package in sorted(packages):
        doc = ast.get_docstring(ast.parse((LIB / "gnp" / package / "__init__.py").read_text(encoding="utf-8")))
        assert doc and "may import" in doc.lower(), f"gnp.{package}'s __init__ docstring does not say what it may import"


def plant(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / "gnp" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


def test_a_planted_upward_import_fails_even_inside_a_function(tmp_path):
    lib = plant(tmp_path, {
        "__init__.py": "",
        "silver/__init__.py": "",
        "silver/stage.py": "from gnp.core.schemas import MEASUREMENTS\n"
                           "def f():\n    from gnp.gold.periods import period_end\n",
        "bronze/ingest.py": "from gnp.devtools import fake_api\n",
        "chapters/data.py": "from gnp.display import common\n",
        "cli.py": "from gnp.devtools import bench\ndef run():\n    from gnp.devtools import fake_api\n",
    })  # fmt: skip
    found = violations(lib)
    assert len(found) == 4, found
    assert "gnp.silver.stage imports gnp.gold.periods.period_end: upward (gold is above silver)" in found[-1]
    assert "gnp.bronze.ingest imports gnp.devtools.fake_api: upward" in found[0]
    assert "sideways (chapters and display share a layer)" in found[1]
    assert "gnp.cli reaches devtools only inside" in found[2] and ":1:" in found[2]


def test_a_relative_import_is_resolved_before_it_is_judged(tmp_path):
    lib = plant(tmp_path, {"core/__init__.py": "", "core/dates.py": "from ..gold import build\nfrom . import schemas\n"})
    assert [v.split(": ", 1)[1] for v in violations(lib)] == [
        "gnp.core.dates imports gnp.gold.build: upward (gold is above core)"
    ]


def test_the_runtime_modules_load_no_developer_tool():
    """What the pipeline image runs (everything but devtools and the cli's dev commands) imports no devtools module."""
    runtime = sorted(
        module_name(p, LIB)
        for p in (LIB / "gnp").rglob("*.py")
        if layer_of(module_name(p, LIB)) not in (None, "devtools")
    )
    code = "import sys\n" + "".join(f"import {m}\n" for m in runtime) + (
        "print(sorted(m for m in sys.modules if m.startswith('gnp.devtools')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    assert out.stdout.strip() == "[]", out.stdout


def test_the_runner_imports_no_run_machinery_until_a_run_needs_it():
    """`gnp run` with a wrong argument answers before papermill, the kernels, the plan's Spark stages or the book load."""
    heavy = ("papermill", "nbconvert", "altair", "gcsfs", "gnp.orchestration.kernels", "gnp.orchestration.book",
             "gnp.orchestration.runplan")
    code = (f"import sys\nimport gnp.cli, gnp.orchestration.runner\n"
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r} or m in {heavy!r}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    assert out.stdout.strip() == "[]", out.stdout
