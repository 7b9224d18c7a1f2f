"""Every ```python block of the executed pages runs, and prints what the page shows.

Each block runs in a fresh interpreter (``python -W error``, ``src`` on the path, a temporary
working directory) as the body of a module named ``docs_example``, so a block guarded by
``if __name__ == "__main__":`` defines its names but does not run the guarded part. A block that
needs asyncio ends with ``asyncio.run(main())``; signals and event loops never leak into pytest.

A ```text block that follows a python block, with at most an ``Output:`` line in between, is
that block's expected stdout and is compared exactly (trailing spaces aside).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = (
    "docs/lifecycle.md",
    "README.md",
    "docs/leader-election.md",
    "docs/scheduler.md",
    "docs/health.md",
    "docs/postgres.md",
    "docs/grpc.md",
    "docs/testing.md",
)
TIMEOUT = 45.0

# Runs the code read from stdin as the module ``docs_example``. The code is padded with blank
# lines so that tracebacks point at the line of the Markdown file (argv[1] is its path).
RUNNER = """\
import sys, types
module = types.ModuleType("docs_example")
module.__file__ = sys.argv[1]
sys.modules["docs_example"] = module
exec(compile(sys.stdin.read(), sys.argv[1], "exec"), module.__dict__)
"""


@dataclass(frozen=True, slots=True)
class Example:
    """One ```python block: where it is, its code and the stdout the page promises."""

    page: str
    line: int
    """1-based line of the first code line in the page."""
    code: str
    output: str | None

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def _fence_end(lines: list[str], start: int) -> int:
    """Index of the closing fence of the block whose first content line is ``start``."""
    for i in range(start, len(lines)):
        if lines[i].strip() == "```":
            return i
    raise ValueError(f"unclosed code fence starting before line {start}")


def _output_after(lines: list[str], end: int) -> str | None:
    """The ```text block right after the fence closed at ``end``, if there is one."""
    i = end + 1
    captions = 0
    while i < len(lines):
        stripped = lines[i].strip()
        if stripped == "```text":
            close = _fence_end(lines, i + 1)
            return "".join(f"{line}\n" for line in lines[i + 1 : close])
        if stripped.startswith("Output") and stripped.endswith(":") and captions == 0:
            captions += 1
        elif stripped:
            return None
        i += 1
    return None


def extract(page: str, text: str) -> list[Example]:
    """Find every ```python block of a Markdown page."""
    lines = text.splitlines()
    examples: list[Example] = []
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```python":
            end = _fence_end(lines, i + 1)
            code = "".join(f"{line}\n" for line in lines[i + 1 : end])
            examples.append(Example(page, i + 2, code, _output_after(lines, end)))
            i = end
        i += 1
    return examples


def collect() -> list[Example]:
    examples: list[Example] = []
    for page in PAGES:
        path = ROOT / page
        if path.is_file():
            examples += extract(page, path.read_text(encoding="utf-8"))
    return examples


EXAMPLES = collect()


def normalise(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines())


def run(example: Example, cwd: Path) -> subprocess.CompletedProcess[str]:
    source = "\n" * (example.line - 1) + example.code
    python_path = os.pathsep.join(p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": python_path, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, "-W", "error", "-c", RUNNER, str(ROOT / example.page)],
        input=source,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=TIMEOUT,
        check=False,
    )


def test_the_lifecycle_page_has_examples() -> None:
    """A renamed or emptied page must not make this module pass vacuously."""
    lifecycle = [e for e in EXAMPLES if e.page == "docs/lifecycle.md"]
    assert len(lifecycle) >= 10
    assert sum(e.output is not None for e in lifecycle) >= 10


def test_extract_pairs_a_block_with_the_output_under_it() -> None:
    """The parser's own contract, on a tiny page."""
    lines = ["text", "", "```python", "print(1)", "```", "", "Output:", "", "```text", "1", "```"]
    lines += ["", "```python", "x = 2", "```", ""]
    page = "\n".join(lines)
    first, second = extract("page.md", page)
    assert (first.line, first.code, first.output) == (4, "print(1)\n", "1\n")
    assert (second.line, second.code, second.output) == (14, "x = 2\n", None)


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.id for e in EXAMPLES])
def test_example_runs(example: Example, tmp_path: Path) -> None:
    """The block exits 0 without warnings, and prints the output the page shows."""
    result = run(example, tmp_path)
    report = f"{example.id}\n--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    assert result.returncode == 0, report
    if example.output is not None:
        assert normalise(result.stdout) == normalise(example.output), report
