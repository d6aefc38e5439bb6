"""Contract-bump pull requests: Dependabot for the mesh sources one upstream's contract generates.

When an upstream publishes a contract that changes a downstream's generated sources, the
downstream gets one pull request per upstream and env, on branch `meshkit/sync-<upstream>-<env>`:
opened the first time, updated (one fresh commit on the base branch, force-pushed, as Dependabot
rebases) when the upstream publishes again, and closed when the base branch already holds the
same files. Everything goes through GitHub's Git Data API, so the job needs no git credentials
on disk and its commits are signed by GitHub.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from meshkit.contract.names import check_env, check_project, check_repository
from meshkit.errors import GitHubError, InputError
from meshkit.github.api import GitHubClient, NotFoundError

CONTENTS_PERMISSION = "contents: write"
PULLS_PERMISSION = "pull-requests: write"
BRANCH_PREFIX = "meshkit/sync-"
_FILE_MODE = "100644"


def branch_name(upstream: str, env: str) -> str:
    """One branch per upstream and env, so each contract line has exactly one open PR."""
    return f"{BRANCH_PREFIX}{check_project(upstream, what='upstream')}-{check_env(env)}"


def git_blob_sha(data: bytes) -> str:
    """The sha git (and GitHub's contents API) gives a file with these bytes."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class BumpRequest:
    repository: str
    base: str  # the branch the PR targets
    upstream: str
    env: str
    files: dict[str, bytes]  # repository-relative path -> the regenerated content
    title: str
    body: str
    commit_message: str

    @property
    def branch(self) -> str:
        return branch_name(self.upstream, self.env)


@dataclass(frozen=True)
class BumpResult:
    action: str  # opened | updated | unchanged | closed | up-to-date
    repository: str
    branch: str
    base: str
    pr: int | None
    url: str | None
    commit: str | None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class _Repo:
    """The few Git Data and Pulls calls a bump needs, on one repository."""

    def __init__(self, client: GitHubClient, repository: str) -> None:
        self.client = client
        self.repository = check_repository(repository)
        self.owner = repository.split("/")[0]
        self.api = f"/repos/{repository}"

    def _json(self, method: str, path: str, *, permission: str = "", subject: str = "", **options: Any) -> Any:
        response = self.client.request(
            method,
            self.api + path,
            permission=permission,
            subject=subject or f"repository {self.repository}",
            **options,
        )
        return self.client.json(response)

    def branch_sha(self, branch: str) -> str | None:
        try:
            ref = self._json("GET", f"/git/ref/heads/{quote(branch, safe='/')}", subject=f"branch {branch}")
        except NotFoundError:
            return None
        sha = ref.get("object", {}).get("sha") if isinstance(ref, dict) else None
        if not isinstance(sha, str):
            raise GitHubError(f"GitHub API returned branch {branch} of {self.repository} without a commit sha")
        return sha

    def file_sha(self, path: str, ref: str) -> str | None:
        """The blob sha of path at ref, or None when the file is not there."""
        try:
            item = self._json("GET", f"/contents/{quote(path)}", params={"ref": ref}, subject=f"{path} at {ref}")
        except NotFoundError:
            return None
        if not isinstance(item, dict) or item.get("type") != "file" or not isinstance(item.get("sha"), str):
            raise InputError(f"{path} is not a file on {ref} of {self.repository}: remove what is there")
        return str(item["sha"])

    def commit_files(self, base_sha: str, files: dict[str, bytes], message: str) -> str:
        """One commit on top of base_sha that sets files: blobs, a tree over the base's, the commit."""
        base = self._json("GET", f"/git/commits/{base_sha}")
        tree = []
        for path, data in sorted(files.items()):
            blob = self._json(
                "POST",
                "/git/blobs",
                permission=CONTENTS_PERMISSION,
                idempotent=False,
                json={"content": base64.b64encode(data).decode(), "encoding": "base64"},
            )
            tree.append({"path": path, "mode": _FILE_MODE, "type": "blob", "sha": blob["sha"]})
        new_tree = self._json(
            "POST",
            "/git/trees",
            permission=CONTENTS_PERMISSION,
            idempotent=False,
            json={"base_tree": base["tree"]["sha"], "tree": tree},
        )
        commit = self._json(
            "POST",
            "/git/commits",
            permission=CONTENTS_PERMISSION,
            idempotent=False,
            json={"message": message, "tree": new_tree["sha"], "parents": [base_sha]},
        )
        return str(commit["sha"])

    def set_branch(self, branch: str, sha: str, *, exists: bool) -> None:
        if exists:
            self._json(
                "PATCH",
                f"/git/refs/heads/{quote(branch, safe='/')}",
                permission=CONTENTS_PERMISSION,
                json={"sha": sha, "force": True},
            )
        else:
            self._json(
                "POST",
                "/git/refs",
                permission=CONTENTS_PERMISSION,
                idempotent=False,
                json={"ref": f"refs/heads/{branch}", "sha": sha},
            )

    def delete_branch(self, branch: str) -> None:
        self.client.request(
            "DELETE",
            f"{self.api}/git/refs/heads/{quote(branch, safe='/')}",
            permission=CONTENTS_PERMISSION,
            subject=f"branch {branch}",
        )

    def open_pull(self, branch: str, base: str) -> dict[str, Any] | None:
        pulls = self.client.get_all(
            f"{self.api}/pulls?state=open&head={quote(self.owner)}:{quote(branch, safe='/')}"
            f"&base={quote(base, safe='/')}",
            subject=f"pull requests of {self.repository}",
        )
        return pulls[0] if pulls else None

    def create_pull(self, branch: str, base: str, title: str, body: str) -> dict[str, Any]:
        return dict(
            self._json(
                "POST",
                "/pulls",
                permission=PULLS_PERMISSION,
                idempotent=False,
                json={"title": title, "head": branch, "base": base, "body": body, "maintainer_can_modify": True},
            )
        )

    def update_pull(self, number: int, **fields: Any) -> dict[str, Any]:
        return dict(
            self._json(
                "PATCH",
                f"/pulls/{number}",
                permission=PULLS_PERMISSION,
                json=fields,
                subject=f"{self.repository}#{number}",
            )
        )


def bump_pr(client: GitHubClient, request: BumpRequest) -> BumpResult:
    """Open, update or close the contract-bump PR so that it proposes exactly request.files."""
    repo = _Repo(client, request.repository)
    branch = request.branch

    def result(action: str, pull: dict[str, Any] | None, commit: str | None) -> BumpResult:
        return BumpResult(
            action,
            request.repository,
            branch,
            request.base,
            pull.get("number") if pull else None,
            pull.get("html_url") if pull else None,
            commit,
        )

    base_sha = repo.branch_sha(request.base)
    if base_sha is None:
        raise InputError(f"branch {request.base} does not exist in {request.repository}: pass the base branch")
    wanted = {path: git_blob_sha(data) for path, data in request.files.items()}
    pull = repo.open_pull(branch, request.base)
    if all(repo.file_sha(path, base_sha) == sha for path, sha in wanted.items()):
        if pull is None:
            return result("up-to-date", None, None)
        closed = repo.update_pull(
            pull["number"],
            state="closed",
            body=(f"{request.base} already has these files, so this PR is no longer needed.\n\n" + request.body),
        )
        if repo.branch_sha(branch) is not None:
            repo.delete_branch(branch)
        return result("closed", closed, None)

    branch_sha = repo.branch_sha(branch)
    current = branch_sha is not None and all(repo.file_sha(path, branch_sha) == sha for path, sha in wanted.items())
    commit = branch_sha
    if not current:
        commit = repo.commit_files(base_sha, request.files, request.commit_message)
        repo.set_branch(branch, commit, exists=branch_sha is not None)
    if pull is None:
        return result("opened", repo.create_pull(branch, request.base, request.title, request.body), commit)
    if current and pull.get("title") == request.title and (pull.get("body") or "") == request.body:
        return result("unchanged", pull, commit)
    return result("updated", repo.update_pull(pull["number"], title=request.title, body=request.body), commit)
