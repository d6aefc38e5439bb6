"""meshkit.yml: the mesh as one repository sees it.

For each dbt project in the repository: the consumer repositories `meshkit dispatch` notifies
after a publish (`consumers`), and the upstream projects `meshkit sync` generates sources for
(`upstreams`, each NAME or NAME@ENV). Strict on purpose: an unknown or misspelt key is an error
naming the key and the file, because a silently ignored `consumer:` would mean downstream teams
are never told.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from meshkit.errors import InputError, MeshkitError
from meshkit.contract.names import check_env, check_project, check_repository, unique_repositories

CONFIG_FILE = "meshkit.yml"
VERSION = 1
SELF = "self"
_TOP_KEYS = ("version", "projects")
_PROJECT_KEYS = ("consumers", "upstreams")


@dataclass(frozen=True)
class UpstreamRef:
    """An upstream project a downstream reads, from one registry env: `NAME` or `NAME@ENV`."""

    project: str
    env: str

    @classmethod
    def parse(cls, text: str, default_env: str) -> UpstreamRef:
        name, _, env = text.partition("@")
        return cls(check_project(name, what="upstream"), check_env(env or default_env))


@dataclass(frozen=True)
class ProjectConfig:
    consumers: tuple[str, ...] = ()
    upstreams: tuple[str, ...] = ()  # NAME or NAME@ENV, as written


@dataclass(frozen=True)
class MeshConfig:
    path: Path
    projects: dict[str, ProjectConfig] = field(default_factory=dict)


def _unknown_keys(data: dict[Any, Any], allowed: tuple[str, ...], where: str, path: Path) -> None:
    for key in data:
        if key not in allowed:
            raise InputError(f"{path}: unknown key {key!r} {where}: expected {', '.join(allowed)}")


def _project(name: Any, data: Any, path: Path) -> tuple[str, ProjectConfig]:
    try:
        check_project(name)
    except MeshkitError as exc:
        raise InputError(f"{path}: {exc}") from None
    where = f"projects.{name}"
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError(f"{path}: {where} must be a mapping with consumers and/or upstreams lists")
    _unknown_keys(data, _PROJECT_KEYS, f"in {where}", path)
    consumers = _list(data, "consumers", where, path, "OWNER/REPO or self")
    for consumer in consumers:
        if consumer != SELF:
            try:
                check_repository(consumer, what=f"consumer in {where}.consumers")
            except MeshkitError as exc:
                raise InputError(f"{path}: {exc}") from None
    upstreams = _list(data, "upstreams", where, path, "NAME or NAME@ENV")
    for upstream in upstreams:
        try:
            if not isinstance(upstream, str):
                raise InputError(f"{upstream!r} is not NAME or NAME@ENV")
            UpstreamRef.parse(upstream, "prod")
        except MeshkitError as exc:
            raise InputError(f"{path}: {where}.upstreams: {exc}") from None
    return name, ProjectConfig(tuple(consumers), tuple(upstreams))


def _list(data: dict[Any, Any], key: str, where: str, path: Path, items: str) -> list[Any]:
    value = data.get(key)
    value = [] if value is None else value
    if not isinstance(value, list):
        raise InputError(f"{path}: {where}.{key} must be a list of {items}")
    return value


def parse_mesh_config(text: str, path: Path) -> MeshConfig:
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise InputError(f"{path} is not valid YAML{where}: fix the file") from None
    if not isinstance(data, dict):
        raise InputError(f"{path} is not a meshkit config: expected a mapping with version: {VERSION} and projects")
    _unknown_keys(data, _TOP_KEYS, "at the top level", path)
    version = data.get("version")
    if type(version) is not int or version != VERSION:
        raise InputError(f"{path}: version must be {VERSION} (found {version!r})")
    projects = data.get("projects")
    projects = {} if projects is None else projects
    if not isinstance(projects, dict):
        raise InputError(f"{path}: projects must be a mapping of project name to its consumers")
    return MeshConfig(path, dict(_project(name, value, path) for name, value in projects.items()))


def load_mesh_config(path: Path) -> MeshConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"config file {path} does not exist: pass --config with the path of meshkit.yml") from None
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text: fix the file") from None
    except OSError as exc:
        raise InputError(f"cannot read config file {path}: {exc.strerror}") from None
    return parse_mesh_config(text, path)


def find_mesh_config(explicit: Path | None, cwd: Path) -> MeshConfig | None:
    """The --config file, which must exist, else meshkit.yml in cwd when there is one."""
    if explicit is not None:
        return load_mesh_config(explicit)
    default = cwd / CONFIG_FILE
    return load_mesh_config(default) if default.is_file() else None


def configured_upstreams(config: MeshConfig | None, project: str, default_env: str) -> list[UpstreamRef]:
    """The upstreams meshkit.yml lists for a downstream project, each at its env (default_env when not given)."""
    if config is None or project not in config.projects or not config.projects[project].upstreams:
        where = config.path if config is not None else CONFIG_FILE
        raise InputError(
            f"no upstreams for {project}: pass --upstream NAME[@ENV] or list them in {where} under "
            f"projects.{project}.upstreams"
        )
    return [UpstreamRef.parse(text, default_env) for text in config.projects[project].upstreams]


def consumer_repositories(config: MeshConfig | None, project: str, self_repository: str | None) -> list[str]:
    """The project's consumers as OWNER/REPO, `self` resolved to $GITHUB_REPOSITORY, duplicates dropped."""
    if config is None or project not in config.projects:
        return []
    repositories = []
    for consumer in config.projects[project].consumers:
        if consumer == SELF:
            if not self_repository:
                raise InputError(
                    f"{config.path} lists self as a consumer of {project} but GITHUB_REPOSITORY is not set: "
                    "set it to OWNER/REPO or pass --repository"
                )
            consumer = check_repository(self_repository, what="GITHUB_REPOSITORY")
        repositories.append(consumer)
    return unique_repositories(repositories)
