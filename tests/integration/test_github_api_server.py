"""Self-tests of the fake GitHub REST API (tests/support/github_api.py), driven with plain `requests`.

The fake is only worth having if its validator can fail: every bad request below must be
answered the way GitHub answers it *and* be recorded as a violation, and good requests must
leave none behind (the `github_api` fixture fails any test that leaves one).
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest
import requests

from support.github_api import (
    API_VERSION,
    BOT,
    SECONDARY_RATE_LIMIT_MESSAGE,
    GitHubAPI,
    SpecMissing,
    User,
    comment_object,
    load_spec,
    response_errors,
)
from support.helpers import REPO, run

WRITE, READ = "ghs_write_token", "ghs_read_only_token"
GOOD_HEADERS = {
    "Accept": "application/vnd.github+json",
    "User-Agent": "meshkit-tests",
    "X-GitHub-Api-Version": API_VERSION,
}


def call(
    server: GitHubAPI,
    method: str,
    path: str,
    *,
    token: str | None = WRITE,
    headers: dict[str, str | None] | None = None,
    **kwargs: Any,
) -> requests.Response:
    """One request with GitHub's recommended headers; `headers` overrides them (None drops one)."""
    merged: dict[str, str | None] = {**GOOD_HEADERS, "Authorization": f"Bearer {token}" if token else None}
    merged.update(headers or {})
    # requests drops headers whose value is None; an explicit "" is needed to suppress its own User-Agent.
    sent = {k: v for k, v in merged.items() if v is not None}
    if merged.get("User-Agent") is None:
        sent["User-Agent"] = ""
    url = path if path.startswith("http") else server.base_url + path
    with requests.Session() as session:
        session.trust_env = False  # a developer's HTTP_PROXY must not sit between the test and loopback
        return session.request(method, url, headers=sent, timeout=10, **kwargs)


@pytest.fixture
def gh(github_api: GitHubAPI) -> GitHubAPI:
    """The fixture with one repository (PRs 7 and 8, issue 3) and a write and a read-only token."""
    github_api.add_repository("acme/shop", pull_requests=[7, 8], issues=[3])
    github_api.add_token(WRITE)
    github_api.add_token(READ, write=False)
    return github_api


def one_violation(server: GitHubAPI, *fragments: str) -> str:
    taken = server.take_violations()
    assert len(taken) == 1, taken
    for fragment in fragments:
        assert fragment in taken[0].reason, taken[0]
    return taken[0].reason


# ---- good requests ------------------------------------------------------------------------


def test_dispatch_is_recorded(gh: GitHubAPI) -> None:
    payload = {"project": "dbt_up", "env": "prod", "sha256": "0" * 64}
    response = call(
        gh,
        "POST",
        "/repos/acme/shop/dispatches",
        json={"event_type": "meshkit-upstream-published", "client_payload": payload},
    )
    assert response.status_code == 204 and response.content == b""
    [dispatch] = gh.dispatches
    assert (dispatch.repository, dispatch.event_type, dispatch.client_payload, dispatch.token) == (
        "acme/shop",
        "meshkit-upstream-published",
        payload,
        WRITE,
    )
    [logged] = gh.log
    assert (logged.method, logged.path, logged.status, logged.operation_id, logged.json["event_type"]) == (
        "POST",
        "/repos/acme/shop/dispatches",
        204,
        "repos/create-dispatch-event",
        "meshkit-upstream-published",
    )


def test_comment_lifecycle_as_the_actions_bot(gh: GitHubAPI) -> None:
    created = call(gh, "POST", "/repos/acme/shop/issues/7/comments", json={"body": "<!-- meshkit:check:dbt_up -->\nhi"})
    assert created.status_code == 201
    comment = created.json()
    assert created.headers["Location"] == comment["url"]
    assert comment["url"] == f"{gh.base_url}/repos/acme/shop/issues/comments/{comment['id']}"
    assert comment["user"]["login"] == BOT.login == "github-actions[bot]" and comment["user"]["type"] == "Bot"
    assert comment["html_url"] == f"https://github.com/acme/shop/pull/7#issuecomment-{comment['id']}"
    assert comment["issue_url"] == f"{gh.base_url}/repos/acme/shop/issues/7"
    assert created.headers["Content-Type"] == "application/json; charset=utf-8"

    fetched = call(gh, "GET", f"/repos/acme/shop/issues/comments/{comment['id']}")
    assert fetched.status_code == 200 and fetched.json() == comment

    updated = call(gh, "PATCH", f"/repos/acme/shop/issues/comments/{comment['id']}", json={"body": "new"})
    assert updated.status_code == 200 and updated.json()["body"] == "new" and updated.json()["id"] == comment["id"]
    assert [c["body"] for c in gh.comments("acme/shop", 7)] == ["new"]

    # Owner and repository names are not case sensitive on GitHub.
    assert call(gh, "GET", f"/repos/ACME/Shop/issues/comments/{comment['id']}").status_code == 200
    assert call(gh, "DELETE", f"/repos/acme/shop/issues/comments/{comment['id']}").status_code == 204
    assert gh.comments("acme/shop", 7) == []
    assert [(c.method, c.status) for c in gh.log] == [
        ("POST", 201),
        ("GET", 200),
        ("PATCH", 200),
        ("GET", 200),
        ("DELETE", 204),
    ]


def test_token_scheme_and_comments_on_issues(gh: GitHubAPI) -> None:
    response = call(
        gh,
        "POST",
        "/repos/acme/shop/issues/3/comments",
        token=None,
        headers={"Authorization": f"token {WRITE}"},
        json={"body": "x"},
    )
    assert response.status_code == 201
    assert response.json()["html_url"].endswith(f"/acme/shop/issues/3#issuecomment-{response.json()['id']}")


def test_a_token_can_comment_as_another_user(gh: GitHubAPI) -> None:
    gh.add_token("ghp_personal", user=User("mona", 9919))
    response = call(gh, "POST", "/repos/acme/shop/issues/8/comments", token="ghp_personal", json={"body": "x"})
    assert response.json()["user"]["login"] == "mona" and response.json()["author_association"] == "MEMBER"


def test_concurrent_requests_get_distinct_comments(gh: GitHubAPI) -> None:
    statuses: list[int] = []

    def post(i: int) -> None:
        statuses.append(call(gh, "POST", "/repos/acme/shop/issues/7/comments", json={"body": f"c{i}"}).status_code)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [201] * 16
    ids = [c["id"] for c in gh.comments("acme/shop", 7)]
    assert len(set(ids)) == 16 and ids == sorted(ids)


# ---- the validator fails what GitHub rejects ------------------------------------------------

