"""The layers contract (.importlinter, run by `make lint`) sees every import; this test keeps them visible:
no function-local import of another of our packages, which would hide a cycle the contract should refuse.
Migrations are frozen history and are left out."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("orgs", "approvals", "workflows", "printing", "designations", "config", "security")


def _local_imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    own = path.relative_to(ROOT).parts[0]
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.ImportFrom) and inner.level == 0 and inner.module:
                names = [inner.module]
            elif isinstance(inner, ast.Import):
                names = [alias.name for alias in inner.names]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in PACKAGES and top != own:
                    yield f"{path.relative_to(ROOT)}:{inner.lineno} {node.name}() imports {name}"


def test_no_function_local_import_across_packages():
    found = [hit for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))
             if "migrations" not in path.parts for hit in _local_imports(path)]
    assert not found, "\n".join(found)
