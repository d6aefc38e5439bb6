"""`meshkit comment` and `meshkit dispatch` as real child processes against the fake GitHub API.

The fake (tests/support/github_api.py) checks every request against GitHub's OpenAPI description, so
these tests also prove meshkit sends only what GitHub accepts; the `github_api` fixture fails
any test whose requests (or the fake's answers) the description rules out.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import orjson
import pytest

from support.github_api import BOT, Call, GitHubAPI
from support.helpers import clean_env, meshkit, one_line_error
from support.schemas import parse_valid

DATA = Path(__file__).parents[1] / "data"
WRITE, READ = "ghs_write_token", "ghs_read_only_token"
MARKER = "<!-- meshkit:check:dbt_up -->"
LIST = "issues/list-comments"


@pytest.fixture
def gh(github_api: GitHubAPI) -> GitHubAPI:
    """acme/shop with PRs 7 and 8, acme/consumer, and a write and a read-only token."""
    github_api.add_repository("acme/shop", pull_requests=[7, 8])
    github_api.add_repository("acme/consumer")
    github_api.add_token(WRITE)
    github_api.add_token(READ, write=False)
    return github_api


def gh_env(server: GitHubAPI, token: str = WRITE) -> dict[str, str]:
    """The child's environment: this server, this token, and nothing a CI runner's shell would add."""
    env = clean_env(
        GITHUB_API_URL=server.base_url,
        GITHUB_TOKEN=token,
        GITHUB_REPOSITORY="acme/shop",
        GITHUB_ACTIONS="false",
        NO_PROXY="127.0.0.1,localhost",
    )
    for name in ("GH_TOKEN", "GITHUB_EVENT_PATH", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        env.pop(name, None)
    return env


def comment(
    server: GitHubAPI, tmp_path: Path, body: str, *args: str, token: str = WRITE, pr: int = 7
) -> subprocess.CompletedProcess[str]:
    body_file = tmp_path / "comment.md"
    body_file.write_text(body, encoding="utf-8")
    return meshkit("comment", "--body-file", body_file, "--pr", str(pr), *args, cwd=tmp_path, env=gh_env(server, token))


def json_out(result: subprocess.CompletedProcess[str]) -> dict:
    """stdout of a successful --format json run, checked against its committed schema."""
    assert result.returncode == 0, result.stderr
    return parse_valid(result.stdout)


def shape(calls: list[Call]) -> list[tuple[str, str | None, int]]:
    return [(c.method, c.operation_id, c.status) for c in calls]


# ---- meshkit comment ------------------------------------------------------------------------


def test_comment_created_updated_then_unchanged(gh: GitHubAPI, tmp_path: Path) -> None:
    first = json_out(comment(gh, tmp_path, f"{MARKER}\n# Contract check\n\nAll good.\n", "--format", "json"))
    [posted] = gh.comments("acme/shop", 7)
    assert first["action"] == "created" and first["comment_id"] == posted["id"]
    assert first["url"] == posted["html_url"]
    assert posted["user"]["login"] == BOT.login and posted["body"].startswith(MARKER)
    assert shape(gh.log) == [("GET", LIST, 200), ("POST", "issues/create-comment", 201)]

    second = json_out(comment(gh, tmp_path, f"{MARKER}\n# Contract check\n\n1 breaking change.\n", "--format", "json"))
    assert second["action"] == "updated" and second["comment_id"] == posted["id"]
    [updated] = gh.comments("acme/shop", 7)
    assert updated["id"] == posted["id"] and "1 breaking change." in updated["body"]

    before = len(gh.log)
    third = json_out(comment(gh, tmp_path, f"{MARKER}\n# Contract check\n\n1 breaking change.\n", "--format", "json"))
    assert third["action"] == "unchanged" and third["comment_id"] == posted["id"]
    assert shape(gh.log[before:]) == [("GET", LIST, 200)]
    assert gh.calls("PATCH") and len(gh.calls("PATCH")) == 1  # only the second run's
    assert len(gh.comments("acme/shop", 7)) == 1


def test_text_output_names_the_comment(gh: GitHubAPI, tmp_path: Path) -> None:
    result = comment(gh, tmp_path, f"{MARKER}\nhello\n")
    [posted] = gh.comments("acme/shop", 7)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"created comment {posted['id']} on acme/shop#7: {posted['html_url']}\n"


def test_marker_found_on_page_three(gh: GitHubAPI, tmp_path: Path) -> None:
    gh.seed_comments("acme/shop", 7, 229)
    ours = gh.add_comment("acme/shop", 7, f"{MARKER}\nold report\n", user=BOT, author_association="NONE")
    gh.seed_comments("acme/shop", 7, 20, body=lambda i: f"later comment {i}")
    # Someone quoting the marker further down is not ours: only a first line counts.
    gh.add_comment("acme/shop", 7, f"> {MARKER}\nwhy did this fail?")

    out = json_out(comment(gh, tmp_path, f"{MARKER}\nnew report\n", "--format", "json"))
    assert out["action"] == "updated" and out["comment_id"] == ours["id"]
    comments = gh.comments("acme/shop", 7)
    assert len(comments) == 251
    assert [c["body"] for c in comments if c["id"] == ours["id"]] == [f"{MARKER}\nnew report\n"]
    assert shape(gh.log) == [("GET", LIST, 200)] * 3 + [("PATCH", "issues/update-comment", 200)]
    # Pages 2 and 3 came from GitHub's Link header (the /repositories/{id} form), not guessed.
    repo_id = gh.repository("acme/shop").id
    assert [c.path for c in gh.log[:3]] == ["/repos/acme/shop/issues/7/comments"] + [
        f"/repositories/{repo_id}/issues/7/comments"
    ] * 2
    assert [c.query for c in gh.log[:3]] == [
        {"per_page": "100"},
        {"per_page": "100", "page": "2"},
        {"per_page": "100", "page": "3"},
    ]


def test_read_only_token_warns_and_exits_0(gh: GitHubAPI, tmp_path: Path) -> None:
    result = comment(gh, tmp_path, f"{MARKER}\nreport\n", "--format", "json", token=READ)
    assert result.returncode == 0, result.stderr
    assert parse_valid(result.stdout)["action"] == "skipped"
    warning = one_line_error(result)
    assert warning.startswith("meshkit comment: warning: ") and "read-only" in warning
    assert gh.comments("acme/shop", 7) == []
    assert shape(gh.log) == [("GET", LIST, 200), ("POST", "issues/create-comment", 403)]


def test_read_only_token_warns_as_an_actions_annotation(gh: GitHubAPI, tmp_path: Path) -> None:
    body_file = tmp_path / "comment.md"
    body_file.write_text(f"{MARKER}\nreport\n")
    result = meshkit(
        "comment",
        "--body-file",
        body_file,
        "--pr",
        "7",
        cwd=tmp_path,
        env={**gh_env(gh, READ), "GITHUB_ACTIONS": "true"},
    )
    assert result.returncode == 0
    assert one_line_error(result).startswith("::warning::meshkit comment: ")


@pytest.mark.parametrize(
    ("fault", "args", "token", "pr", "expected"),
    [
        (
            False,
            (),
            "ghs_revoked",
            7,
            "GitHub rejected the token (GET /repos/acme/shop/issues/7/comments: 401 Bad credentials)",
        ),
        (False, ("--repository", "acme/missing"), WRITE, 7, "GET /repos/acme/missing/issues/7/comments: 404 Not Found"),
        (False, (), WRITE, 99, "GET /repos/acme/shop/issues/99/comments: 404 Not Found"),
        (
            True,
            (),
            WRITE,
            7,
            "GitHub rejected POST /repos/acme/shop/issues/7/comments: 422 Validation Failed "
            "(Body is too long (maximum is 65536 characters))",
        ),
    ],
    ids=["401-bad-credentials", "404-unknown-repository", "404-unknown-pr", "422-validation-failed"],
)
def test_api_errors_exit_2_with_one_line(
    gh: GitHubAPI, tmp_path: Path, fault: bool, args: tuple[str, ...], token: str, pr: int, expected: str
) -> None:
    if fault:
        gh.fail_next(
            "POST",
            "issues/create-comment",
            422,
            errors=[
                {
                    "resource": "IssueComment",
                    "code": "unprocessable",
                    "field": "data",
                    "message": "Body is too long (maximum is 65536 characters)",
                }
            ],
        )
    result = comment(gh, tmp_path, f"{MARKER}\nreport\n", *args, token=token, pr=pr)
    assert result.returncode == 2
    line = one_line_error(result)
    assert line.startswith("meshkit comment: error: ") and expected in line, line
    assert token not in result.stderr + result.stdout
    assert gh.comments("acme/shop", 7) == [] and result.stdout == ""


def test_502_on_create_looks_again_then_creates_once(gh: GitHubAPI, tmp_path: Path) -> None:
    gh.fail_next("POST", "issues/create-comment", 502)
    out = json_out(comment(gh, tmp_path, f"{MARKER}\nreport\n", "--format", "json"))
    assert out["action"] == "created"
    assert len(gh.comments("acme/shop", 7)) == 1
    # A create is never blindly resent: meshkit lists again first, in case GitHub did create it.
    assert shape(gh.log) == [
        ("GET", LIST, 200),
        ("POST", "issues/create-comment", 502),
        ("GET", LIST, 200),
        ("POST", "issues/create-comment", 201),
    ]
    assert [c.injected for c in gh.log] == [False, True, False, False]


def test_429_retry_after_is_honoured(gh: GitHubAPI, tmp_path: Path) -> None:
    gh.rate_limit_next("POST", "issues/create-comment", retry_after=1)
    out = json_out(comment(gh, tmp_path, f"{MARKER}\nreport\n", "--format", "json"))
    assert out["action"] == "created" and len(gh.comments("acme/shop", 7)) == 1
    posts = gh.calls("POST", "issues/create-comment")
    assert [c.status for c in posts] == [429, 201]
    assert posts[1].timestamp - posts[0].timestamp >= 1.0


def test_a_body_over_githubs_limit_is_cut_to_fit(gh: GitHubAPI, tmp_path: Path) -> None:
    lines = "\n".join(f"| model_{i:05d} | column | breaking |" for i in range(3000))
    out = json_out(comment(gh, tmp_path, f"{MARKER}\n{lines}\n", "--format", "json"))
    [posted] = gh.comments("acme/shop", 7)
    assert out["action"] == "created"
    assert posted["body"].startswith(MARKER + "\n") and len(posted["body"]) <= 65536
    assert [c.status for c in gh.log] == [200, 201]


# ---- meshkit dispatch -----------------------------------------------------------------------


@pytest.fixture
def published(tmp_path: Path) -> tuple[Path, dict]:
    """A folder holding `registry/` with the shop fixture published by the real CLI, and its metadata."""
    project = tmp_path / "shop"
    (project / "target").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: shop\nversion: '1.0'\n")
    (project / "target" / "manifest.json").write_bytes((DATA / "manifest_shop.json").read_bytes())
    result = meshkit(
        "publish", "--project-dir", "shop", "--registry", "registry", "--git-commit", "abc1234", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    metadata = orjson.loads((tmp_path / "registry" / "shop" / "prod" / "latest" / "metadata.json").read_bytes())
    return tmp_path, metadata


def expected_payload(metadata: dict) -> dict:
    return {
        "schema": "meshkit-dispatch/1",
        "project": "shop",
        "env": "prod",
        "sha256": metadata["sha256"],
        "key": "shop/prod/latest/manifest.json",
        "history_key": f"shop/prod/history/{metadata['history_id']}/manifest.json",
        "commit": "abc1234",
        "published_at": metadata["published_at"],
    }


def dispatch(server: GitHubAPI, cwd: Path, *args: str, token: str = WRITE) -> subprocess.CompletedProcess[str]:
    return meshkit("dispatch", "--project", "shop", "--registry", "registry", *args, cwd=cwd, env=gh_env(server, token))


def test_dispatch_names_the_latest_contract(gh: GitHubAPI, published: tuple[Path, dict]) -> None:
    cwd, metadata = published
    (cwd / "meshkit.yml").write_text("version: 1\nprojects:\n  shop:\n    consumers: [self, acme/consumer]\n")
    out = json_out(dispatch(gh, cwd, "--format", "json"))
    assert [(d.repository, d.event_type, d.token) for d in gh.dispatches] == [
        ("acme/shop", "meshkit-upstream-published", WRITE),
        ("acme/consumer", "meshkit-upstream-published", WRITE),
    ]
    for sent in gh.dispatches:
        assert sent.client_payload == expected_payload(metadata)
        assert sent.client_payload["sha256"] == metadata["sha256"]
        assert set(sent.client_payload) == {
            "schema",
            "project",
            "env",
            "sha256",
            "key",
            "history_key",
            "commit",
            "published_at",
        }
    assert out["client_payload"] == expected_payload(metadata)
    assert [r["status"] for r in out["repositories"]] == ["sent", "sent"]
    assert shape(gh.log) == [("POST", "repos/create-dispatch-event", 204)] * 2


def test_dispatch_event_type_and_text_output(gh: GitHubAPI, published: tuple[Path, dict]) -> None:
    cwd, metadata = published
    result = dispatch(gh, cwd, "--repository", "acme/consumer", "--event-type", "contract-changed")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        f"dispatched contract-changed for shop/prod (sha256 {metadata['sha256'][:12]}) to acme/consumer\n"
    )
    [sent] = gh.dispatches
    assert sent.event_type == "contract-changed"


def test_dispatch_dry_run_sends_nothing(gh: GitHubAPI, published: tuple[Path, dict]) -> None:
    cwd, _ = published
    result = dispatch(gh, cwd, "--repository", "acme/consumer", "--dry-run", token="")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("would dispatch meshkit-upstream-published for shop/prod")
    assert gh.log == []


def test_dispatch_to_an_unknown_repository_fails_only_that_one(gh: GitHubAPI, published: tuple[Path, dict]) -> None:
    cwd, _ = published
    result = dispatch(gh, cwd, "--repository", "acme/missing", "--repository", "acme/consumer")
    assert result.returncode == 2
    line = one_line_error(result)
    assert line.startswith("meshkit dispatch: error: not dispatched to acme/missing: ")
    assert "404 Not Found" in line
    assert [d.repository for d in gh.dispatches] == ["acme/consumer"]


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        (READ, "403 Resource not accessible by integration"),
        ("ghs_revoked", "401 Bad credentials"),
    ],
)
def test_dispatch_without_permission_exits_2(
    gh: GitHubAPI, published: tuple[Path, dict], token: str, expected: str
) -> None:
    cwd, _ = published
    result = dispatch(gh, cwd, "--repository", "acme/consumer", token=token)
    assert result.returncode == 2 and expected in one_line_error(result)
    assert gh.dispatches == []


def test_dispatch_retries_a_502_and_waits_out_a_secondary_rate_limit(
    gh: GitHubAPI, published: tuple[Path, dict]
) -> None:
    cwd, _ = published
    gh.fail_next("POST", "repos/create-dispatch-event", 502)
    gh.secondary_rate_limit_next("POST", "repos/create-dispatch-event", retry_after=1)
    result = dispatch(gh, cwd, "--repository", "acme/consumer")
    assert result.returncode == 0, result.stderr
    posts = gh.calls("POST")
    assert [c.status for c in posts] == [502, 403, 204]
    assert posts[2].timestamp - posts[1].timestamp >= 1.0
    assert len(gh.dispatches) == 1