BAD_REQUESTS = [
    pytest.param(
        "POST",
        "/repos/acme/shop/dispatches",
        {"json": {"event_type": "e" * 101}},
        {},
        422,
        ("body: event_type", "is too long"),
        id="event_type-101-chars",
    ),
    pytest.param(
        "POST",
        "/repos/acme/shop/dispatches",
        {"json": {"event_type": "e", "client_payload": {f"k{i}": i for i in range(11)}}},
        {},
        422,
        ("client_payload", "too many properties"),
        id="client_payload-11-keys",
    ),
    pytest.param(
        "POST",
        "/repos/acme/shop/dispatches",
        {"json": {"client_payload": {}}},
        {},
        422,
        ("'event_type' is a required property",),
        id="dispatch-without-event_type",
    ),
    pytest.param(
        "POST",
        "/repos/acme/shop/issues/7/comments",
        {},
        {},
        422,
        ("requires a JSON body",),
        id="create-comment-without-body",
    ),
    pytest.param(
        "POST",
        "/repos/acme/shop/issues/7/comments",
        {"json": {"text": "hi"}},
        {},
        422,
        ("'body' is a required property",),
        id="create-comment-wrong-field",
    ),
    pytest.param(
        "PATCH",
        "/repos/acme/shop/issues/comments/1",
        {"json": {"body": 5}},
        {},
        422,
        ("body: body: 5 is not of type 'string'",),
        id="update-comment-body-not-a-string",
    ),
    pytest.param(
        "POST",
        "/repos/acme/shop/issues/7/comments",
        {"data": "{not json"},
        {"Content-Type": "application/json"},
        400,
        ("not JSON",),
        id="body-not-json",
    ),
    pytest.param(
        "POST",
        "/repos/acme/shop/issues/7/comments",
        {"data": b'{"body": "x"}'},
        {"Content-Type": "text/plain"},
        201,
        ("Content-Type 'text/plain'",),
        id="body-not-declared-json",
    ),
    pytest.param(
        "GET",
        "/repos/acme/shop/issues/7/comments",
        {"params": {"per_page": 101}},
        {},
        200,
        ("per_page=101",),
        id="per_page-101",
    ),
    pytest.param(
        "GET",
        "/repos/acme/shop/issues/7/comments",
        {"params": {"per_page": "lots"}},
        {},
        200,
        ("per_page='lots'", "is not of type 'integer'"),
        id="per_page-not-an-integer",
    ),
    pytest.param(
        "GET",
        "/repos/acme/shop/issues/7/comments",
        {"params": {"since": "yesterday"}},
        {},
        200,
        ("since='yesterday'", "date-time"),
        id="since-not-a-date-time",
    ),
    pytest.param(
        "GET",
        "/repos/acme/shop/issues/7/comments",
        {"params": {"sort": "created"}},
        {},
        200,
        ("'sort' is not a parameter of issues/list-comments",),
        id="unknown-query-parameter",
    ),
    pytest.param(
        "GET",
        "/repos/acme/shop/issues/seven/comments",
        {},
        {},
        404,
        ("path parameter issue_number='seven'",),
        id="issue_number-not-an-integer",
    ),
    pytest.param("GET", "/repos/acme/shop/pulls/7/comment", {}, {}, 404, ("no such path",), id="unknown-path"),
    pytest.param(
        "GET",
        "/repos/acme/shop/dispatches",
        {},
        {},
        404,
        ("no GET on /repos/{owner}/{repo}/dispatches",),
        id="unknown-method",
    ),
    pytest.param(
        "POST",
        "/repos/acme/shop/issues/7/comments",
        {"json": {"body": "x"}},
        {"Authorization": None},
        401,
        ("Authorization",),
        id="missing-authorization",
    ),
    pytest.param(
        "POST",
        "/repos/acme/shop/issues/7/comments",
        {"json": {"body": "x"}},
        {"Authorization": f"Basic {WRITE}"},
        401,
        ("Authorization",),
        id="authorization-not-bearer",
    ),
    pytest.param(
        "POST",
        "/repos/acme/shop/issues/7/comments",
        {"json": {"body": "x"}},
        {"User-Agent": None},
        403,
        ("User-Agent",),
        id="missing-user-agent",
    ),
    pytest.param(
        "GET",
        "/repos/acme/shop/issues/7/comments",
        {},
        {"Accept": "application/json"},
        200,
        ("Accept 'application/json'",),
        id="accept-not-vnd-github",
    ),
    pytest.param(
        "GET",
        "/repos/acme/shop/issues/7/comments",
        {},
        {"X-GitHub-Api-Version": "2021-01-01"},
        400,
        ("X-GitHub-Api-Version '2021-01-01'",),
        id="unsupported-api-version",
    ),
    pytest.param(
        "GET",
        "/repos/acme/shop/issues/7/comments",
        {"json": {"x": 1}},
        {},
        200,
        ("takes no request body",),
        id="body-on-a-get",
    ),
    pytest.param(
        "GET", "/repos/acme/shop", {}, {}, 501, ("does not implement",), id="valid-on-github-but-not-in-the-fake"
    ),
]


@pytest.mark.parametrize(("method", "path", "kwargs", "headers", "status", "fragments"), BAD_REQUESTS)
def test_bad_requests_are_violations(
    gh: GitHubAPI,
    method: str,
    path: str,
    kwargs: dict[str, Any],
    headers: dict[str, str | None],
    status: int,
    fragments: tuple[str, ...],
) -> None:
    gh.add_comment("acme/shop", 7, "someone else's comment")
    response = call(gh, method, path, headers=headers, **kwargs)
    assert response.status_code == status, response.text
    if status >= 400:
        assert set(response.json()) >= {"message", "documentation_url"}
    one_violation(gh, *fragments)
    assert [c.status for c in gh.log] == [status]


def test_good_requests_leave_no_violation(gh: GitHubAPI) -> None:
    gh.add_comment("acme/shop", 7, "x")
    assert (
        call(
            gh,
            "GET",
            "/repos/acme/shop/issues/7/comments",
            params={"per_page": 100, "page": 1, "since": "2020-01-01T00:00:00Z"},
        ).status_code
        == 200
    )
    assert (
        call(
            gh,
            "POST",
            "/repos/acme/shop/dispatches",
            json={"event_type": "e" * 100, "client_payload": {f"k{i}": i for i in range(10)}},
        ).status_code
        == 204
    )
    # The version header is optional: GitHub then assumes 2022-11-28.
    assert (
        call(
            gh, "POST", "/repos/acme/shop/issues/7/comments", json={"body": ""}, headers={"X-GitHub-Api-Version": None}
        ).status_code
        == 201
    )
    assert gh.violations == []


def test_client_payload_of_64kb_is_refused(gh: GitHubAPI) -> None:
    response = call(
        gh, "POST", "/repos/acme/shop/dispatches", json={"event_type": "e", "client_payload": {"blob": "x" * 65536}}
    )
    assert response.status_code == 422 and gh.dispatches == []
    one_violation(gh, "64KB")


def test_comment_body_over_githubs_limit_is_422(gh: GitHubAPI) -> None:
    """GitHub's own rule, not the description's: a 422 the client must handle, not a violation."""
    response = call(gh, "POST", "/repos/acme/shop/issues/7/comments", json={"body": "x" * 65537})
    assert response.status_code == 422
    assert response.json()["errors"][0]["message"] == "Body is too long (maximum is 65536 characters)"
    assert call(gh, "POST", "/repos/acme/shop/issues/7/comments", json={"body": "x" * 65536}).status_code == 201


# ---- pagination -----------------------------------------------------------------------------


