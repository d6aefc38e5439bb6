"""The Actions-cache key of a dbt project's partial_parse.msgpack, and the one check dbt does not make.

Run by meshkit's own virtualenv python (it has PyYAML), in three stages:

- `key`: the key only sorts saved parses into compatible shelves: the operating system, the project's
  folder in the repository, dbt-core's version, the adapter and the profile target. Whether a restored
  file may be reused is dbt's decision, made on every run from the hashes it stores inside the file
  (its version, the --vars, profile and target names, the connection's settings, the env vars
  dbt_project.yml reads, every dbt_project.yml of the project and its packages, and each file's
  checksum), so a wrong guess here costs a full parse, never a wrong manifest. Nothing here fails
  the job: what cannot be read is named `unknown` in the key.
- `record` (after the command, before a save): beside the file, where the project was and how many
  seeds it has. dbt does not check the project's location: a seed node keeps the absolute root_path
  of the parse that made it, and `dbt seed`/`dbt build` load its CSV from there.
- `guard` (after a restore): a file saved at another path is thrown away when that project had seeds
  (or when nothing says it had none), so dbt parses everything. GitHub-hosted runners check out at the
  same path every time, so this only ever fires on runners whose folders differ.

Inputs (environment): MESHKIT_PROJECT_DIR, MESHKIT_PROFILES_DIR, MESHKIT_COMMAND, MESHKIT_DBT_VERSION,
GITHUB_OUTPUT, GITHUB_WORKSPACE, RUNNER_OS, RUNNER_ARCH, GITHUB_RUN_ID, GITHUB_RUN_ATTEMPT, and dbt's
own DBT_TARGET, DBT_PROFILE, DBT_PROFILES_DIR and DBT_TARGET_PATH. Outputs of `key`: prefix, key, path
(the file and its record, one a line), exists.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import sys
from pathlib import Path
from typing import Any

import yaml

KEY_VERSION = "v1"  # bump when the key's recipe changes, so no old shelf is read with new rules
UNKNOWN = "unknown"
_ENV_VAR = re.compile(r"""^\s*\{\{\s*env_var\(\s*['"]([^'"]+)['"]\s*(?:,\s*['"]([^'"]*)['"]\s*)?\)\s*\}\}\s*$""")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def render(value: Any) -> str | None:
    """A profile value as dbt would read it, for the one template profiles commonly hold: env_var()."""
    if not isinstance(value, str):
        return None if value is None else str(value)
    if "{{" not in value and "{%" not in value:
        return value
    match = _ENV_VAR.match(value)
    if match is None:
        return None
    name, default = match.groups()
    return os.environ.get(name, default)


def flag(argv: list[str], *names: str) -> str | None:
    """The value of a command-line option (`--target prod`, `--target=prod`, `-t prod`); the last one wins."""
    found = None
    for index, word in enumerate(argv):
        for name in names:
            if word == name and index + 1 < len(argv):
                found = argv[index + 1]
            elif name.startswith("--") and word.startswith(name + "="):
                found = word.split("=", 1)[1]
    return found


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def profiles_file(project: Path, argv: list[str]) -> Path:
    """Where dbt finds profiles.yml: the input or its variable, --profiles-dir, the project, then ~/.dbt."""
    given = os.environ.get("MESHKIT_PROFILES_DIR") or flag(argv, "--profiles-dir") or os.environ.get("DBT_PROFILES_DIR")
    if given:
        return Path(given) / "profiles.yml"
    if (project / "profiles.yml").is_file():
        return project / "profiles.yml"
    return Path.home() / ".dbt" / "profiles.yml"


def target_and_adapter(project: Path, argv: list[str]) -> tuple[str, str]:
    dbt_project = read_yaml(project / "dbt_project.yml")
    profile_name = flag(argv, "--profile") or os.environ.get("DBT_PROFILE") or render(dbt_project.get("profile"))
    profile = read_yaml(profiles_file(project, argv)).get(profile_name or "")
    if not isinstance(profile, dict):
        profile = {}
    target = flag(argv, "--target", "-t") or os.environ.get("DBT_TARGET") or render(profile.get("target"))
    outputs = profile.get("outputs")
    output = outputs.get(target) if isinstance(outputs, dict) and target else None
    adapter = render(output.get("type")) if isinstance(output, dict) else None
    return target or UNKNOWN, adapter or UNKNOWN


def msgpack_path(project: Path, argv: list[str]) -> Path:
    """dbt's target folder: --target-path, DBT_TARGET_PATH, dbt_project.yml's target-path, else `target`."""
    configured = render(read_yaml(project / "dbt_project.yml").get("target-path"))
    folder = flag(argv, "--target-path") or os.environ.get("DBT_TARGET_PATH") or configured or "target"
    return project / folder / "partial_parse.msgpack"


def safe(text: str) -> str:
    return _UNSAFE.sub("_", text).strip("_")[:60] or UNKNOWN


RECORD_NAME = "partial_parse.meshkit.json"


def record_path(msgpack: Path) -> Path:
    return msgpack.with_name(RECORD_NAME)


def key(project: Path, argv: list[str], path: Path) -> int:
    target, adapter = target_and_adapter(project, argv)
    workspace = Path(os.environ.get("GITHUB_WORKSPACE") or project).resolve()
    folder = project.relative_to(workspace).as_posix() if project.is_relative_to(workspace) else str(project)
    parts = [
        "meshkit-dbt-partial-parse",
        KEY_VERSION,
        os.environ.get("RUNNER_OS", UNKNOWN),
        os.environ.get("RUNNER_ARCH", UNKNOWN),
        safe(project.name),
        hashlib.sha256(folder.encode()).hexdigest()[:16],
        "dbt" + (os.environ.get("MESHKIT_DBT_VERSION") or UNKNOWN),
        adapter,
        target,
    ]
    prefix = "-".join(safe(part) for part in parts) + "-"
    run = f"{os.environ.get('GITHUB_RUN_ID', '0')}-{os.environ.get('GITHUB_RUN_ATTEMPT', '1')}"
    exists = path.is_file()
    with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as out:
        out.write(f"prefix={prefix}\nkey={prefix}{safe(run)}\nexists={str(exists).lower()}\n")
        out.write(f"path<<MESHKIT_PATHS\n{path}\n{record_path(path)}\nMESHKIT_PATHS\n")
    print(f"partial-parse cache: dbt {parts[6][3:]}, adapter {adapter}, target {target} ({path})")
    if os.environ.get("MESHKIT_INPUT_MODE") == "save" and not exists:
        print(f"nothing to save: the command left no {path} (it did not parse, or ran with --no-partial-parse)")
    return 0


def seed_count(manifest: Path) -> int | None:
    """Seed nodes in the manifest the same command wrote; None when it wrote none that can be read."""
    try:
        nodes = json.loads(manifest.read_bytes()).get("nodes", {})
        return sum(1 for node in nodes.values() if node.get("resource_type") == "seed")
    except (OSError, ValueError, AttributeError):
        return None


def record(project: Path, path: Path) -> int:
    if path.is_file():
        seeds = seed_count(path.with_name("manifest.json"))
        record_path(path).write_text(json.dumps({"project_root": str(project), "seeds": seeds}) + "\n")
    return 0


def guard(project: Path, path: Path) -> int:
    if not path.is_file():
        return 0
    try:
        saved = json.loads(record_path(path).read_text(encoding="utf-8"))
        root, seeds = str(saved["project_root"]), saved["seeds"]
    except (OSError, ValueError, KeyError, TypeError):
        root, seeds = "", None
    if root == str(project) or seeds == 0:
        print(f"dbt decides whether the saved parse of {root or 'an unknown folder'} still fits")
        return 0
    path.unlink()
    record_path(path).unlink(missing_ok=True)
    print(
        f"not reusing the saved parse: it was made in {root or 'an unknown folder'}, not {project}, and dbt would "
        "load seeds from that old folder; dbt parses every file"
    )
    return 0


def main(stage: str) -> int:
    project = Path(os.environ.get("MESHKIT_PROJECT_DIR") or ".").resolve()
    try:
        argv = shlex.split(os.environ.get("MESHKIT_COMMAND", ""))
    except ValueError:
        argv = []
    path = msgpack_path(project, argv)
    if "\n" in str(path) or "\r" in str(path):
        print(f"no partial-parse cache: the project's path {str(path)!r} has a line break")
        return 0
    stages = {"key": lambda: key(project, argv, path), "record": lambda: record(project, path)}
    return stages.get(stage, lambda: guard(project, path))()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "key"))
