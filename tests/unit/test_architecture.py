"""The architecture's rules, checked by import-linter (pyproject.toml [tool.importlinter]): one test
per contract, so a broken rule names itself. `.ci/run` runs `lint-imports` too."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from importlinter.api import read_configuration

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = [c["name"] for c in read_configuration(str(ROOT / "pyproject.toml"))["contracts_options"]]


@pytest.fixture(scope="module")
def report() -> str:
    """`lint-imports` on the real tree (TYPE_CHECKING imports count, like any other)."""
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    return " ".join((result.stdout + result.stderr).split())  # long names wrap in its output


def test_every_contract_of_the_architecture_is_there() -> None:
    assert len(CONTRACTS) >= 6
    assert any("cycles" in name for name in CONTRACTS) and any("Layers" in name for name in CONTRACTS)


@pytest.mark.parametrize("contract", CONTRACTS)
def test_contract_is_kept(report: str, contract: str) -> None:
    assert f"{contract} KEPT" in report, report


def test_only_config_reads_the_environment() -> None:
    # The CLI entry points hand os.environ to load_settings; nothing else reads it.
    allowed = {"podbot/server/config.py", "podbot/cli.py", "podbot/server/serve.py"}
    for path in (ROOT / "podbot").rglob("*.py"):
        rel = str(path.relative_to(ROOT))
        if rel in allowed or rel.startswith(("podbot/sim/", "podbot/localslack/")):
            continue
        source = path.read_text()
        assert "os.environ" not in source and "getenv(" not in source, rel


@pytest.mark.slow
def test_a_planted_violation_breaks_its_contract(tmp_path: Path) -> None:
    """The check can fail: the same contracts on a copy of the tree where pure core imports the sim."""
    import shutil

    shutil.copytree(ROOT / "podbot", tmp_path / "podbot", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    planted = tmp_path / "podbot" / "core" / "names.py"
    planted.write_text(planted.read_text() + "\nimport podbot.sim  # planted\n")
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0, output
    assert "BROKEN" in output and "podbot.core.names" in output, output