def test_link_headers_page_like_github(gh: GitHubAPI) -> None:
    gh.seed_comments("acme/shop", 7, 249)
    marker = gh.add_comment("acme/shop", 7, "<!-- meshkit:check:dbt_up -->\nold", user=BOT, author_association="NONE")
    repositories = f"{gh.base_url}/repositories/{gh.repository('acme/shop').id}/issues/7/comments"

    first = call(gh, "GET", "/repos/acme/shop/issues/7/comments", params={"per_page": 100})
    assert len(first.json()) == 100
    assert first.headers["Link"] == (
        f'<{repositories}?per_page=100&page=2>; rel="next", <{repositories}?per_page=100&page=3>; rel="last"'
    )
    middle = call(gh, "GET", "/repos/acme/shop/issues/7/comments", params={"per_page": 100, "page": 2})
    assert middle.headers["Link"] == (
        f'<{repositories}?per_page=100&page=1>; rel="prev", '
        f'<{repositories}?per_page=100&page=3>; rel="next", '
        f'<{repositories}?per_page=100&page=3>; rel="last", '
        f'<{repositories}?per_page=100&page=1>; rel="first"'
    )
    # Following rel="next" (GitHub's /repositories/{id} form) reaches the marker on page 3.
    last = call(gh, "GET", middle.links["next"]["url"])
    assert last.status_code == 200 and len(last.json()) == 50
    assert last.json()[-1] == marker
    assert set(last.links) == {"prev", "first"}
    beyond = call(gh, "GET", "/repos/acme/shop/issues/7/comments", params={"per_page": 100, "page": 4})
    assert beyond.json() == [] and set(beyond.links) == {"prev", "first"}

    default = call(gh, "GET", "/repos/acme/shop/issues/7/comments")
    assert len(default.json()) == 30 and default.links["last"]["url"].endswith("?page=9")
    ids = [c["id"] for c in default.json()]
    assert ids == sorted(ids)


def test_one_page_has_no_link_header(gh: GitHubAPI) -> None:
    gh.seed_comments("acme/shop", 7, 3)
    response = call(gh, "GET", "/repos/acme/shop/issues/7/comments")
    assert len(response.json()) == 3 and "Link" not in response.headers
    assert call(gh, "GET", "/repos/acme/shop/issues/8/comments").json() == []


def test_since_filters_on_updated_at(gh: GitHubAPI) -> None:
    gh.seed_comments("acme/shop", 7, 5)  # an hour old
    call(gh, "POST", "/repos/acme/shop/issues/7/comments", json={"body": "fresh"})
    recent = call(gh, "GET", "/repos/acme/shop/issues/7/comments", params={"since": "2100-01-01T00:00:00Z"})
    assert recent.json() == []
    everything = call(gh, "GET", "/repos/acme/shop/issues/7/comments", params={"since": "2000-01-01T00:00:00Z"})
    assert len(everything.json()) == 6


# ---- 401, 403 and 404 as GitHub shapes them -------------------------------------------------


def test_unknown_token_is_bad_credentials(gh: GitHubAPI) -> None:
    response = call(gh, "POST", "/repos/acme/shop/issues/7/comments", token="ghs_revoked", json={"body": "x"})
    assert response.status_code == 401
    assert response.json() == {
        "message": "Bad credentials",
        "documentation_url": "https://docs.github.com/rest",
        "status": "401",
    }
    assert gh.comments("acme/shop", 7) == [] and gh.violations == []
    assert gh.log[0].token == "ghs_revoked"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/repos/acme/shop/issues/7/comments", {"body": "x"}),
        ("PATCH", "/repos/acme/shop/issues/comments/{id}", {"body": "x"}),
        ("DELETE", "/repos/acme/shop/issues/comments/{id}", None),
        ("POST", "/repos/acme/shop/dispatches", {"event_type": "e"}),
    ],
)
def test_read_only_token_cannot_write(gh: GitHubAPI, method: str, path: str, body: dict[str, str] | None) -> None:
    existing = gh.add_comment("acme/shop", 7, "theirs")
    response = call(gh, method, path.format(id=existing["id"]), token=READ, json=body)
    assert response.status_code == 403
    assert response.json()["message"] == "Resource not accessible by integration"
    assert response.json()["documentation_url"].startswith("https://docs.github.com/rest/")
    assert gh.comments("acme/shop", 7) == [existing] and gh.dispatches == []
    # Reading is fine with the same token.
    assert call(gh, "GET", "/repos/acme/shop/issues/7/comments", token=READ).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/repos/acme/unknown/issues/7/comments",
        "/repos/acme/shop/issues/99/comments",
        "/repos/acme/shop/issues/comments/12345",
        "/repositories/1/issues/7/comments",
    ],
)
def test_unknown_things_are_not_found(gh: GitHubAPI, path: str) -> None:
    response = call(gh, "GET", path)
    assert response.status_code == 404
    body = response.json()
    assert body["message"] == "Not Found" and body["documentation_url"].startswith("https://docs.github.com/rest")
    if path.startswith("/repos/"):
        assert gh.violations == []
    else:  # a repository id GitHub does not know is not a path of the description either
        one_violation(gh, "no such path")


def test_comment_of_another_repository_is_not_found(gh: GitHubAPI) -> None:
    gh.add_repository("acme/other", pull_requests=[1])
    theirs = gh.add_comment("acme/other", 1, "x")
    assert call(gh, "PATCH", f"/repos/acme/shop/issues/comments/{theirs['id']}", json={"body": "y"}).status_code == 404
    assert gh.comments("acme/other", 1)[0]["body"] == "x"


# ---- fault injection ------------------------------------------------------------------------


def test_fail_next_then_serve(gh: GitHubAPI) -> None:
    gh.fail_next("POST", "issues/create-comment", 502)
    first = call(gh, "POST", "/repos/acme/shop/issues/7/comments", json={"body": "x"})
    assert first.status_code == 502 and first.json()["message"] == "Server Error"
    assert gh.comments("acme/shop", 7) == []
    assert call(gh, "POST", "/repos/acme/shop/issues/7/comments", json={"body": "x"}).status_code == 201
    assert [(c.status, c.injected) for c in gh.log] == [(502, True), (201, False)]


