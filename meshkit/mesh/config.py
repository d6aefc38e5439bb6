"""meshkit.yml: the mesh as one repository sees it.

For each dbt project in the repository: the consumer repositories `meshkit dispatch` notifies
after a publish (`consumers`), and the upstream projects `meshkit sync` generates sources for
(`upstreams`, each NAME or NAME@ENV, or a mapping `{upstream: NAME[@ENV], include: [TABLE, ...]}`
naming tables to write besides those the project's source() calls read), and the envs to read an
upstream from when it has no contract in the env asked for (`fallback_envs`, tried in order, e.g.
[staging, prod] for a project on dev: meshkit.mesh.fallback). Strict on purpose: an
unknown or misspelt key is an error naming the key and the file, because a silently ignored
`consumer:` would mean downstream teams are never told.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from meshkit.contract.names import check_env, check_project, check_repository, is_safe_identifier, unique_repositories
from meshkit.errors import InputError, MeshkitError
from meshkit.files import is_regular_file, read_regular_text
from meshkit.mesh.dbt_project import invalid_yaml

CONFIG_FILE = "meshkit.yml"
VERSION = 1
SELF = "self"
_TOP_KEYS = ("version", "projects")
_PROJECT_KEYS = ("consumers", "upstreams", "fallback_envs")
_UPSTREAM_KEYS = ("upstream", "include")
_UPSTREAM_FORMS = "NAME, NAME@ENV or a mapping with upstream: NAME[@ENV] and include: [TABLE, ...]"


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
    include: dict[str, tuple[str, ...]] = field(default_factory=dict)  # upstream project -> extra tables
    fallback_envs: tuple[str, ...] = ()  # tried in order when an upstream has no contract in the env asked for


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
        raise InputError(f"{path}: {where} must be a mapping with consumers, upstreams and/or fallback_envs lists")
    _unknown_keys(data, _PROJECT_KEYS, f"in {where}", path)
    consumers = _list(data, "consumers", where, path, "OWNER/REPO or self")
    for consumer in consumers:
        if consumer != SELF:
            try:
                check_repository(consumer, what=f"consumer in {where}.consumers")
            except MeshkitError as exc:
                raise InputError(f"{path}: {exc}") from None
    upstreams = []
    include: dict[str, tuple[str, ...]] = {}
    for entry in _list(data, "upstreams", where, path, _UPSTREAM_FORMS):
        try:
            text, tables = _upstream_entry(entry)
            project = UpstreamRef.parse(text, "prod").project
        except MeshkitError as exc:
            raise InputError(f"{path}: {where}.upstreams: {exc}") from None
        upstreams.append(text)
        if tables:
            include[project] = tuple(dict.fromkeys(include.get(project, ()) + tables))
    fallback = []
    for env in _list(data, "fallback_envs", where, path, "env names, e.g. [staging, prod]"):
        try:
            fallback.append(check_env(env) if isinstance(env, str) else check_env(repr(env)))
        except MeshkitError as exc:
            raise InputError(f"{path}: {where}.fallback_envs: {exc}") from None
    return name, ProjectConfig(tuple(consumers), tuple(upstreams), include, tuple(dict.fromkeys(fallback)))


def _upstream_entry(entry: Any) -> tuple[str, tuple[str, ...]]:
    """NAME[@ENV], or {upstream: NAME[@ENV], include: [TABLE, ...]}: the upstream as written and its included tables."""
    if isinstance(entry, str):
        return entry, ()
    if not isinstance(entry, dict):
        raise InputError(f"{entry!r} is not {_UPSTREAM_FORMS}")
    for key in entry:
        if key not in _UPSTREAM_KEYS:
            raise InputError(f"unknown key {key!r} in an upstream entry: expected {', '.join(_UPSTREAM_KEYS)}")
    text = entry.get("upstream")
    if not isinstance(text, str):
        raise InputError(f"an upstream entry needs upstream: NAME or NAME@ENV (found {text!r})")
    tables = entry.get("include")
    tables = [] if tables is None else tables
    if not isinstance(tables, list):
        raise InputError(f"include of {text} must be a list of table names")
    for table in tables:
        check_table_name(table, what=f"include of {text}")
    return text, tuple(dict.fromkeys(tables))


def check_table_name(name: Any, *, what: str) -> str:
    """A source table name as sync writes them: a plain SQL identifier (`orders`, `customers_v2`)."""
    if not is_safe_identifier(name):
        raise InputError(
            f"{what}: {name!r} is not a table name: use letters, digits, '_' and '$', "
            "not starting with a digit (e.g. orders or customers_v2)"
        )
    return name  # type: ignore[no-any-return]


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
        raise invalid_yaml(path, exc) from None
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
        text = read_regular_text(path)
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
    return load_mesh_config(default) if is_regular_file(default) else None


def configured_upstreams(config: MeshConfig | None, project: str, default_env: str) -> list[UpstreamRef]:
    """The upstreams meshkit.yml lists for a downstream project, each at its env (default_env when not given)."""
    if config is None or project not in config.projects or not config.projects[project].upstreams:
        where = config.path if config is not None else CONFIG_FILE
        raise InputError(
            f"no upstreams for {project}: pass --upstream NAME[@ENV] or list them in {where} under "
            f"projects.{project}.upstreams"
        )
    return [UpstreamRef.parse(text, default_env) for text in config.projects[project].upstreams]


def configured_includes(config: MeshConfig | None, project: str) -> dict[str, tuple[str, ...]]:
    """The tables meshkit.yml includes for a downstream project, per upstream project (none without a config)."""
    if config is None or project not in config.projects:
        return {}
    return dict(config.projects[project].include)


def configured_fallback(config: MeshConfig | None, project: str | None) -> tuple[str, ...]:
    """The fallback envs meshkit.yml lists for a project (none without a config or an entry)."""
    if config is None or project is None or project not in config.projects:
        return ()
    return config.projects[project].fallback_envs


def _include_parts(text: str) -> tuple[str | None, str]:
    """--include TABLE or UPSTREAM.TABLE, each part checked: (upstream or None, table)."""
    project, dot, table = text.rpartition(".")
    if dot:
        try:
            check_project(project, what="--include upstream")
        except MeshkitError as exc:
            raise InputError(f"--include {text!r}: {exc}; write TABLE or UPSTREAM.TABLE") from None
    check_table_name(table, what=f"--include {text!r}")
    return (project if dot else None), table


def parse_includes(
    texts: list[str], upstreams: list[UpstreamRef], others: list[UpstreamRef] | None = None
) -> dict[str, tuple[str, ...]]:
    """--include TABLE (with one upstream) or UPSTREAM.TABLE, per upstream project, in the order given.

    others: the project's upstreams this run skips (--only), whose UPSTREAM.TABLE includes are not errors.
    """
    parts = [(text, *_include_parts(text)) for text in texts]  # every one checked before any is used
    projects = [u.project for u in upstreams]
    skipped = {u.project for u in others or ()} - set(projects)
    include: dict[str, tuple[str, ...]] = {}
    for text, project, table in parts:
        if project is None:
            if len(projects) != 1:
                raise InputError(
                    f"--include {text!r} does not say which upstream it is for: write UPSTREAM.TABLE "
                    f"(this sync reads {', '.join(projects) or 'no upstream'})"
                )
            project = projects[0]
        elif project in skipped:
            continue
        elif project not in projects:
            raise InputError(
                f"--include {text!r} names upstream {project!r}, which this sync does not read "
                f"(it reads {', '.join(projects) or 'no upstream'})"
            )
        include[project] = tuple(dict.fromkeys(include.get(project, ()) + (table,)))
    return include


def check_includes(texts: list[str]) -> None:
    """Every --include well formed, for runs that end before using them."""
    for text in texts:
        _include_parts(text)


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
