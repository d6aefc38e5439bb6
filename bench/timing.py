"""Whole-process timing with the operating system's own accounting (os.wait4), paired with a floor.

Each counted run of the command is followed at once by a run of its floor, so a machine that
drifts (two shared cores, other work) moves both; the reported ratio is the median of the
per-pair ratios. Peak RSS is the child's ru_maxrss, from a small launcher process (launcher.py).
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Run:
    wall: float
    rss_kib: int
    exit_code: int


@dataclass
class Step:
    """One command to time: what to run, where, what its floor is and what exit codes are fine."""

    name: str
    argv: list[str]
    cwd: Path
    floor: list[str]
    expect: tuple[int, ...] = (0,)
    prepare: Callable[[], None] = lambda: None
    group: str = "meshkit"
    floor_cwd: Path | None = None  # default: cwd


@dataclass
class Timed:
    step: Step
    runs: list[Run] = field(default_factory=list)
    floors: list[Run] = field(default_factory=list)

    @property
    def median_wall(self) -> float:
        return statistics.median(r.wall for r in self.runs)

    @property
    def median_floor(self) -> float:
        return statistics.median(r.wall for r in self.floors)

    @property
    def ratio(self) -> float:
        return statistics.median(r.wall / f.wall for r, f in zip(self.runs, self.floors, strict=True))

    @property
    def peak_rss_kib(self) -> int:
        return max(r.rss_kib for r in self.runs)

    @property
    def floor_rss_kib(self) -> int:
        return max(f.rss_kib for f in self.floors)


class CommandFailed(RuntimeError):
    pass


class _Launcher:
    """The bench/launcher.py process, started once and reused for every timed run."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[str] | None = None

    def run(self, argv: Sequence[str], cwd: Path, env: dict[str, str], log: Path) -> Run:
        if self._proc is None or self._proc.poll() is not None:
            script = Path(__file__).resolve().parent / "launcher.py"
            self._proc = subprocess.Popen(
                [sys.executable, "-S", "-I", str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
            )
        assert self._proc.stdin is not None and self._proc.stdout is not None
        program = argv[0] if os.sep in argv[0] else shutil.which(argv[0], path=env.get("PATH")) or argv[0]
        request = {"argv": [program, *argv[1:]], "cwd": str(cwd), "env": env, "log": str(log)}
        self._proc.stdin.write(json.dumps(request) + "\n")
        self._proc.stdin.flush()
        answer = json.loads(self._proc.stdout.readline())
        return Run(float(answer["wall"]), int(answer["rss_kib"]), int(answer["exit_code"]))

    def close(self) -> None:
        if self._proc is not None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()
            self._proc.wait()
            self._proc = None


_LAUNCHER = _Launcher()
atexit.register(_LAUNCHER.close)


def run_once(argv: Sequence[str], cwd: Path, env: dict[str, str], log: Path) -> Run:
    """One whole process: wall from fork to reap and the kernel's peak RSS of that child (os.wait4)."""
    return _LAUNCHER.run(argv, cwd, env, log)


def checked(step: Step, argv: Sequence[str], cwd: Path, env: dict[str, str], log: Path, expect: tuple[int, ...]) -> Run:
    run = run_once(argv, cwd, env, log)
    if run.exit_code not in expect:
        tail = log.read_text(errors="replace")[-3000:]
        raise CommandFailed(f"{step.name}: {' '.join(argv)} exited {run.exit_code} (expected {expect}):\n{tail}")
    return run


def time_step(step: Step, env: dict[str, str], logs: Path, *, repeat: int, warmup: int) -> Timed:
    """warmup unpaired rounds, then `repeat` pairs of (command, floor), each command run after its prepare()."""
    logs.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^a-z0-9]+", "-", step.name.lower()).strip("-")
    log, floor_log = logs / f"{slug}.log", logs / f"{slug}.floor.log"
    timed = Timed(step)
    for i in range(warmup + repeat):
        step.prepare()
        run = checked(step, step.argv, step.cwd, env, log, step.expect)
        floor = checked(step, step.floor, step.floor_cwd or step.cwd, env, floor_log, (0,))
        if i >= warmup:
            timed.runs.append(run)
            timed.floors.append(floor)
    return timed