def test_fail_next_by_path_template_several_times(gh: GitHubAPI) -> None:
    gh.fail_next("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments", 503, times=2)
    statuses = [call(gh, "GET", "/repos/acme/shop/issues/7/comments").status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    # Other operations are untouched by the fault.
    gh.fail_next("GET", "issues/list-comments", 500)
    assert call(gh, "POST", "/repos/acme/shop/issues/7/comments", json={"body": "x"}).status_code == 201


def test_rate_limits(gh: GitHubAPI) -> None:
    gh.rate_limit_next("POST", "issues/create-comment", retry_after=1)
    limited = call(gh, "POST", "/repos/acme/shop/issues/7/comments", json={"body": "x"})
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "1" and limited.headers["X-RateLimit-Remaining"] == "0"

    gh.secondary_rate_limit_next("POST", "repos/create-dispatch-event", retry_after=7)
    secondary = call(gh, "POST", "/repos/acme/shop/dispatches", json={"event_type": "e"})
    assert secondary.status_code == 403 and secondary.headers["Retry-After"] == "7"
    assert secondary.json()["message"] == SECONDARY_RATE_LIMIT_MESSAGE
    assert secondary.json()["message"].startswith("You have exceeded a secondary rate limit")
    assert gh.dispatches == []


def test_injected_validation_failure_and_html_error_page(gh: GitHubAPI) -> None:
    gh.fail_next(
        "PATCH",
        "issues/update-comment",
        422,
        errors=[{"resource": "IssueComment", "code": "custom", "field": "body", "message": "nope"}],
    )
    gh.fail_next("POST", "repos/create-dispatch-event", 502, body="<html><body>Unicorn!</body></html>")
    response = call(gh, "PATCH", "/repos/acme/shop/issues/comments/1", json={"body": "x"})
    assert response.status_code == 422
    assert response.json()["message"] == "Validation Failed" and response.json()["errors"][0]["code"] == "custom"
    page = call(gh, "POST", "/repos/acme/shop/dispatches", json={"event_type": "e"})
    assert page.status_code == 502 and "Unicorn" in page.text and page.headers["Content-Type"].startswith("text/html")


def test_injected_bodies_are_validated_too(gh: GitHubAPI) -> None:
    """validation-error requires documentation_url: a fault without it is the fake lying."""
    gh.fail_next("POST", "issues/create-comment", 422, body={"message": "Validation Failed"})
    assert call(gh, "POST", "/repos/acme/shop/issues/7/comments", json={"body": "x"}).status_code == 422
    [violation] = gh.take_violations()
    assert violation.kind == "response" and "'documentation_url' is a required property" in violation.reason


def test_fail_next_rejects_targets_github_does_not_have(gh: GitHubAPI) -> None:
    with pytest.raises(ValueError, match="no operation"):
        gh.fail_next("POST", "issues/create-commment", 502)
    with pytest.raises(ValueError, match="no operation"):
        gh.fail_next("PUT", "/repos/{owner}/{repo}/dispatches", 502)


# ---- response validation keeps the fake honest ----------------------------------------------


def test_rendered_comment_satisfies_the_description() -> None:
    good = comment_object()
    assert response_errors("issues/get-comment", 200, good) == []
    assert response_errors("issues/list-comments", 200, [good, comment_object(2)]) == []


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (lambda c: c.pop("node_id"), "'node_id' is a required property"),
        (lambda c: c.pop("created_at"), "'created_at' is a required property"),
        (lambda c: c.__setitem__("id", "2500000001"), "id: '2500000001' is not of type 'integer'"),
        (lambda c: c.__setitem__("updated_at", "yesterday"), "updated_at: 'yesterday' is not a 'date-time'"),
        (lambda c: c.__setitem__("author_association", "BOT"), "author_association: 'BOT' is not one of"),
        (lambda c: c["user"].pop("login"), "user: 'login' is a required property"),
        (lambda c: c["reactions"].pop("+1"), "reactions: '+1' is a required property"),
    ],
)
def test_response_validator_flags_a_malformed_comment(breakage: Any, expected: str) -> None:
    comment = comment_object()
    breakage(comment)
    problems = response_errors("issues/create-comment", 201, comment)
    assert any(expected in p for p in problems), problems


def test_response_validator_checks_status_and_body_presence() -> None:
    assert response_errors("repos/create-dispatch-event", 204, None) == []
    assert response_errors("repos/create-dispatch-event", 204, {"ok": True}) == [
        "status 204 of repos/create-dispatch-event has no body, but one was sent"
    ]
    assert response_errors("repos/create-dispatch-event", 200, None) == [
        "status 200 is not documented for repos/create-dispatch-event"
    ]
    # Undocumented error statuses must still be GitHub's basic-error shape.
    assert response_errors("issues/update-comment", 404, {"message": "Not Found"}) == []
    assert response_errors("issues/update-comment", 404, ["Not Found"]) != []


def test_server_flags_a_malformed_comment_it_serves(gh: GitHubAPI) -> None:
    comment = gh.add_comment("acme/shop", 7, "x")
    broken = {k: v for k, v in comment.items() if k != "html_url"}
    gh.replace_comment(comment["id"], broken)
    response = call(gh, "GET", f"/repos/acme/shop/issues/comments/{comment['id']}")
    assert response.status_code == 200 and response.json() == broken  # served, but never silently
    [violation] = gh.take_violations()
    assert violation.kind == "response" and "'html_url' is a required property" in violation.reason
    assert (violation.method, violation.path) == ("GET", f"/repos/acme/shop/issues/comments/{comment['id']}")


# ---- the spec and the fixture ---------------------------------------------------------------


def test_spec_is_the_pinned_one_and_loaded_once() -> None:
    spec = load_spec()
    assert spec is load_spec()
    assert spec.document["openapi"] == "3.0.3" and spec.document["info"]["version"] == "23.0.2"
    assert spec.match("/repos/o/r/issues/comments") == (
        "/repos/{owner}/{repo}/issues/comments",
        {"owner": "o", "repo": "r"},
    )
    assert spec.match("/repos/o/r/issues/5") == (
        "/repos/{owner}/{repo}/issues/{issue_number}",
        {"owner": "o", "repo": "r", "issue_number": "5"},
    )


def test_missing_spec_says_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(SpecMissing, match=r"make test.*npm ci"):
        load_spec(tmp_path / "api.github.com.json")


def test_fixture_fails_a_test_that_leaves_a_violation(tmp_path: Path) -> None:
    """Run a throwaway suite in a child pytest: its teardown must error with the violation."""
    (tmp_path / "conftest.py").write_text(
        textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(REPO / "tests")!r})
        from support.github_api import github_api  # noqa: F401
    """)
    )
    (tmp_path / "test_leaves_one.py").write_text(
        textwrap.dedent("""
        import requests

        def test_sloppy(github_api):
            github_api.add_token("t")
            requests.get(github_api.base_url + "/nowhere", headers={"Authorization": "Bearer t",
                         "Accept": "application/vnd.github+json", "User-Agent": "x"}, timeout=10)

        def test_tidy(github_api):
            requests.get(github_api.base_url + "/nowhere", headers={"User-Agent": "x"}, timeout=10)
            assert len(github_api.take_violations()) == 2
    """)
    )
    result = run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", str(tmp_path)], cwd=tmp_path
    )
    assert "2 passed, 1 error" in result.stdout, result.stdout + result.stderr
    assert "ERROR at teardown of test_sloppy" in result.stdout
    assert "[request] GET /nowhere: no such path in GitHub's OpenAPI description" in result.stdout


# ---- git data and pull requests: a bot that opens a PR without `git push` -------------------

# Fixed identities and dates, and no user or system config: local git must write exactly the
# objects the test expects, on any developer's machine.
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Ada Lovelace",
    "GIT_AUTHOR_EMAIL": "ada@example.com",
    "GIT_AUTHOR_DATE": "2024-05-06T07:08:09+02:00",
    "GIT_COMMITTER_NAME": "Grace Hopper",
    "GIT_COMMITTER_EMAIL": "grace@example.com",
    "GIT_COMMITTER_DATE": "2024-05-06T09:10:11-05:30",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}
ORDERS = b"select 1 as id\n"
ORDERS_V2 = b"select 1 as id\nunion all\nselect 3 as id\n"


def git(cwd: Path, *args: str, stdin: bytes | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")} | GIT_ENV
    result = subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode().strip()


@pytest.fixture
def local(tmp_path: Path) -> Path:
    """A local repository with one commit on main: what acme/shop starts from."""
    root = tmp_path / "shop"
    (root / "models").mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    (root / "README.md").write_text("# shop\n")
    (root / "models" / "orders.sql").write_bytes(ORDERS)
    (root / "models" / "customers.sql").write_text("select 2 as id\n")
    (root / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (root / "run.sh").chmod(0o755)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Initial commit")
    return root


@pytest.fixture
def shop(gh: GitHubAPI, local: Path) -> str:
    """acme/shop seeded from `local`; main's commit sha."""
    return gh.import_branch("acme/shop", local)


def content_of(gh: GitHubAPI, path: str, ref: str | None = None, token: str = WRITE) -> requests.Response:
    return call(gh, "GET", f"/repos/acme/shop/contents/{path}", token=token, params={"ref": ref} if ref else None)


