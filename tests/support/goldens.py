"""Golden files: exact expected output under tests/data/, rewritten by `pytest --update` after a deliberate change."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data"


@dataclass(frozen=True)
class Goldens:
    """Compares output with its golden file, or (with --update) writes the output as the new golden."""

    update: bool

    def check(self, actual: str, name: str) -> None:
        golden = DATA / name
        if self.update:
            golden.parent.mkdir(parents=True, exist_ok=True)
            golden.write_text(actual, encoding="utf-8")
        expected = golden.read_text(encoding="utf-8") if golden.is_file() else None
        assert actual == expected, f"{name} differs from its golden (rerun with `pytest --update` if intended)"
