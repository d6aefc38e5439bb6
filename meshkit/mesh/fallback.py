"""Env fallback: read each upstream from the first env, in an ordered list, that has a contract.

A downstream on `dev` whose upstream has published only to `prod` would find nothing, so every team
would have to publish to every env. With `dev → staging → prod` it reads prod's contract and says so,
as dbt Mesh resolves a cross-project ref to the upstream's production environment. Only an env the
upstream never published to is skipped: an env whose contract is damaged stops the search with its
error (fail closed), so a broken dev never silently serves prod. The env actually read is the one
every report names and the one consumer records are written to.
"""

from __future__ import annotations

from collections.abc import Sequence

from meshkit.contract.names import check_env
from meshkit.errors import NotPublishedError
from meshkit.registry import Registry
from meshkit.registry.published import latest_sha256, read_latest


def env_chain(env: str, fallback: Sequence[str]) -> tuple[str, ...]:
    """env first, then the fallback envs in their order, each once."""
    return tuple(dict.fromkeys([check_env(env), *(check_env(e) for e in fallback)]))


def missing_everywhere(first: NotPublishedError, project: str, chain: Sequence[str]) -> NotPublishedError:
    """The error of the first env (today's message), naming the fallback envs that had no contract either."""
    if len(chain) == 1:
        return first
    return NotPublishedError(f"{first}; nor has {project} a contract in the fallback envs {', '.join(chain[1:])}")


def resolve_env(registry: Registry, project: str, env: str, fallback: Sequence[str]) -> str:
    """The first env of env_chain(env, fallback) with a contract of project; NotPublishedError when none has one.

    Without fallback envs nothing is read here: the caller's own read reports what is missing."""
    chain = env_chain(env, fallback)
    if len(chain) == 1:
        return chain[0]
    first: NotPublishedError | None = None
    for candidate in chain:
        if latest_sha256(registry, project, candidate) is not None:
            return candidate
        try:
            read_latest(registry, project, candidate)  # says why: never published (next env), or damaged (raises)
        except NotPublishedError as missing:
            first = first or missing
            continue
        return candidate
    assert first is not None
    raise missing_everywhere(first, project, chain)