def commit_on(gh: GitHubAPI, parent: str, entries: list[dict[str, Any]], message: str = "Bump") -> str:
    """A commit on top of `parent` changing `entries`, through blobs, trees and commits like a bot."""
    tree = call(gh, "GET", f"/repos/acme/shop/git/commits/{parent}").json()["tree"]["sha"]
    created = call(gh, "POST", "/repos/acme/shop/git/trees", json={"base_tree": tree, "tree": entries})
    assert created.status_code == 201, created.text
    commit = call(
        gh,
        "POST",
        "/repos/acme/shop/git/commits",
        json={"message": message, "tree": created.json()["sha"], "parents": [parent]},
    )
    assert commit.status_code == 201, commit.text
    return commit.json()["sha"]


def branch_at(gh: GitHubAPI, branch: str, sha: str) -> None:
    response = call(gh, "POST", "/repos/acme/shop/git/refs", json={"ref": f"refs/heads/{branch}", "sha": sha})
    assert response.status_code == 201, response.text


def test_import_branch_keeps_local_shas(gh: GitHubAPI, local: Path, shop: str) -> None:
    assert shop == git(local, "rev-parse", "HEAD")
    assert gh.branches("acme/shop") == {"main": shop}
    ref = call(gh, "GET", "/repos/acme/shop/git/ref/heads/main")
    assert ref.status_code == 200
    assert ref.json() == {
        "ref": "refs/heads/main",
        "node_id": ref.json()["node_id"],
        "url": f"{gh.base_url}/repos/acme/shop/git/refs/heads/main",
        "object": {"sha": shop, "type": "commit", "url": f"{gh.base_url}/repos/acme/shop/git/commits/{shop}"},
    }
    commit = call(gh, "GET", f"/repos/acme/shop/git/commits/{shop}").json()
    assert commit["tree"]["sha"] == git(local, "rev-parse", "HEAD^{tree}")
    assert commit["message"] == "Initial commit\n" and commit["parents"] == []
    # git keeps the offset; the API shows the same instant in UTC.
    assert commit["author"] == {"name": "Ada Lovelace", "email": "ada@example.com", "date": "2024-05-06T05:08:09Z"}
    assert commit["committer"] == {"name": "Grace Hopper", "email": "grace@example.com", "date": "2024-05-06T14:40:11Z"}
    assert commit["verification"] == {
        "verified": False,
        "reason": "unsigned",
        "signature": None,
        "payload": None,
        "verified_at": None,
    }
    assert commit["html_url"] == f"https://github.com/acme/shop/commit/{shop}"
    assert gh.file_at("acme/shop", "main", "models/orders.sql") == ORDERS
    assert gh.file_at("acme/shop", shop, "run.sh") == b"#!/bin/sh\necho hi\n"
    assert gh.file_at("acme/shop", "main", "models/nope.sql") is None
    assert gh.file_at("acme/shop", "main", "models") is None  # a directory is not a file
    with pytest.raises(KeyError, match="no branch"):
        gh.file_at("acme/shop", "no-such-branch", "README.md")


def test_bot_opens_and_updates_a_pull_request(gh: GitHubAPI, shop: str) -> None:
    main = call(gh, "GET", "/repos/acme/shop/git/ref/heads/main").json()["object"]["sha"]
    assert main == shop
    blob = call(gh, "POST", "/repos/acme/shop/git/blobs", json={"content": ORDERS_V2.decode(), "encoding": "utf-8"})
    assert blob.status_code == 201
    blob_url = f"{gh.base_url}/repos/acme/shop/git/blobs/{blob.json()['sha']}"
    assert blob.headers["Location"] == blob.json()["url"] == blob_url
    first = commit_on(
        gh,
        main,
        [
            {"path": "models/orders.sql", "mode": "100644", "type": "blob", "sha": blob.json()["sha"]},
            {
                "path": "models/staging/stg_orders.sql",
                "mode": "100644",
                "type": "blob",
                "content": "select * from raw\n",
            },
            {"path": "models/customers.sql", "mode": "100644", "type": "blob", "sha": None},
        ],
        "Bump orders",
    )
    commit = call(gh, "GET", f"/repos/acme/shop/git/commits/{first}").json()
    assert commit["parents"][0]["sha"] == main and commit["message"] == "Bump orders"
    assert commit["author"]["name"] == commit["committer"]["name"] == "github-actions[bot]"
    assert commit["author"]["email"] == "41898282+github-actions[bot]@users.noreply.github.com"

    created_ref = call(gh, "POST", "/repos/acme/shop/git/refs", json={"ref": "refs/heads/meshkit/bump", "sha": first})
    assert created_ref.status_code == 201 and created_ref.json()["object"]["sha"] == first
    assert created_ref.headers["Location"] == f"{gh.base_url}/repos/acme/shop/git/refs/heads/meshkit/bump"
    assert gh.branches("acme/shop") == {"main": main, "meshkit/bump": first}

    opened = call(
        gh,
        "POST",
        "/repos/acme/shop/pulls",
        json={"title": "Bump orders", "head": "meshkit/bump", "base": "main", "body": "Automated."},
    )
    assert opened.status_code == 201, opened.text
    pr = opened.json()
    assert pr["number"] == 9  # after PRs 7, 8 and issue 3: one number space
    assert opened.headers["Location"] == pr["url"] == f"{gh.base_url}/repos/acme/shop/pulls/9"
    assert (pr["state"], pr["title"], pr["body"], pr["user"]["login"]) == (
        "open",
        "Bump orders",
        "Automated.",
        BOT.login,
    )
    assert (pr["head"]["ref"], pr["head"]["sha"], pr["head"]["label"]) == ("meshkit/bump", first, "acme:meshkit/bump")
    assert (pr["base"]["ref"], pr["base"]["sha"], pr["base"]["repo"]["full_name"]) == ("main", main, "acme/shop")
    assert pr["base"]["repo"]["default_branch"] == "main" and pr["head"]["user"]["type"] == "Organization"
    assert (pr["commits"], pr["changed_files"], pr["additions"], pr["deletions"]) == (1, 3, 3, 1)
    assert (pr["mergeable"], pr["mergeable_state"], pr["merged"]) == (None, "unknown", False)
    assert pr["html_url"] == "https://github.com/acme/shop/pull/9"

    listed = call(gh, "GET", "/repos/acme/shop/pulls", params={"head": "acme:meshkit/bump", "base": "main"})
    assert [p["number"] for p in listed.json()] == [9] and listed.json()[0]["head"]["sha"] == first
    assert "mergeable" not in listed.json()[0]  # the list renders pull-request-simple
    assert call(gh, "GET", "/repos/acme/shop/pulls", params={"head": "acme:other"}).json() == []
    assert call(gh, "GET", "/repos/acme/shop/pulls", params={"state": "closed"}).json() == []

    # The PR is an issue-comment target like the ones registered by number.
    comment = call(gh, "POST", "/repos/acme/shop/issues/9/comments", json={"body": "<!-- meshkit -->"})
    assert comment.status_code == 201 and comment.json()["html_url"].startswith("https://github.com/acme/shop/pull/9#")

    updated = call(gh, "PATCH", "/repos/acme/shop/pulls/9", json={"title": "Bump orders (v2)", "body": "Again."})
    assert updated.status_code == 200
    assert (updated.json()["title"], updated.json()["body"], updated.json()["comments"]) == (
        "Bump orders (v2)",
        "Again.",
        1,
    )
    assert updated.json()["mergeable"] is True and updated.json()["mergeable_state"] == "clean"

    # A rebased bump: on main again, not on top of `first`.
    rebased = commit_on(
        gh,
        main,
        [{"path": "models/orders.sql", "mode": "100644", "type": "blob", "content": ORDERS_V2.decode()}],
        "Bump orders, again",
    )
    refused = call(gh, "PATCH", "/repos/acme/shop/git/refs/heads/meshkit/bump", json={"sha": rebased})
    assert refused.status_code == 422 and refused.json()["message"] == "Update is not a fast forward"
    assert gh.branches("acme/shop")["meshkit/bump"] == first
    forced = call(gh, "PATCH", "/repos/acme/shop/git/refs/heads/meshkit/bump", json={"sha": rebased, "force": True})
    assert forced.status_code == 200 and forced.json()["object"]["sha"] == rebased
    assert gh.branches("acme/shop")["meshkit/bump"] == rebased
    followed = call(gh, "GET", "/repos/acme/shop/pulls/9").json()
    assert (followed["head"]["sha"], followed["commits"], followed["changed_files"]) == (rebased, 1, 1)
    # A fast forward needs no force.
    on_top = commit_on(gh, rebased, [{"path": "README.md", "mode": "100644", "type": "blob", "content": "# shop!\n"}])
    assert call(gh, "PATCH", "/repos/acme/shop/git/refs/heads/meshkit/bump", json={"sha": on_top}).status_code == 200

    on_branch = content_of(gh, "models/orders.sql", "meshkit/bump").json()
    on_main = content_of(gh, "models/orders.sql", "main").json()
    assert (
        base64.b64decode(on_branch["content"])
        == ORDERS_V2
        == gh.file_at("acme/shop", "meshkit/bump", "models/orders.sql")
    )
    assert base64.b64decode(on_main["content"]) == ORDERS
    assert on_branch["sha"] == blob.json()["sha"] and on_branch["encoding"] == "base64"
    assert on_branch["url"] == f"{gh.base_url}/repos/acme/shop/contents/models/orders.sql?ref=meshkit%2Fbump"
    assert content_of(gh, "models/orders.sql").json() == on_main  # ref defaults to the default branch
    assert content_of(gh, "models/customers.sql", "meshkit/bump").status_code == 200  # the rebase kept it

    deleted = call(gh, "DELETE", "/repos/acme/shop/git/refs/heads/meshkit/bump")
    assert deleted.status_code == 204 and deleted.content == b""
    assert gh.branches("acme/shop") == {"main": main}
    assert call(gh, "GET", "/repos/acme/shop/git/ref/heads/meshkit/bump").status_code == 404
    # GitHub closes a PR whose head branch is deleted; it keeps showing the last head.
    [closed] = gh.pull_requests("acme/shop")
    assert (closed["state"], closed["head"]["sha"]) == ("closed", on_top) and closed["closed_at"] is not None
    assert call(gh, "GET", "/repos/acme/shop/pulls", params={"state": "closed"}).json()[0]["number"] == 9


