"""The sticky PR comment: one comment per marker, found by paging, edited in place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from meshkit.errors import GitHubError, ReadOnlyTokenError
from meshkit.github.api import GitHubClient, UncertainWriteError
from meshkit.report.markdown import first_line

COMMENT_PERMISSION = "pull-requests: write"


@dataclass(frozen=True)
class Comment:
    id: int
    body: str
    url: str
    by_bot: bool = False  # posted by a GitHub App or github-actions[bot], as meshkit's own comments are


@dataclass(frozen=True)
class CommentResult:
    action: str  # created, updated, unchanged, skipped
    repository: str
    pr: int
    marker: str
    comment_id: int | None
    url: str | None
    duplicates: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _comment(item: Any) -> Comment:
    if not isinstance(item, dict) or not isinstance(item.get("id"), int) or isinstance(item.get("id"), bool):
        raise GitHubError("GitHub API returned a comment without an id: check GITHUB_API_URL")
    body, url, user = item.get("body"), item.get("html_url"), item.get("user")
    by_bot = (isinstance(user, dict) and user.get("type") == "Bot") or bool(item.get("performed_via_github_app"))
    return Comment(item["id"], body if isinstance(body, str) else "", url if isinstance(url, str) else "", by_bot)


def same_body(a: str, b: str) -> bool:
    """Equal up to line endings and trailing whitespace, which GitHub may normalise."""
    return a.replace("\r\n", "\n").rstrip() == b.replace("\r\n", "\n").rstrip()


def find_marked(client: GitHubClient, repository: str, pr: int, marker: str) -> list[Comment]:
    """Comments whose first line is the marker: bot-authored first, then oldest (lowest id) first.

    Anyone can post a comment that starts with the marker; preferring the bot's own comment
    keeps the report from being written into a person's comment under their name.
    """
    items = client.get_all(
        f"/repos/{repository}/issues/{pr}/comments", permission=COMMENT_PERMISSION, subject=f"{repository}#{pr}"
    )
    marked = (c for c in map(_comment, items) if first_line(c.body) == marker)
    return sorted(marked, key=lambda c: (not c.by_bot, c.id))


def upsert_comment(client: GitHubClient, repository: str, pr: int, marker: str, body: str) -> CommentResult:
    """Create the PR comment that starts with marker, or update the one find_marked ranks first.

    A create that fails with a 5xx or a dropped connection is not resent blindly: the
    comments are listed again first (after a backoff), and one GitHub did create is
    taken as ours. Duplicates from earlier runs are counted, never deleted.
    """

    def result(action: str, comment: Comment | None, duplicates: int = 0) -> CommentResult:
        return CommentResult(
            action,
            repository,
            pr,
            marker,
            comment.id if comment else None,
            comment.url if comment else None,
            duplicates,
        )

    def update(comment: Comment, duplicates: int, *, unchanged: str = "unchanged") -> CommentResult:
        if same_body(comment.body, body):
            return result(unchanged, comment, duplicates)
        response = client.request(
            "PATCH",
            f"/repos/{repository}/issues/comments/{comment.id}",
            json={"body": body},
            permission=COMMENT_PERMISSION,
            subject=f"comment {comment.id} on {repository}#{pr}",
        )
        patched = _comment(client.json(response))
        return result("updated", Comment(patched.id, body, patched.url or comment.url), duplicates)

    try:
        ours = find_marked(client, repository, pr, marker)
        if ours:
            return update(ours[0], len(ours) - 1)
        for attempt in range(1, client.attempts + 1):
            try:
                response = client.request(
                    "POST",
                    f"/repos/{repository}/issues/{pr}/comments",
                    json={"body": body},
                    permission=COMMENT_PERMISSION,
                    subject=f"{repository}#{pr}",
                    idempotent=False,
                )
            except UncertainWriteError as exc:
                if attempt == client.attempts:
                    raise GitHubError(f"{exc} after {client.attempts} attempts: rerun later") from None
                client.sleep(client.backoff(attempt))
                ours = find_marked(client, repository, pr, marker)
                if ours:  # the failed create went through after all
                    return update(ours[0], len(ours) - 1, unchanged="created")
                continue
            return result("created", _comment(client.json(response)))
    except ReadOnlyTokenError:
        return result("skipped", None)
    raise AssertionError("unreachable: the last attempt returns or raises")
