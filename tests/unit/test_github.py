"""Unit tests for the GitHub client, `meshkit dispatch` and `meshkit comment`, against `responses` (no network).

Sleeps and the clock are injected, so retry tests record the waits instead of sleeping.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import orjson
import pytest
import requests
import responses
from responses import matchers

from meshkit import __version__
from meshkit.cli import main
from meshkit.contract.names import check_repository, unique_repositories
from meshkit.errors import GitHubError, InputError, ReadOnlyTokenError
from meshkit.github.api import GitHubClient, NotFoundError, UncertainWriteError
from meshkit.github.comment import upsert_comment
from meshkit.github.dispatch import check_event_type, send_dispatch
from meshkit.mesh.publish import PublishRequest, publish
from meshkit.registry.local import LocalRegistry
from meshkit.report.markdown import COMMENT_BUDGET, GITHUB_COMMENT_LIMIT, TRUNCATED_NOTICE, comment_marker, fit_text
from support.helpers import clean_env, meshkit, one_line_error

DATA = Path(__file__).parents[1] / "data"
API = "https://api.github.com"
GHES = "https://ghe.example.com/api/v3"
TOKEN = "ghs_unitTestToken123"
NOW = 1_700_000_000.0
MARKER = comment_marker("check", "shop")
COMMENTS = f"{API}/repos/o/r/issues/7/comments"
PUBLISHED_AT = datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)
STAMP = "20250102T030405.678901Z"


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(sleeps: list[float]) -> GitHubClient:
    return GitHubClient.from_env({"GITHUB_TOKEN": TOKEN}, sleep=sleeps.append, clock=lambda: NOW)


def _sent_json(call) -> object:
    return json.loads(call.request.body)


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err
    assert len(lines) == 1, err
    return lines[0]


# construction


def test_token_from_github_token_first_then_gh_token():
    assert GitHubClient.from_env({"GITHUB_TOKEN": "a1", "GH_TOKEN": "b2"}).token == "a1"
    assert GitHubClient.from_env({"GH_TOKEN": "b2"}).token == "b2"
    assert GitHubClient.from_env({"GITHUB_TOKEN": "", "GH_TOKEN": "b2\n"}).token == "b2"


@pytest.mark.parametrize("environ", [{}, {"GITHUB_TOKEN": "", "GH_TOKEN": "  "}])
def test_missing_token(environ):
    with pytest.raises(GitHubError) as caught:
        GitHubClient.from_env(environ)
    assert str(caught.value) == (
        "no GitHub token: set GITHUB_TOKEN or GH_TOKEN (in Actions: env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }})"
    )
    assert caught.value.exit_code == 2


def test_token_with_control_characters_is_refused_without_printing_it():
    with pytest.raises(GitHubError) as caught:
        GitHubClient.from_env({"GH_TOKEN": "abc\ndef"})
    assert "abc" not in str(caught.value) and "GH_TOKEN" in str(caught.value)


def test_token_is_not_in_repr():
    assert TOKEN not in repr(GitHubClient.from_env({"GITHUB_TOKEN": TOKEN}))


def test_base_url():
    assert GitHubClient.from_env({"GH_TOKEN": "t"}).base_url == API
    assert GitHubClient.from_env({"GH_TOKEN": "t", "GITHUB_API_URL": ""}).base_url == API
    assert GitHubClient.from_env({"GH_TOKEN": "t", "GITHUB_API_URL": GHES + "//"}).base_url == GHES
    with pytest.raises(GitHubError, match=r"^GITHUB_API_URL 'ftp://x' is not an http\(s\) URL"):
        GitHubClient.from_env({"GH_TOKEN": "t", "GITHUB_API_URL": "ftp://x"})


def test_headers_and_base_url_path(rsps, sleeps):
    rsps.post(f"{GHES}/repos/o/r/dispatches", status=204)
    github = GitHubClient.from_env({"GH_TOKEN": TOKEN, "GITHUB_API_URL": GHES + "/"}, sleep=sleeps.append)
    send_dispatch(github, "o/r", "ev", {"a": 1})
    (call,) = rsps.calls
    assert call.request.url == f"{GHES}/repos/o/r/dispatches"
    headers = call.request.headers
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["Accept"] == "application/vnd.github+json"
    assert headers["X-GitHub-Api-Version"] == "2022-11-28"
    assert headers["User-Agent"] == f"meshkit/{__version__}"
    assert _sent_json(call) == {"event_type": "ev", "client_payload": {"a": 1}}
    assert sleeps == []


# retries


def test_retries_502_then_succeeds(rsps, client, sleeps):
    rsps.post(f"{API}/repos/o/r/dispatches", status=502, body="<html>bad gateway</html>")
    rsps.post(f"{API}/repos/o/r/dispatches", status=204)
    send_dispatch(client, "o/r", "ev", {})
    assert len(rsps.calls) == 2
    assert sleeps == [1.0]


def test_server_errors_give_up_after_4_attempts_with_backoff(rsps, client, sleeps):
    rsps.get(f"{API}/repos/o/r/issues/7/comments", status=503, json={"message": "Service Unavailable"})
    with pytest.raises(GitHubError) as caught:
        client.get_all("/repos/o/r/issues/7/comments")
    assert str(caught.value) == (
        "GitHub API GET /repos/o/r/issues/7/comments failed: 503 Service Unavailable after 4 attempts: rerun later"
    )
    assert len(rsps.calls) == 4
    assert sleeps == [1.0, 2.0, 4.0]


def test_429_honours_retry_after(rsps, client, sleeps):
    rsps.post(f"{API}/repos/o/r/dispatches", status=429, headers={"Retry-After": "7"}, json={"message": "slow down"})
    rsps.post(f"{API}/repos/o/r/dispatches", status=204)
    send_dispatch(client, "o/r", "ev", {})
    assert sleeps == [7.0]
    assert len(rsps.calls) == 2


def test_secondary_rate_limit_403_is_retried_with_backoff(rsps, client, sleeps):
    message = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
    rsps.post(f"{API}/repos/o/r/dispatches", status=403, json={"message": message})
    rsps.post(f"{API}/repos/o/r/dispatches", status=403, json={"message": message})
    rsps.post(f"{API}/repos/o/r/dispatches", status=204)
    send_dispatch(client, "o/r", "ev", {})
    assert sleeps == [1.0, 2.0]


def test_primary_rate_limit_waits_until_reset(rsps, client, sleeps):
    limited = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 12)}
    rsps.post(f"{API}/repos/o/r/dispatches", status=403, headers=limited, json={"message": "API rate limit exceeded"})
    rsps.post(f"{API}/repos/o/r/dispatches", status=204)
    send_dispatch(client, "o/r", "ev", {})
    assert sleeps == [12.0]


def test_rate_limit_wait_over_the_cap_fails_at_once(rsps, client, sleeps):
    limited = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 3600)}
    rsps.post(f"{API}/repos/o/r/dispatches", status=403, headers=limited, json={"message": "API rate limit exceeded"})
    with pytest.raises(GitHubError) as caught:
        send_dispatch(client, "o/r", "ev", {})
    until = datetime.fromtimestamp(NOW + 3600, timezone.utc).strftime("%H:%M:%S UTC")
    assert str(caught.value) == (
        "GitHub API POST /repos/o/r/dispatches: 403 API rate limit exceeded; GitHub asks to wait 3600 s, "
        f"more than meshkit waits (60 s): rerun after {until}"
    )
    assert sleeps == [] and len(rsps.calls) == 1


def test_rate_limit_still_hit_after_all_attempts(rsps, client, sleeps):
    rsps.post(f"{API}/repos/o/r/dispatches", status=429, json={"message": "too many"})
    with pytest.raises(GitHubError, match=r"still rate-limited after 4 attempts \(429 too many\): wait a few minutes"):
        send_dispatch(client, "o/r", "ev", {})
    assert sleeps == [1.0, 2.0, 4.0]


def test_connection_errors_are_retried_then_reported(rsps, client, sleeps):
    rsps.post(f"{API}/repos/o/r/dispatches", body=requests.ConnectionError("Connection refused"))
    with pytest.raises(GitHubError) as caught:
        send_dispatch(client, "o/r", "ev", {})
    assert str(caught.value) == (
        f"cannot reach the GitHub API at {API}: Connection refused (4 attempts); check GITHUB_API_URL"
    )
    assert sleeps == [1.0, 2.0, 4.0]


def test_a_create_is_not_resent_after_a_5xx(rsps, client, sleeps):
    rsps.post(COMMENTS, status=502)
    with pytest.raises(UncertainWriteError):
        client.request("POST", "/repos/o/r/issues/7/comments", json={"body": "x"}, idempotent=False)
    assert len(rsps.calls) == 1 and sleeps == []


# error messages


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (
            401,
            {"message": "Bad credentials"},
            "GitHub rejected the token (POST /repos/o/r/dispatches: 401 Bad credentials): "
            "set GITHUB_TOKEN or GH_TOKEN to a valid token",
        ),
        (
            403,
            {"message": "Resource not accessible by personal access token"},
            "the GitHub token may not POST /repos/o/r/dispatches (403 Resource not accessible by personal access token): "
            "it needs Contents: write on o/r (fine-grained token or GitHub App)",
        ),
        (
            404,
            {"message": "Not Found"},
            "GitHub API POST /repos/o/r/dispatches: 404 Not Found: repository o/r does not exist or the token cannot see it",
        ),
        (
            422,
            {"message": "Validation Failed", "errors": [{"message": "event_type is invalid"}, "payload too big"]},
            "GitHub rejected POST /repos/o/r/dispatches: 422 Validation Failed (event_type is invalid; payload too big)",
        ),
        (418, {"message": "I'm a\nteapot"}, "GitHub API POST /repos/o/r/dispatches failed: 418 I'm a teapot"),
    ],
)
def test_error_messages(rsps, client, sleeps, status, body, expected):
    rsps.post(f"{API}/repos/o/r/dispatches", status=status, json=body)
    with pytest.raises(GitHubError) as caught:
        send_dispatch(client, "o/r", "ev", {})
    assert str(caught.value) == expected
    assert type(caught.value) is (NotFoundError if status == 404 else GitHubError)  # a 404 may be expected (bump-pr)
    assert len(rsps.calls) == 1 and sleeps == []
    assert TOKEN not in str(caught.value)


def test_read_only_token_is_its_own_error(rsps, client):
    rsps.post(f"{API}/repos/o/r/dispatches", status=403, json={"message": "Resource not accessible by integration"})
    with pytest.raises(ReadOnlyTokenError):
        send_dispatch(client, "o/r", "ev", {})


def test_html_instead_of_json(rsps, client):
    rsps.get(COMMENTS, body="<html>sign in</html>", content_type="text/html")
    with pytest.raises(GitHubError, match=r"^GitHub API GET /repos/o/r/issues/7/comments did not answer JSON"):
        client.get_all("/repos/o/r/issues/7/comments")


# names


def test_repository_names():
    assert check_repository("my-org/repo.name_1") == "my-org/repo.name_1"
    for bad in ("repo", "o/r/x", "o/..", "o/.", "../r", "o r/x", "o/r\n", "", "o_x/r"):
        with pytest.raises(InputError, match=r"is not a GitHub repository: use OWNER/REPO"):
            check_repository(bad)
    assert unique_repositories(["a/b", "c/d", "A/B", "c/d"]) == ["a/b", "c/d"]


def test_event_types():
    assert check_event_type("a" * 100) == "a" * 100
    for bad in ("", "a" * 101, "has space", "x/y"):
        with pytest.raises(InputError, match="is not allowed: use 1 to 100 letters"):
            check_event_type(bad)


def test_payload_over_10_keys_is_refused_before_sending(rsps, client):
    with pytest.raises(GitHubError, match="client_payload has 11 top-level keys; GitHub allows 10"):
        send_dispatch(client, "o/r", "ev", {f"k{i}": i for i in range(11)})
    assert len(rsps.calls) == 0


# pagination and the sticky comment


def _comment(cid: int, body: str) -> dict:
    return {"id": cid, "body": body, "html_url": f"https://github.com/o/r/pull/7#issuecomment-{cid}"}


def _pages(rsps, pages: list[list[dict]]) -> None:
    """Register pages 1..n of the comment list, linked with rel="next" like GitHub."""
    for number, page in enumerate(pages, start=1):
        query = {"per_page": "100"} if number == 1 else {"per_page": "100", "page": str(number)}
        headers = {}
        if number < len(pages):
            headers["Link"] = (
                f'<{COMMENTS}?per_page=100&page={number + 1}>; rel="next", <{COMMENTS}?page=9>; rel="last"'
            )
        rsps.get(COMMENTS, json=page, headers=headers, match=[matchers.query_param_matcher(query)])


def test_pagination_finds_the_marker_on_the_last_page_and_updates(rsps, client):
    _pages(
        rsps, [[_comment(1, "hi")], [_comment(2, "<!-- meshkit:check:other -->\nx")], [_comment(3, MARKER + "\nold")]]
    )
    rsps.patch(f"{API}/repos/o/r/issues/comments/3", json=_comment(3, MARKER + "\nnew"))
    result = upsert_comment(client, "o/r", 7, MARKER, MARKER + "\nnew")
    assert (result.action, result.comment_id, result.duplicates) == ("updated", 3, 0)
    assert result.url == "https://github.com/o/r/pull/7#issuecomment-3"
    assert [c.request.method for c in rsps.calls] == ["GET", "GET", "GET", "PATCH"]
    assert [c.request.url for c in rsps.calls[:3]] == [
        f"{COMMENTS}?per_page=100",
        f"{COMMENTS}?per_page=100&page=2",
        f"{COMMENTS}?per_page=100&page=3",
    ]
    assert _sent_json(rsps.calls[3]) == {"body": MARKER + "\nnew"}


def test_next_link_to_another_host_is_refused(rsps, client):
    rsps.get(COMMENTS, json=[], headers={"Link": '<https://evil.example.com/steal?page=2>; rel="next"'})
    with pytest.raises(GitHubError) as caught:
        client.get_all("/repos/o/r/issues/7/comments")
    assert str(caught.value) == (
        "GitHub API GET /repos/o/r/issues/7/comments: refusing a next-page link to another host (evil.example.com); "
        f"the token is only sent to {API}"
    )
    assert len(rsps.calls) == 1


@pytest.mark.parametrize("link", ["http://api.github.com/x", "https://api.github.com:8443/x"])
def test_next_link_with_another_scheme_or_port_is_refused(rsps, client, link):
    rsps.get(COMMENTS, json=[], headers={"Link": f'<{link}>; rel="next"'})
    with pytest.raises(GitHubError, match="refusing a next-page link"):
        client.get_all("/repos/o/r/issues/7/comments")


def test_unchanged_body_sends_no_patch(rsps, client):
    rsps.get(COMMENTS, json=[_comment(5, MARKER + "\nsame\n")])
    result = upsert_comment(client, "o/r", 7, MARKER, MARKER + "\nsame\n")
    assert (result.action, result.comment_id) == ("unchanged", 5)
    assert [c.request.method for c in rsps.calls] == ["GET"]


def test_not_found_creates(rsps, client):
    rsps.get(COMMENTS, json=[_comment(1, "lgtm"), _comment(2, "x\n" + MARKER)])
    rsps.post(COMMENTS, status=201, json=_comment(9, MARKER + "\nbody"))
    result = upsert_comment(client, "o/r", 7, MARKER, MARKER + "\nbody")
    assert (result.action, result.comment_id, result.url) == ("created", 9, _comment(9, "")["html_url"])
    assert _sent_json(rsps.calls[1]) == {"body": MARKER + "\nbody"}


def test_an_update_is_retried_after_a_5xx(rsps, client, sleeps):
    rsps.get(COMMENTS, json=[_comment(5, MARKER + "\nold")])
    rsps.patch(f"{API}/repos/o/r/issues/comments/5", status=502)
    rsps.patch(f"{API}/repos/o/r/issues/comments/5", json=_comment(5, MARKER + "\nnew"))
    result = upsert_comment(client, "o/r", 7, MARKER, MARKER + "\nnew")
    assert (result.action, result.comment_id) == ("updated", 5)
    assert [c.request.method for c in rsps.calls] == ["GET", "PATCH", "PATCH"]
    assert sleeps == [1.0]


def test_duplicates_update_the_oldest(rsps, client):
    rsps.get(COMMENTS, json=[_comment(30, MARKER + "\na"), _comment(10, MARKER + "\nb"), _comment(20, MARKER)])
    rsps.patch(f"{API}/repos/o/r/issues/comments/10", json=_comment(10, MARKER + "\nc"))
    result = upsert_comment(client, "o/r", 7, MARKER, MARKER + "\nc")
    assert (result.action, result.comment_id, result.duplicates) == ("updated", 10, 2)


def test_the_bots_own_comment_wins_over_an_older_one_a_person_posted(rsps, client):
    planted = {**_comment(4, MARKER + "\nI wrote this"), "user": {"login": "mallory", "type": "User"}}
    ours = {**_comment(9, MARKER + "\nold"), "user": {"login": "github-actions[bot]", "type": "Bot"}}
    rsps.get(COMMENTS, json=[planted, ours])
    rsps.patch(f"{API}/repos/o/r/issues/comments/9", json=_comment(9, MARKER + "\nnew"))
    result = upsert_comment(client, "o/r", 7, MARKER, MARKER + "\nnew")
    assert (result.action, result.comment_id, result.duplicates) == ("updated", 9, 1)
    assert [c.request.url for c in rsps.calls] == [f"{COMMENTS}?per_page=100", f"{API}/repos/o/r/issues/comments/9"]


def test_create_that_failed_with_5xx_but_landed_is_not_duplicated(rsps, client, sleeps):
    rsps.get(COMMENTS, json=[])
    rsps.post(COMMENTS, status=502)
    rsps.get(COMMENTS, json=[_comment(4, MARKER + "\nbody")])
    result = upsert_comment(client, "o/r", 7, MARKER, MARKER + "\nbody")
    assert (result.action, result.comment_id) == ("created", 4)
    assert [c.request.method for c in rsps.calls] == ["GET", "POST", "GET"]
    assert sleeps == [1.0]


def test_create_that_failed_with_5xx_and_did_not_land_is_sent_again(rsps, client, sleeps):
    rsps.get(COMMENTS, json=[])
    rsps.post(COMMENTS, status=500)
    rsps.post(COMMENTS, status=201, json=_comment(6, MARKER))
    result = upsert_comment(client, "o/r", 7, MARKER, MARKER)
    assert (result.action, result.comment_id) == ("created", 6)
    assert [c.request.method for c in rsps.calls] == ["GET", "POST", "GET", "POST"]


def test_create_that_keeps_failing_gives_up(rsps, client, sleeps):
    rsps.get(COMMENTS, json=[])
    rsps.post(COMMENTS, status=500, json={"message": "Server Error"})
    with pytest.raises(GitHubError) as caught:
        upsert_comment(client, "o/r", 7, MARKER, MARKER)
    assert str(caught.value) == (
        "GitHub API POST /repos/o/r/issues/7/comments failed: 500 Server Error after 4 attempts: rerun later"
    )
    assert [c.request.method for c in rsps.calls].count("POST") == 4
    assert sleeps == [1.0, 2.0, 4.0]


def test_read_only_token_skips(rsps, client):
    rsps.get(COMMENTS, json=[])
    rsps.post(COMMENTS, status=403, json={"message": "Resource not accessible by integration"})
    result = upsert_comment(client, "o/r", 7, MARKER, MARKER)
    assert (result.action, result.comment_id, result.url) == ("skipped", None, None)


def test_comment_permission_error(rsps, client):
    rsps.get(COMMENTS, json=[])
    rsps.post(COMMENTS, status=403, json={"message": "Must have admin rights to Repository."})
    with pytest.raises(GitHubError) as caught:
        upsert_comment(client, "o/r", 7, MARKER, MARKER)
    assert str(caught.value) == (
        "the GitHub token may not POST /repos/o/r/issues/7/comments (403 Must have admin rights to Repository.): "
        "it needs pull-requests: write"
    )


# fit_text


def test_fit_text_cuts_whole_lines_outside_fences():
    assert fit_text("short", 100) == "short"
    body = MARKER + "\n" + "".join(f"line {i}\n" for i in range(5000)) + "```mermaid\n" + "a-->b\n" * 20000 + "```\n"
    cut = fit_text(body, COMMENT_BUDGET)
    assert len(cut) <= COMMENT_BUDGET < GITHUB_COMMENT_LIMIT
    assert cut.endswith(TRUNCATED_NOTICE) and cut.startswith(MARKER + "\n")
    assert cut.count("```") == 0 and "line 4999\n" in cut


# the `meshkit comment` command


def _body_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "comment.md"
    path.write_text(text, encoding="utf-8")
    return path


def _comment_env(**extra: str) -> dict[str, str]:
    return {"GITHUB_TOKEN": TOKEN, **extra}


def test_comment_cli_creates(rsps, tmp_path, capsys):
    body = _body_file(tmp_path, MARKER + "\n## Report\n")
    rsps.get(COMMENTS, json=[])
    rsps.post(COMMENTS, status=201, json=_comment(11, MARKER))
    code = main(["comment", "--body-file", str(body), "--repository", "o/r", "--pr", "7"], environ=_comment_env())
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    assert out == "created comment 11 on o/r#7: https://github.com/o/r/pull/7#issuecomment-11\n"
    assert _sent_json(rsps.calls[1]) == {"body": MARKER + "\n## Report\n"}


def test_comment_cli_pr_and_repository_from_the_actions_environment(rsps, tmp_path, capsys):
    body = _body_file(tmp_path, MARKER + "\nnew")
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"action": "synchronize", "number": 99, "pull_request": {"number": 7}}))
    rsps.get(COMMENTS, json=[_comment(3, MARKER + "\nold"), _comment(8, MARKER)])
    rsps.patch(f"{API}/repos/o/r/issues/comments/3", json=_comment(3, MARKER + "\nnew"))
    code = main(
        ["comment", "--body-file", str(body), "--format", "json"],
        environ=_comment_env(GITHUB_REPOSITORY="o/r", GITHUB_EVENT_PATH=str(event)),
    )
    assert code == 0
    document = orjson.loads(capsys.readouterr().out)
    assert document == {
        "meshkit_version": __version__,
        "command": "comment",
        "schema": "meshkit-comment/1",
        "action": "updated",
        "repository": "o/r",
        "pr": 7,
        "marker": MARKER,
        "comment_id": 3,
        "url": "https://github.com/o/r/pull/7#issuecomment-3",
        "duplicates": 1,
    }


def test_comment_cli_issue_comment_event(rsps, tmp_path, capsys):
    body = _body_file(tmp_path, MARKER)
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"issue": {"number": 7}}))
    rsps.get(COMMENTS, json=[_comment(3, MARKER)])
    code = main(
        ["comment", "--body-file", str(body), "--repository", "o/r"], environ=_comment_env(GITHUB_EVENT_PATH=str(event))
    )
    assert code == 0
    assert capsys.readouterr().out == "unchanged comment 3 on o/r#7: https://github.com/o/r/pull/7#issuecomment-3\n"


@pytest.mark.parametrize("actions", [False, True])
def test_comment_cli_read_only_token_is_a_warning(rsps, tmp_path, capsys, actions):
    body = _body_file(tmp_path, MARKER)
    rsps.get(COMMENTS, json=[])
    rsps.post(COMMENTS, status=403, json={"message": "Resource not accessible by integration"})
    environ = _comment_env(GITHUB_ACTIONS="true") if actions else _comment_env()
    code = main(["comment", "--body-file", str(body), "--repository", "o/r", "--pr", "7"], environ=environ)
    out, err = capsys.readouterr()
    assert code == 0
    assert out == "skipped comment on o/r#7: the token is read-only\n"
    warning = (
        "the token cannot write to o/r#7 (a fork's read-only token?); comment not posted — "
        "the report is in the job summary"
    )
    expected = f"::warning::meshkit comment: {warning}" if actions else f"meshkit comment: warning: {warning}"
    assert _one_line(err) == expected


def test_comment_cli_cuts_an_oversize_body(rsps, tmp_path, capsys):
    text = MARKER + "\n" + "```\n" + "x" * 70 + "\n" + "".join(f"row {i}\n" for i in range(20_000)) + "```\n"
    body = _body_file(tmp_path, text)
    rsps.get(COMMENTS, json=[])
    rsps.post(COMMENTS, status=201, json=_comment(1, MARKER))
    assert main(["comment", "--body-file", str(body), "--repository", "o/r", "--pr", "7"], environ=_comment_env()) == 0
    sent = _sent_json(rsps.calls[1])["body"]
    assert len(sent) <= GITHUB_COMMENT_LIMIT and len(sent) <= COMMENT_BUDGET
    assert sent.startswith(MARKER + "\n") and sent.endswith(TRUNCATED_NOTICE)
    assert sent.count("```") % 2 == 0


@pytest.mark.parametrize(
    ("argv", "environ", "expected"),
    [
        (
            ["--pr", "7"],
            {},
            "meshkit comment: error: no repository: pass --repository OWNER/REPO (or set GITHUB_REPOSITORY)",
        ),
        (
            ["--repository", "o/r"],
            {},
            "meshkit comment: error: no pull request number: pass --pr N (or run in a pull_request workflow, "
            "which sets GITHUB_EVENT_PATH)",
        ),
        (
            ["--repository", "o/../r", "--pr", "7"],
            {},
            "meshkit comment: error: --repository 'o/../r' is not a GitHub repository: "
            "use OWNER/REPO (letters, digits, '-', '.', '_')",
        ),
        (
            ["--pr", "7"],
            {"GITHUB_REPOSITORY": "o/r"},
            "meshkit comment: error: no GitHub token: set GITHUB_TOKEN or GH_TOKEN "
            "(in Actions: env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }})",
        ),
    ],
)
def test_comment_cli_input_errors(rsps, tmp_path, capsys, argv, environ, expected):
    body = _body_file(tmp_path, MARKER)
    assert main(["comment", "--body-file", str(body), *argv], environ=environ) == 2
    out, err = capsys.readouterr()
    assert out == "" and _one_line(err) == expected
    assert len(rsps.calls) == 0


def test_comment_cli_event_without_a_pr(rsps, tmp_path, capsys):
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"ref": "refs/heads/main"}))
    body = _body_file(tmp_path, MARKER)
    assert (
        main(
            ["comment", "--body-file", str(body), "--repository", "o/r"],
            environ=_comment_env(GITHUB_EVENT_PATH=str(event)),
        )
        == 2
    )
    assert _one_line(capsys.readouterr().err) == (
        f"meshkit comment: error: no pull request number in the event at {event} (GITHUB_EVENT_PATH): "
        "pass --pr N or run on a pull_request event"
    )


@pytest.mark.parametrize("text", ["## no marker\n", "\n" + MARKER, "<!-- meshkit:check -->\n", "<!-- other:a:b -->"])
def test_comment_cli_body_without_marker(rsps, tmp_path, capsys, text):
    body = _body_file(tmp_path, text)
    assert main(["comment", "--body-file", str(body), "--repository", "o/r", "--pr", "7"], environ=_comment_env()) == 2
    assert _one_line(capsys.readouterr().err) == (
        f"meshkit comment: error: the comment body {body} has no meshkit marker on its first line: "
        "render it with --format markdown"
    )
    assert len(rsps.calls) == 0


def test_comment_cli_validate_all_marker_is_accepted(rsps, tmp_path, capsys):
    marker = comment_marker("validate", "dbt_down+dbt_down_loom")
    body = _body_file(tmp_path, marker + "\n")
    rsps.get(COMMENTS, json=[_comment(2, marker + "\n")])
    assert main(["comment", "--body-file", str(body), "--repository", "o/r", "--pr", "7"], environ=_comment_env()) == 0


def test_comment_cli_missing_body_file(tmp_path):
    result = meshkit(
        "comment",
        "--body-file",
        "nope.md",
        "--repository",
        "o/r",
        "--pr",
        "7",
        cwd=tmp_path,
        env=clean_env(GITHUB_TOKEN=TOKEN),
    )
    assert result.returncode == 2 and result.stdout == ""
    assert one_line_error(result) == (
        "meshkit comment: error: cannot read the comment body nope.md: No such file or directory: "
        "write it with `meshkit check --format markdown > FILE` (or validate) first"
    )


def test_comment_cli_api_error_is_one_line(rsps, tmp_path, capsys):
    body = _body_file(tmp_path, MARKER)
    rsps.get(COMMENTS, status=404, json={"message": "Not Found"})
    assert main(["comment", "--body-file", str(body), "--repository", "o/r", "--pr", "7"], environ=_comment_env()) == 2
    assert _one_line(capsys.readouterr().err) == (
        "meshkit comment: error: GitHub API GET /repos/o/r/issues/7/comments: 404 Not Found: "
        "o/r#7 does not exist or the token cannot see it"
    )


# the `meshkit dispatch` command


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    project = tmp_path / "shop"
    (project / "target").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: shop\n")
    (project / "target" / "manifest.json").write_bytes((DATA / "manifest_shop.json").read_bytes())
    root = tmp_path / "reg"
    publish(
        PublishRequest(project_dir=project, project="shop", env="prod", git_commit="abc1234", now=PUBLISHED_AT),
        LocalRegistry(root),
    )
    return root


def _sha256(registry: Path) -> str:
    return orjson.loads((registry / "shop/prod/latest/metadata.json").read_bytes())["sha256"]


def _config(tmp_path: Path, consumers: list[str]) -> Path:
    path = tmp_path / "meshkit.yml"
    path.write_text(json.dumps({"version": 1, "projects": {"shop": {"consumers": consumers}}}))
    return path


def _dispatch(registry: Path, *args: str) -> list[str]:
    return ["dispatch", "--project", "shop", "--registry", str(registry), *args]


def test_dispatch_sends_the_exact_payload(rsps, registry, tmp_path, capsys):
    config = _config(tmp_path, ["self", "team/down"])
    rsps.post(f"{API}/repos/me/up/dispatches", status=204)
    rsps.post(f"{API}/repos/team/down/dispatches", status=204)
    code = main(_dispatch(registry, "--config", str(config)), environ={"GH_TOKEN": TOKEN, "GITHUB_REPOSITORY": "me/up"})
    out, err = capsys.readouterr()
    sha = _sha256(registry)
    assert (code, err) == (0, "")
    assert out == (
        f"dispatched meshkit-upstream-published for shop/prod (sha256 {sha[:12]}) to me/up\n"
        f"dispatched meshkit-upstream-published for shop/prod (sha256 {sha[:12]}) to team/down\n"
    )
    payload = {
        "schema": "meshkit-dispatch/1",
        "project": "shop",
        "env": "prod",
        "sha256": sha,
        "key": "shop/prod/latest/manifest.json",
        "history_key": f"shop/prod/history/{STAMP}/manifest.json",
        "commit": "abc1234",
        "published_at": "2025-01-02T03:04:05.678901Z",
    }
    assert [c.request.url for c in rsps.calls] == [f"{API}/repos/me/up/dispatches", f"{API}/repos/team/down/dispatches"]
    for call in rsps.calls:
        sent = _sent_json(call)
        assert sent == {"event_type": "meshkit-upstream-published", "client_payload": payload}
        assert len(sent["client_payload"]) <= 10
        assert call.request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_dispatch_deduplicates_repository_flags_and_config(rsps, registry, tmp_path, capsys):
    config = _config(tmp_path, ["team/down", "self", "Team/Down"])
    rsps.post(f"{API}/repos/team/down/dispatches", status=204)
    rsps.post(f"{API}/repos/ME/UP/dispatches", status=204)
    rsps.post(f"{API}/repos/x/y/dispatches", status=204)
    argv = _dispatch(
        registry,
        "--config",
        str(config),
        "--repository",
        "x/y",
        "--repository",
        "ME/UP",
        "--event-type",
        "custom.event_1",
        "--format",
        "json",
    )
    assert main(argv, environ={"GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": "me/up"}) == 0
    document = orjson.loads(capsys.readouterr().out)
    assert document["command"] == "dispatch" and document["event_type"] == "custom.event_1"
    assert document["repositories"] == [
        {"repository": "x/y", "status": "sent", "error": None},
        {"repository": "ME/UP", "status": "sent", "error": None},
        {"repository": "team/down", "status": "sent", "error": None},
    ]
    assert [c.request.url for c in rsps.calls] == [
        f"{API}/repos/x/y/dispatches",
        f"{API}/repos/ME/UP/dispatches",
        f"{API}/repos/team/down/dispatches",
    ]
    assert _sent_json(rsps.calls[0])["event_type"] == "custom.event_1"


def test_dispatch_partial_failure_still_sends_to_every_target(rsps, registry, tmp_path, capsys):
    rsps.post(f"{API}/repos/a/gone/dispatches", status=404, json={"message": "Not Found"})
    rsps.post(f"{API}/repos/b/ok/dispatches", status=204)
    code = main(
        _dispatch(registry, "--config", str(_config(tmp_path, [])), "--repository", "a/gone", "--repository", "b/ok"),
        environ={"GITHUB_TOKEN": TOKEN},
    )
    out, err = capsys.readouterr()
    assert code == 2
    assert out == f"dispatched meshkit-upstream-published for shop/prod (sha256 {_sha256(registry)[:12]}) to b/ok\n"
    assert _one_line(err) == (
        "meshkit dispatch: error: not dispatched to a/gone: GitHub API POST /repos/a/gone/dispatches: 404 Not Found: "
        "repository a/gone does not exist or the token cannot see it"
    )
    assert len(rsps.calls) == 2


def test_dispatch_dry_run_needs_no_token_and_sends_nothing(rsps, registry, tmp_path, capsys):
    code = main(
        _dispatch(registry, "--config", str(_config(tmp_path, ["self"])), "--dry-run", "--format", "json"),
        environ={"GITHUB_REPOSITORY": "me/up"},
    )
    assert code == 0
    document = orjson.loads(capsys.readouterr().out)
    assert document["repositories"] == [{"repository": "me/up", "status": "dry-run", "error": None}]
    assert sorted(document["client_payload"]) == sorted(
        ["schema", "project", "env", "sha256", "key", "history_key", "commit", "published_at"]
    )
    assert len(rsps.calls) == 0


def test_dispatch_dry_run_text(rsps, registry, tmp_path, capsys):
    assert (
        main(
            _dispatch(registry, "--repository", "o/r", "--config", str(_config(tmp_path, [])), "--dry-run"), environ={}
        )
        == 0
    )
    lines = capsys.readouterr().out.splitlines()
    assert (
        lines[0] == f"would dispatch meshkit-upstream-published for shop/prod (sha256 {_sha256(registry)[:12]}) to o/r"
    )
    assert lines[1].startswith('client_payload: {"commit":"abc1234",')
    assert len(lines) == 2


@pytest.mark.parametrize(
    ("args", "environ", "expected"),
    [
        (
            ["--repository", "o/r", "--event-type", "e" * 101],
            {"GITHUB_TOKEN": TOKEN},
            f"event type '{'e' * 40}… (101 characters)' is not allowed: use 1 to 100 letters, digits, '.', '_' or '-'",
        ),
        (
            ["--repository", "o/r", "--event-type", "a b"],
            {"GITHUB_TOKEN": TOKEN},
            "event type 'a b' is not allowed: use 1 to 100 letters, digits, '.', '_' or '-'",
        ),
        (
            [],
            {"GITHUB_TOKEN": TOKEN},
            "no consumer repositories for shop: list them in meshkit.yml under projects.shop.consumers or pass --repository",
        ),
        (
            ["--repository", "o/r/x"],
            {"GITHUB_TOKEN": TOKEN},
            "repository 'o/r/x' is not a GitHub repository: use OWNER/REPO (letters, digits, '-', '.', '_')",
        ),
        (
            ["--repository", "o/r"],
            {},
            "no GitHub token: set GITHUB_TOKEN or GH_TOKEN (in Actions: env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }})",
        ),
        (
            ["--repository", "o/r", "--env", "staging"],
            {"GITHUB_TOKEN": TOKEN},
            "registry {registry} has project 'shop' but not env 'staging' (it has: prod)",
        ),
    ],
)
def test_dispatch_input_errors_send_nothing(rsps, registry, tmp_path, capsys, args, environ, expected):
    code = main(_dispatch(registry, "--config", str(_config(tmp_path, [])), *args), environ=environ)
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert _one_line(err) == "meshkit dispatch: error: " + expected.replace("{registry}", str(registry.resolve()))
    assert len(rsps.calls) == 0


def test_dispatch_allows_no_consumers_when_asked_and_needs_no_token(rsps, registry, tmp_path, capsys):
    config = str(_config(tmp_path, []))
    assert main(_dispatch(registry, "--config", config, "--allow-no-consumers"), environ={}) == 0
    assert capsys.readouterr().out == "no consumer repositories of shop are listed: nothing to notify\n"
    assert main(_dispatch(registry, "--config", config, "--allow-no-consumers", "--format", "json"), environ={}) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["repositories"] == [] and document["client_payload"]["project"] == "shop"
    assert len(rsps.calls) == 0


def test_dispatch_self_without_github_repository(rsps, registry, tmp_path, capsys):
    config = _config(tmp_path, ["self"])
    assert main(_dispatch(registry, "--config", str(config)), environ={"GITHUB_TOKEN": TOKEN}) == 2
    assert _one_line(capsys.readouterr().err) == (
        f"meshkit dispatch: error: {config} lists self as a consumer of shop but GITHUB_REPOSITORY is not set: "
        "set it to OWNER/REPO or pass --repository"
    )
    assert len(rsps.calls) == 0


def test_dispatch_reads_meshkit_yml_from_the_working_directory(registry, tmp_path):
    _config(tmp_path, ["self", "team/down"])
    result = meshkit(
        *_dispatch(registry, "--dry-run"),
        cwd=tmp_path,
        env=clean_env(GITHUB_REPOSITORY="me/up", GITHUB_TOKEN="", GH_TOKEN=""),
    )
    assert result.returncode == 0, result.stderr
    assert [line.rsplit(" ", 1)[1] for line in result.stdout.splitlines()[:2]] == ["me/up", "team/down"]


def test_dispatch_missing_token_in_a_subprocess(registry, tmp_path):
    result = meshkit(
        *_dispatch(registry, "--repository", "o/r"), cwd=tmp_path, env=clean_env(GITHUB_TOKEN="", GH_TOKEN="")
    )
    assert result.returncode == 2 and result.stdout == ""
    assert one_line_error(result) == (
        "meshkit dispatch: error: no GitHub token: set GITHUB_TOKEN or GH_TOKEN "
        "(in Actions: env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }})"
    )


def test_dispatch_explicit_config_must_exist(registry, tmp_path):
    result = meshkit(
        *_dispatch(registry, "--config", "missing.yml", "--dry-run"), cwd=tmp_path, env=clean_env(GITHUB_TOKEN="")
    )
    assert result.returncode == 2
    assert one_line_error(result) == (
        "meshkit dispatch: error: config file missing.yml does not exist: pass --config with the path of meshkit.yml"
    )


@pytest.mark.parametrize("argv", [["dispatch", "--help"], ["comment", "--help"]])
def test_help(argv, capsys):
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: meshkit {argv[0]}") and "exit codes:" in out


def test_a_short_token_is_redacted_where_it_stands_alone_not_inside_words():
    """A one-letter token replaced everywhere gave `canno*** reach ***he Gi***Hub API`."""
    from meshkit.github.api import redact

    assert redact("cannot reach the GitHub API: token t was refused", "t") == (
        "cannot reach the GitHub API: token *** was refused"
    )
    long_token = "ghs_" + "a1" * 18
    assert redact(f"echo {long_token}x and Bearer{long_token}", long_token) == "echo ***x and Bearer***"