def test_shas_are_the_ones_local_git_computes(gh: GitHubAPI, tmp_path: Path) -> None:
    gh.add_repository("acme/empty")
    local = tmp_path / "scratch"
    local.mkdir()
    git(local, "init", "-q")
    binary = bytes(range(256)) + b"\xff\xfe not utf-8 \x00"
    blob = call(
        gh,
        "POST",
        "/repos/acme/empty/git/blobs",
        json={"content": base64.b64encode(binary).decode(), "encoding": "base64"},
    ).json()["sha"]
    assert blob == git(local, "hash-object", "-w", "--stdin", stdin=binary)
    text = call(gh, "POST", "/repos/acme/empty/git/blobs", json={"content": "héllo\n"}).json()["sha"]
    assert text == git(local, "hash-object", "-w", "--stdin", stdin="héllo\n".encode())

    # "a" is a directory, so it sorts as "a/": after "a-b" and "a.txt", which a plain name sort breaks.
    tree = call(
        gh,
        "POST",
        "/repos/acme/empty/git/trees",
        json={
            "tree": [
                {"path": "b.txt", "mode": "100644", "type": "blob", "sha": text},
                {"path": "a/x.bin", "mode": "100644", "type": "blob", "sha": blob},
                {"path": "a.txt", "mode": "100755", "type": "blob", "sha": text},
                {"path": "a-b", "mode": "120000", "type": "blob", "sha": text},
            ]
        },
    )
    assert tree.status_code == 201
    subtree = git(local, "mktree", stdin=f"100644 blob {blob}\tx.bin\n".encode())
    expected = git(
        local,
        "mktree",
        stdin=(
            f"100644 blob {text}\tb.txt\n040000 tree {subtree}\ta\n100755 blob {text}\ta.txt\n120000 blob {text}\ta-b\n"
        ).encode(),
    )
    assert tree.json()["sha"] == expected
    assert [(e["path"], e["mode"], e["type"]) for e in tree.json()["tree"]] == [
        ("a-b", "120000", "blob"),
        ("a.txt", "100755", "blob"),
        ("a", "040000", "tree"),
        ("b.txt", "100644", "blob"),
    ]
    assert tree.json()["tree"][3]["size"] == len("héllo\n".encode())

    # Deleting a directory's only file removes the directory, as git would.
    pruned = call(
        gh,
        "POST",
        "/repos/acme/empty/git/trees",
        json={"base_tree": expected, "tree": [{"path": "a/x.bin", "mode": "100644", "type": "blob", "sha": None}]},
    )
    assert pruned.json()["sha"] == git(
        local,
        "mktree",
        stdin=(f"100644 blob {text}\tb.txt\n100755 blob {text}\ta.txt\n120000 blob {text}\ta-b\n").encode(),
    )

    author = {"name": "Ada Lovelace", "email": "ada@example.com", "date": "2024-05-06T07:08:09+02:00"}
    committer = {"name": "Grace Hopper", "email": "grace@example.com", "date": "2024-05-06T09:10:11-05:30"}
    root = call(
        gh,
        "POST",
        "/repos/acme/empty/git/commits",
        json={"message": "Root\n", "tree": expected, "author": author, "committer": committer},
    )
    assert root.status_code == 201
    assert root.json()["sha"] == git(local, "commit-tree", expected, "-m", "Root")
    child = call(
        gh,
        "POST",
        "/repos/acme/empty/git/commits",
        json={
            "message": "Child\n\nWith a body.\n",
            "tree": expected,
            "parents": [root.json()["sha"]],
            "author": author,
            "committer": committer,
        },
    )
    assert child.json()["sha"] == git(
        local, "commit-tree", expected, "-p", root.json()["sha"], "-m", "Child", "-m", "With a body."
    )
    # The committer defaults to the author, date included.
    same = call(gh, "POST", "/repos/acme/empty/git/commits", json={"message": "M", "tree": expected, "author": author})
    assert (
        same.json()["committer"]
        == same.json()["author"]
        == {"name": "Ada Lovelace", "email": "ada@example.com", "date": "2024-05-06T05:08:09Z"}
    )


