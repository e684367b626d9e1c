"""Guards on the repository itself: the two README commands, CI, and what is committed."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", text, re.S)
    assert block, "README must open with a bash block of the two commands"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_starts_with_exactly_two_commands():
    text = (REPO / "README.md").read_text()
    assert text.index("```bash") < 200, "the two commands come first"
    cmds = _readme_commands()
    assert len(cmds) == 2
    assert "journeys demo" in cmds[0]
    assert "pytest" in cmds[1]


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert _readme_commands()[1] in ci, ".ci/run and the README test command have drifted"


def test_no_generated_data_or_warehouses_are_committed():
    files = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True).stdout.split()
    # tests/data holds small hand-made fixtures (e.g. an unreadable parquet file).
    bad = [f for f in files if not f.startswith("tests/data/") and (
           f.endswith((".duckdb", ".duckdb.wal", ".parquet", ".sqlite"))
           or f.startswith(("demo/", "landing/", "warehouse/")))]
    assert not bad, f"generated data committed: {bad}"
