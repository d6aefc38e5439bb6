"""The CI job's fixed costs under act: the setup step, cold and warm, and a PR check's `dbt parse`.

    python bench/ci.py --before main --after HEAD --repeat 2

Each revision's tree (git archive) becomes a repository whose workflow runs meshkit's own composite
actions in act's host mode, with the stand-ins of tests/act/ for actions/cache (so the "Actions cache"
is a folder) and the test suite's act runner:

- setup, cold: a new runner (empty tool cache), an empty Actions cache and empty pip and uv download
  caches, as a GitHub-hosted runner's first job after the lock changed;
- setup, warm: a new runner again, the Actions cache the cold run filled: every later job.
  Both install meshkit and the demo's dbt stack (requirements.txt: dbt-duckdb, dbt-loom, ...).
- parse (the after revision only): the check job's steps for dbt_down (setup, the parse-cache action,
  `dbt parse`): a push to main parses cold and saves; a pull request changing one model restores that
  parse and dbt re-reads the one file.

The times are act's own per-step times; the figures go to stdout as markdown and to
bench/.cache/ci.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from run import BENCH, REPO

from support.act_runner import ActHome, ActRun, commit_all, make_git_repository, run_act, step_seconds

SETUP_WORKFLOW = """name: bench-setup
on: push
permissions: {}
jobs:
  setup:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with:
          persist-credentials: false
      - uses: ./.github/actions/setup
        with:
          dbt-requirements: requirements.txt
"""
PARSE_WORKFLOW = """name: bench-parse
on: [push, pull_request]
permissions: {}
jobs:
  check:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with:
          persist-credentials: false
      - id: setup
        uses: ./.github/actions/setup
        with:
          dbt-requirements: requirements.txt
      - name: Restore
        uses: ./.github/actions/parse-cache
        with:
          mode: restore
          project-dir: dbt_down
          python: ${{ steps.setup.outputs.python }}
          dbt-version: ${{ steps.setup.outputs.dbt-version }}
      - name: Parse
        uses: ./.github/actions/build
        with:
          project-dir: dbt_down
          command: dbt parse
      - name: Save
        if: github.event_name == 'push'
        uses: ./.github/actions/parse-cache
        with:
          mode: save
          project-dir: dbt_down
          python: ${{ steps.setup.outputs.python }}
          dbt-version: ${{ steps.setup.outputs.dbt-version }}
"""
EVENT = {"repository": {"full_name": "meshkit-demo/mesh", "name": "mesh", "default_branch": "main"}}


def checkout(rev: str, dest: Path, workflows: dict[str, str]) -> Path:
    """rev's tree as a repository on main, with the bench's workflows added."""
    dest.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    for name, text in workflows.items():
        (dest / ".github" / "workflows" / name).write_text(text)
    return make_git_repository(dest, "meshkit-demo/mesh", f"meshkit at {rev}")


def act(
    workspace: Path, home: ActHome, workflow: str, event_name: str, downloads: Path, event: dict[str, Any]
) -> ActRun:
    run = run_act(
        workspace,
        home,
        event_name=event_name,
        workflow=workflow,
        event={**EVENT, **event},
        env={"PIP_CACHE_DIR": str(downloads / "pip"), "UV_CACHE_DIR": str(downloads / "uv")},
        variables={},
        secrets={},
        repositories={},
        timeout=1800,
    )
    if run.returncode != 0:
        raise SystemExit(f"act {event_name} {workflow} failed:\n{run.log[-6000:]}")
    return run


def one(log: str, job: str, step: str) -> float:
    [seconds] = step_seconds(log, job, step)
    return seconds


def setup_times(rev: str, scratch: Path, repeat: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"cold": [], "warm": []}
    for attempt in range(repeat):
        root = scratch / f"setup-{rev.replace('/', '_')}-{attempt}"
        workspace = checkout(rev, root / "repo", {"bench-setup.yml": SETUP_WORKFLOW})
        store = root / "actions-cache"
        home = ActHome(home=root / "home", cache_store=store)
        home.home.mkdir()
        for state in ("cold", "warm"):
            # A new runner each time: an empty tool cache, at the same path (as /opt/hostedtoolcache on GitHub).
            shutil.rmtree(home.home / ".cache" / "act" / "tool_cache", ignore_errors=True)
            downloads = root / f"downloads-{state}"  # GitHub-hosted runners start with empty download caches
            run = act(workspace, home, "bench-setup.yml", "push", downloads, {"ref": "refs/heads/main"})
            seconds = one(run.log, "bench-setup/setup", "./.github/actions/setup")
            times[state].append(seconds)
            print(f"[ci] {rev}: setup {state} {seconds:.1f} s", flush=True)
    return times


def parse_times(rev: str, scratch: Path, repeat: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"cold": [], "partial": []}
    for attempt in range(repeat):
        root = scratch / f"parse-{attempt}"
        workspace = checkout(rev, root / "repo", {"bench-parse.yml": PARSE_WORKFLOW})
        home = ActHome(home=root / "home", cache_store=root / "actions-cache")
        home.home.mkdir()
        downloads = root / "downloads"
        main = act(workspace, home, "bench-parse.yml", "push", downloads, {"ref": "refs/heads/main"})
        model = workspace / "dbt_down" / "models" / "orders_by_status.sql"
        model.write_text(model.read_text() + "\n-- changed by the pull request\n")
        commit_all(workspace, "a pull request's change")
        head = subprocess.run(["git", "-C", str(workspace), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
        pull = {"number": 1, "head": {"ref": "change", "sha": head.strip()}, "base": {"ref": "main"}}
        pr = act(workspace, home, "bench-parse.yml", "pull_request", downloads, {"number": 1, "pull_request": pull})
        if "Unable to do partial parsing" in pr.log or "cache restored from key" not in pr.log:
            raise SystemExit(f"the pull request did not start from main's parse:\n{pr.log[-6000:]}")
        times["cold"].append(one(main.log, "bench-parse/check", "Parse"))
        times["partial"].append(one(pr.log, "bench-parse/check", "Parse"))
        print(f"[ci] {rev}: dbt parse cold {times['cold'][-1]:.1f} s, partial {times['partial'][-1]:.1f} s")
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", default="main", help="revision whose setup action is 'before' (default: main)")
    parser.add_argument("--after", default="HEAD", help="revision measured 'after' (default: HEAD)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each measurement (default: 2)")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="meshkit-bench-ci-") as scratch:
        for label, rev in (("before", args.before), ("after", args.after)):
            results[label] = {"rev": rev, "setup": setup_times(rev, Path(scratch), args.repeat)}
        results["after"]["parse"] = parse_times(args.after, Path(scratch), args.repeat)
        shutil.rmtree(scratch, ignore_errors=True)
    (BENCH / ".cache").mkdir(exist_ok=True)
    (BENCH / ".cache" / "ci.json").write_text(json.dumps(results, indent=1))
    med = statistics.median
    before, after = results["before"]["setup"], results["after"]["setup"]
    print("| setup step | before: pip (s) | after: uv (s) | before / after |\n|---|---:|---:|---:|")
    for state in ("cold", "warm"):
        b, a = med(before[state]), med(after[state])
        print(f"| {state} | {b:.1f} | {a:.1f} | {b / a:.1f}x |")
    parse = results["after"]["parse"]
    print(f"\ndbt parse (dbt_down): cold {med(parse['cold']):.1f} s, from main's parse {med(parse['partial']):.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