def test_git_data_refusals(gh: GitHubAPI, shop: str) -> None:
    unknown = "0123456789abcdef0123456789abcdef01234567"
    tree = call(gh, "GET", f"/repos/acme/shop/git/commits/{shop}").json()["tree"]["sha"]
    cases = [
        ("POST", "/repos/acme/shop/git/refs", {"ref": "refs/heads/main", "sha": shop}, "Reference already exists"),
        ("POST", "/repos/acme/shop/git/refs", {"ref": "refs/heads/x", "sha": unknown}, "Object does not exist"),
        (
            "POST",
            "/repos/acme/shop/git/refs",
            {"ref": "heads/x", "sha": shop},
            "Reference name must contain at least three slash-separated components.",
        ),
        ("POST", "/repos/acme/shop/git/refs", {"ref": "refs/heads/main/x", "sha": shop}, "Reference update failed"),
        (
            "POST",
            "/repos/acme/shop/git/refs",
            {"ref": "refs/heads/a..b", "sha": shop},
            "refs/heads/a..b is not a valid ref name.",
        ),
        ("PATCH", "/repos/acme/shop/git/refs/heads/nope", {"sha": shop}, "Reference does not exist"),
        ("PATCH", "/repos/acme/shop/git/refs/heads/main", {"sha": unknown}, "Object does not exist"),
        ("DELETE", "/repos/acme/shop/git/refs/heads/nope", None, "Reference does not exist"),
        ("DELETE", "/repos/acme/shop/git/refs/heads/main", None, "Cannot delete the default branch"),
        ("POST", "/repos/acme/shop/git/trees", {"base_tree": shop, "tree": []}, "base_tree is not a valid tree oid"),
        (
            "POST",
            "/repos/acme/shop/git/trees",
            {"base_tree": tree, "tree": [{"path": "models/nope.sql", "mode": "100644", "type": "blob", "sha": None}]},
            "GitRPC::BadObjectState",
        ),
        (
            "POST",
            "/repos/acme/shop/git/trees",
            {"tree": [{"path": "x", "mode": "100644", "type": "blob", "sha": unknown}]},
            f"tree.sha {unknown} is not a valid blob",
        ),
        (
            "POST",
            "/repos/acme/shop/git/trees",
            {"tree": [{"path": "x", "mode": "100644", "type": "blob", "sha": unknown, "content": "x"}]},
            "Must supply either tree.sha or tree.content. Request will be rejected if both are present.",
        ),
        (
            "POST",
            "/repos/acme/shop/git/trees",
            {"tree": [{"path": "a//b", "mode": "100644", "type": "blob", "content": "x"}]},
            "tree.path contains a malformed path component",
        ),
        ("POST", "/repos/acme/shop/git/commits", {"message": "m", "tree": unknown}, "Tree SHA does not exist"),
        (
            "POST",
            "/repos/acme/shop/git/commits",
            {"message": "m", "tree": tree, "parents": [unknown]},
            "Parent SHA does not exist or is not a commit object",
        ),
        (
            "POST",
            "/repos/acme/shop/git/commits",
            {"message": "m", "tree": tree, "parents": [tree]},
            "Parent SHA does not exist or is not a commit object",
        ),
    ]
    objects = len(gh.repository("acme/shop").objects)
    for method, path, body, message in cases:
        response = call(gh, method, path, json=body)
        assert (response.status_code, response.json()["message"]) == (422, message), (method, path, body)
    assert gh.branches("acme/shop") == {"main": shop}
    assert len(gh.repository("acme/shop").objects) == objects  # nothing half-written


def test_not_found_reads(gh: GitHubAPI, shop: str) -> None:
    assert call(gh, "GET", "/repos/acme/shop/git/ref/heads/nope").status_code == 404
    assert call(gh, "GET", "/repos/acme/shop/git/ref/refs/heads/main").status_code == 404  # no `refs/` in the path
    tree = call(gh, "GET", f"/repos/acme/shop/git/commits/{shop}").json()["tree"]["sha"]
    assert call(gh, "GET", f"/repos/acme/shop/git/commits/{tree}").status_code == 404  # a tree is not a commit
    missing_path = content_of(gh, "models/nope.sql")
    assert (missing_path.status_code, missing_path.json()["message"]) == (404, "Not Found")
    missing_ref = content_of(gh, "README.md", "nope")
    assert (missing_ref.status_code, missing_ref.json()["message"]) == (404, "No commit found for the ref nope")
    assert content_of(gh, "README.md", shop).json()["content"] == base64.b64encode(b"# shop\n").decode() + "\n"
    # A directory is an array, which the description's discriminated oneOf cannot validate: refused loudly.
    assert content_of(gh, "models").status_code == 501
    one_violation(gh, "files only, not directories")
    assert call(gh, "GET", "/repos/acme/shop/pulls/12").status_code == 404


def test_pull_request_refusals(gh: GitHubAPI, shop: str) -> None:
    change = commit_on(gh, shop, [{"path": "x.sql", "mode": "100644", "type": "blob", "content": "x"}])
    branch_at(gh, "feature", change)
    branch_at(gh, "same", shop)
    assert (
        call(gh, "POST", "/repos/acme/shop/pulls", json={"title": "t", "head": "feature", "base": "main"}).status_code
        == 201
    )
    cases = [
        (
            {"head": "feature"},
            {"resource": "PullRequest", "code": "custom", "message": "A pull request already exists for acme:feature."},
        ),
        (
            {"head": "acme:feature"},
            {"resource": "PullRequest", "code": "custom", "message": "A pull request already exists for acme:feature."},
        ),
        (
            {"head": "same"},
            {"resource": "PullRequest", "code": "custom", "message": "No commits between main and same"},
        ),
        ({"head": "nope"}, {"resource": "PullRequest", "field": "head", "code": "invalid"}),
        ({"head": "someone-else:feature"}, {"resource": "PullRequest", "field": "head", "code": "invalid"}),
        ({"head": "feature", "base": "nope"}, {"resource": "PullRequest", "field": "base", "code": "invalid"}),
    ]
    for body, error in cases:
        response = call(gh, "POST", "/repos/acme/shop/pulls", json={"title": "t", "base": "main", **body})
        assert response.status_code == 422, body
        assert response.json()["message"] == "Validation Failed" and response.json()["errors"] == [error], body
    assert [p["number"] for p in gh.pull_requests("acme/shop")] == [9]

    # Closing, then reopening, is fine while the branches exist; a second open PR for them is not.
    assert call(gh, "PATCH", "/repos/acme/shop/pulls/9", json={"state": "closed"}).json()["state"] == "closed"
    assert (
        call(gh, "POST", "/repos/acme/shop/pulls", json={"title": "t2", "head": "feature", "base": "main"}).json()[
            "number"
        ]
        == 10
    )
    reopen = call(gh, "PATCH", "/repos/acme/shop/pulls/9", json={"state": "open"})
    assert reopen.status_code == 422 and reopen.json()["errors"][0]["message"] == (
        "A pull request already exists for acme:feature."
    )
    bad_base = call(gh, "PATCH", "/repos/acme/shop/pulls/10", json={"base": "nope"})
    assert bad_base.status_code == 422 and bad_base.json()["errors"][0]["field"] == "base"
    assert [(p["number"], p["state"], p["base"]["ref"]) for p in gh.pull_requests("acme/shop")] == [
        (9, "closed", "main"),
        (10, "open", "main"),
    ]


