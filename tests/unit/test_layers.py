"""The import rules of ARCHITECTURE.md, enforced: pure modules import no I/O (also transitively),
product code never imports the simulator or the Slack emulator, and only config reads os.environ."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "podbot"
PURE = [
    "podbot.core.model",
    "podbot.commands",
    "podbot.core.pods.status",
    "podbot.core.diagnosis.rules",
    "podbot.core.policy",
    "podbot.render.blocks",
    "podbot.render.approvals",
    "podbot.render.audit",
    "podbot.core.results",
    "podbot.core.manifests",
    "podbot.core.pods.summary",
    "podbot.core.records",
    "podbot.core.redaction",
    "podbot.core.digests",
    "podbot.render.digests",
]
IO_LIBRARIES = {
    "kubernetes",
    "slack_bolt",
    "slack_sdk",
    "sqlalchemy",
    "socket",
    "http",
    "urllib3",
    "urllib",
    "requests",
    "subprocess",
    "psycopg",
    "apscheduler",
    "waitress",
    "alembic",
}
TEST_INFRA = ("podbot.sim", "podbot.localslack")


def module_file(name: str) -> Path | None:
    base = ROOT.parent / name.replace(".", "/")
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def runtime_imports(path: Path) -> set[str]:
    """Modules imported at run time (imports under `if TYPE_CHECKING:` do not count)."""
    tree = ast.parse(path.read_text())
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for child in node.body for n in ast.walk(child))
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def closure(start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = module_file(name)
        if path is None:
            continue
        for imported in runtime_imports(path):
            if imported.startswith("podbot"):
                todo.append(imported)
            else:
                seen.add(imported)
    return seen


def test_pure_modules_import_no_io_even_indirectly() -> None:
    for module in PURE:
        if module_file(module) is None:
            continue  # not written yet
        bad = {m for m in closure(module) if m.split(".")[0] in IO_LIBRARIES}
        assert not bad, f"{module} reaches I/O libraries: {sorted(bad)}"


def test_product_code_never_imports_test_infrastructure() -> None:
    for path in ROOT.rglob("*.py"):
        module = ".".join(path.relative_to(ROOT.parent).with_suffix("").parts)
        if (
            module.startswith(TEST_INFRA)
            or module in ("podbot.cli", "podbot.demo")
            or module.startswith("podbot.demo.")
        ):
            continue
        bad = {m for m in runtime_imports(path) if m.startswith(TEST_INFRA)}
        assert not bad, f"{module} imports {sorted(bad)}"


def test_only_config_reads_the_environment() -> None:
    # The CLI entry points hand os.environ to load_settings; nothing else reads it.
    allowed = {"podbot/server/config.py", "podbot/cli.py", "podbot/server/serve.py"}
    for path in ROOT.rglob("*.py"):
        rel = str(path.relative_to(ROOT.parent))
        if rel in allowed or rel.startswith(("podbot/sim/", "podbot/localslack/")):
            continue
        source = path.read_text()
        assert "os.environ" not in source and "getenv(" not in source, rel