def test_new_pull_requests_take_the_next_issue_or_pr_number(gh: GitHubAPI, local: Path) -> None:
    gh.add_repository("acme/tracker", pull_requests=[7], issues=[41], default_branch="trunk")
    trunk = gh.import_branch("acme/tracker", local, "main")
    assert gh.branches("acme/tracker") == {"main": trunk}  # imported under its local name; trunk stays default
    tree = call(gh, "GET", f"/repos/acme/tracker/git/commits/{trunk}").json()["tree"]["sha"]
    numbers = []
    for name in ("one", "two"):
        commit = call(
            gh, "POST", "/repos/acme/tracker/git/commits", json={"message": name, "tree": tree, "parents": [trunk]}
        ).json()["sha"]
        call(gh, "POST", "/repos/acme/tracker/git/refs", json={"ref": f"refs/heads/{name}", "sha": commit})
        numbers.append(
            call(gh, "POST", "/repos/acme/tracker/pulls", json={"title": name, "head": name, "base": "main"}).json()[
                "number"
            ]
        )
    assert numbers == [42, 43]
    assert call(gh, "POST", "/repos/acme/tracker/issues/43/comments", json={"body": "x"}).status_code == 201
    # The default branch names the ref get-content reads when none is given.
    missing = call(gh, "GET", "/repos/acme/tracker/contents/README.md")
    assert (missing.status_code, missing.json()["message"]) == (404, "No commit found for the ref trunk")


def test_pull_list_filters_sorting_and_pages(gh: GitHubAPI, shop: str) -> None:
    for name in ("one", "two", "three"):
        branch_at(
            gh, name, commit_on(gh, shop, [{"path": f"{name}.sql", "mode": "100644", "type": "blob", "content": name}])
        )
        assert (
            call(gh, "POST", "/repos/acme/shop/pulls", json={"title": name, "head": name, "base": "main"}).status_code
            == 201
        )
    call(gh, "PATCH", "/repos/acme/shop/pulls/10", json={"state": "closed"})
    first = call(gh, "GET", "/repos/acme/shop/pulls", params={"per_page": 1})
    assert [p["number"] for p in first.json()] == [11]  # newest first
    pulls = f"{gh.base_url}/repositories/{gh.repository('acme/shop').id}/pulls"
    assert first.headers["Link"] == (
        f'<{pulls}?per_page=1&page=2>; rel="next", <{pulls}?per_page=1&page=2>; rel="last"'
    )
    assert [p["number"] for p in call(gh, "GET", first.links["next"]["url"]).json()] == [9]
    numbers = [
        p["number"]
        for p in call(gh, "GET", "/repos/acme/shop/pulls", params={"state": "all", "direction": "asc"}).json()
    ]
    assert numbers == [9, 10, 11]
    assert [p["number"] for p in call(gh, "GET", "/repos/acme/shop/pulls", params={"state": "closed"}).json()] == [10]
    # Without `owner:` GitHub ignores the head filter rather than matching the branch.
    assert len(call(gh, "GET", "/repos/acme/shop/pulls", params={"head": "one"}).json()) == 2
    assert call(gh, "GET", "/repos/acme/shop/pulls", params={"base": "one"}).json() == []


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/repos/acme/shop/git/blobs", {"content": "x"}),
        (
            "POST",
            "/repos/acme/shop/git/trees",
            {"tree": [{"path": "x", "mode": "100644", "type": "blob", "content": "x"}]},
        ),
        ("POST", "/repos/acme/shop/git/commits", {"message": "m", "tree": "{tree}"}),
        ("POST", "/repos/acme/shop/git/refs", {"ref": "refs/heads/x", "sha": "{main}"}),
        ("PATCH", "/repos/acme/shop/git/refs/heads/feature", {"sha": "{main}", "force": True}),
        ("DELETE", "/repos/acme/shop/git/refs/heads/feature", None),
        ("POST", "/repos/acme/shop/pulls", {"title": "t", "head": "feature", "base": "main"}),
        ("PATCH", "/repos/acme/shop/pulls/9", {"state": "closed"}),
    ],
)
def test_read_only_token_cannot_write_git_data(
    gh: GitHubAPI, shop: str, method: str, path: str, body: dict[str, Any] | None
) -> None:
    feature = commit_on(gh, shop, [{"path": "x.sql", "mode": "100644", "type": "blob", "content": "x"}])
    branch_at(gh, "feature", feature)
    call(gh, "POST", "/repos/acme/shop/pulls", json={"title": "t", "head": "feature", "base": "main"})
    tree = call(gh, "GET", f"/repos/acme/shop/git/commits/{shop}").json()["tree"]["sha"]
    if body is not None:
        body = {k: v.format(tree=tree, main=shop) if isinstance(v, str) else v for k, v in body.items()}
    objects, before = len(gh.repository("acme/shop").objects), gh.pull_requests("acme/shop")
    response = call(gh, method, path, token=READ, json=body)
    assert response.status_code == 403
    assert response.json()["message"] == "Resource not accessible by integration"
    assert gh.branches("acme/shop") == {"main": shop, "feature": feature}
    assert len(gh.repository("acme/shop").objects) == objects and gh.pull_requests("acme/shop") == before
    # Reading is fine with the same token.
    assert call(gh, "GET", "/repos/acme/shop/git/ref/heads/feature", token=READ).json()["object"]["sha"] == feature
    assert base64.b64decode(content_of(gh, "x.sql", "feature", token=READ).json()["content"]) == b"x"
    assert [p["number"] for p in call(gh, "GET", "/repos/acme/shop/pulls", token=READ).json()] == [9]


def test_number_only_pull_requests_are_not_served_by_pulls(gh: GitHubAPI) -> None:
    """PR 7 exists only as a comment target: the fake says so instead of inventing branches."""
    assert call(gh, "GET", "/repos/acme/shop/pulls/7").status_code == 404
    one_violation(gh, "registered by number only")


def test_multi_segment_parameters_route() -> None:
    spec = load_spec()
    assert spec.match("/repos/o/r/git/ref/heads/feature/x") == (
        "/repos/{owner}/{repo}/git/ref/{ref}",
        {"owner": "o", "repo": "r", "ref": "heads/feature/x"},
    )
    assert spec.match("/repos/o/r/contents/models/staging/a.sql") == (
        "/repos/{owner}/{repo}/contents/{path}",
        {"owner": "o", "repo": "r", "path": "models/staging/a.sql"},
    )
    # A literal segment after a multi-segment parameter still wins over swallowing it.
    assert spec.match("/repos/o/r/branches/a/b/protection") == (
        "/repos/{owner}/{repo}/branches/{branch}/protection",
        {"owner": "o", "repo": "r", "branch": "a/b"},
    )


def test_response_validator_flags_malformed_git_and_pull_objects(gh: GitHubAPI, shop: str) -> None:
    branch_at(gh, "feature", commit_on(gh, shop, [{"path": "x", "mode": "100644", "type": "blob", "content": "x"}]))
    call(gh, "POST", "/repos/acme/shop/pulls", json={"title": "t", "head": "feature", "base": "main"})
    [pr] = gh.pull_requests("acme/shop")
    assert response_errors("pulls/get", 200, pr) == []
    broken = {k: v for k, v in pr.items() if k != "mergeable_state"}
    assert "'mergeable_state' is a required property" in response_errors("pulls/get", 200, broken)[0]
    pr["head"]["repo"].pop("default_branch")
    assert any("default_branch" in p for p in response_errors("pulls/get", 200, pr))
    commit = call(gh, "GET", f"/repos/acme/shop/git/commits/{shop}").json()
    commit["verification"].pop("verified_at")
    assert any("verified_at" in p for p in response_errors("git/get-commit", 200, commit))
    # delete-ref documents its 422 without a body; GitHub sends its error JSON, which must still be well formed.
    assert response_errors("git/delete-ref", 422, {"message": "Reference does not exist"}) == []
    assert response_errors("git/delete-ref", 422, ["Reference does not exist"]) != []
