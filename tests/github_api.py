"""A fake GitHub REST API on loopback that checks every request and response against GitHub's OpenAPI description.

Why: meshkit's CI commands talk to GitHub (dispatches, PR comments). A hand-written fake drifts
from GitHub silently, so this one routes every request through the published description
(`@octokit/openapi`, pinned in tests/js/package-lock.json) and records a *violation* for
anything GitHub would reject: an unknown path or method, a bad path/query parameter, an
unknown query parameter, a body that fails the requestBody schema, a missing User-Agent,
Authorization or `application/vnd.github` Accept header, or an unsupported
X-GitHub-Api-Version. Its own responses go through the same description, so the fake cannot
hand clients an object GitHub never sends. The `github_api` fixture fails the test at teardown
when violations are left over; tests that misbehave on purpose take them with
`take_violations()`.

Children (the meshkit CLI, workflows under `act`) reach it through `GITHUB_API_URL=server.base_url`.
"""

from __future__ import annotations

import base64
import copy
import json
import math
import re
import threading
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator
from urllib.parse import quote, urlencode

import orjson
import pytest

SPEC_PATH = (Path(__file__).resolve().parent / "js" / "node_modules" / "@octokit" / "openapi" / "generated"
             / "api.github.com.json")
API_VERSION = "2022-11-28"
DOCS_URL = "https://docs.github.com/rest"
RATE_LIMIT_DOCS = "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api"
SECONDARY_RATE_LIMIT_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID FAKE:0000."
)
# GitHub refuses longer comment bodies with 422; the description does not say so, real GitHub does.
MAX_COMMENT_BODY = 65536
# The description of client_payload: "The total size of the JSON payload must be less than 64KB."
MAX_CLIENT_PAYLOAD_BYTES = 64 * 1024
MAX_PER_PAGE = 100  # the per_page parameter's description: "(max 100)"; GitHub clamps larger values
DEFAULT_PER_PAGE = 30

_FAULT_MESSAGES = {
    401: "Bad credentials",
    403: "Resource not accessible by integration",
    404: "Not Found",
    422: "Validation Failed",
    429: "API rate limit exceeded for installation ID 1.",
    500: "Server Error",
    502: "Server Error",
    503: "Service Unavailable",
    504: "We couldn't respond to your request in time. Sorry about that. Please try resubmitting your request "
         "and contact us if the problem persists.",
}


class SpecMissing(RuntimeError):
    """The pinned OpenAPI description is not installed; the tests must not silently run without it."""


# --------------------------------------------------------------------------------------------
# The OpenAPI description: routes, operations and cached validators
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """One operation of the description, addressed by a JSON pointer so its `$ref`s resolve in place."""

    operation_id: str
    method: str
    template: str
    pointer: str
    docs_url: str


@dataclass(eq=False)
class Spec:
    """GitHub's OpenAPI description held once per process, with a `referencing` registry over all of it."""

    document: dict[str, Any]
    uri: str
    registry: Any
    routes: list[tuple[re.Pattern[str], str, tuple[str, ...], tuple[int, ...]]]
    operations: dict[tuple[str, str], Operation]
    by_id: dict[str, Operation]
    _validators: dict[tuple[str, str], Any] = field(default_factory=dict)

    def lookup(self, pointer_or_ref: str) -> tuple[str, Any]:
        """The object at a pointer (or `#/...` ref), following `$ref`s; returns its final pointer too."""
        pointer = pointer_or_ref[1:] if pointer_or_ref.startswith("#") else pointer_or_ref
        resolver = self.registry.resolver(base_uri=self.uri)
        contents = resolver.lookup(f"{self.uri}#{pointer}").contents
        while isinstance(contents, dict) and isinstance(contents.get("$ref"), str):
            pointer = contents["$ref"][1:]
            contents = resolver.lookup(f"{self.uri}#{pointer}").contents
        return pointer, contents

    def match(self, path: str) -> tuple[str, dict[str, str]] | None:
        """The most specific path template matching `path` (literal segments win over `{param}`)."""
        best: tuple[tuple[int, ...], str, dict[str, str]] | None = None
        for regex, template, names, rank in self.routes:
            found = regex.fullmatch(path)
            if found and (best is None or rank < best[0]):
                best = (rank, template, dict(zip(names, found.groups())))
        return None if best is None else (best[1], best[2])

    def operation(self, target: str, method: str | None = None) -> Operation:
        """An operation by operationId, or by method and path template; ValueError when there is none."""
        if not target.startswith("/"):
            op = self.by_id.get(target)
            if op is None or (method is not None and op.method != method.upper()):
                raise ValueError(f"no operation {method or ''} {target} in GitHub's OpenAPI description")
            return op
        if method is None:
            raise ValueError("a path template needs a method")
        op = self.operations.get((method.upper(), target))
        if op is None:
            raise ValueError(f"no operation {method.upper()} {target} in GitHub's OpenAPI description")
        return op

    def errors(self, schema_pointer: str, instance: Any, *, direction: str) -> list[str]:
        """Schema errors of `instance`; `direction` is "request" (readOnly forbidden) or "response"."""
        key = (schema_pointer, direction)
        validator = self._validators.get(key)
        if validator is None:
            from openapi_schema_validator import OAS30ReadValidator, OAS30WriteValidator, oas30_format_checker

            cls = OAS30WriteValidator if direction == "request" else OAS30ReadValidator
            validator = cls({"$ref": f"{self.uri}#{schema_pointer}"}, registry=self.registry,
                            format_checker=oas30_format_checker)
            self._validators[key] = validator
        found = []
        for error in sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path))):
            where = "/".join(str(part) for part in error.absolute_path) or "(root)"
            message = error.message if len(error.message) <= 300 else error.message[:297] + "..."
            found.append(f"{where}: {message}")
        return found


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _route(template: str) -> tuple[re.Pattern[str], tuple[str, ...], tuple[int, ...]]:
    """A template's regex (each `{param}` is `[^/]+`), its parameter names, and its specificity rank."""
    names = tuple(re.findall(r"\{([^}]+)\}", template))
    pattern = "".join(
        "([^/]+)" if piece.startswith("{") else re.escape(piece)
        for piece in re.split(r"(\{[^}]+\})", template) if piece
    )
    rank = tuple(1 if "{" in part else 0 for part in template.split("/"))
    return re.compile(pattern), names, rank


@lru_cache(maxsize=None)
def load_spec(path: Path = SPEC_PATH) -> Spec:
    """Parse the 13 MB description once per process and index its routes."""
    from referencing import Registry
    from referencing.jsonschema import DRAFT4

    if not path.is_file():
        raise SpecMissing(
            f"GitHub's OpenAPI description is missing: {path}. It comes from the npm package "
            "@octokit/openapi pinned in tests/js/package-lock.json: run `make test` (or "
            "`cd tests/js && npm ci`) first."
        )
    document = orjson.loads(path.read_bytes())
    uri = path.as_uri()
    # OAS 3.0 schema objects are a draft-4 dialect; the whole document is one resource, so every
    # `#/components/...` ref inside it resolves against it.
    registry = Registry().with_resource(uri, DRAFT4.create_resource(document))
    routes, operations, by_id = [], {}, {}
    for template, item in document["paths"].items():
        regex, names, rank = _route(template)
        routes.append((regex, template, names, rank))
        for method, op in item.items():
            if method not in ("get", "put", "post", "patch", "delete", "head", "options", "trace"):
                continue
            operation = Operation(
                operation_id=op["operationId"], method=method.upper(), template=template,
                pointer=f"/paths/{_escape(template)}/{method}",
                docs_url=op.get("externalDocs", {}).get("url", DOCS_URL),
            )
            operations[(operation.method, template)] = operation
            by_id[operation.operation_id] = operation
    return Spec(document, uri, registry, routes, operations, by_id)


# --------------------------------------------------------------------------------------------
# Records the tests inspect
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Violation:
    """Something GitHub's description (or the fake's own honesty) rules out."""

    method: str
    path: str
    reason: str
    kind: str  # "request", "response", "unimplemented" or "server"

    def __str__(self) -> str:
        return f"[{self.kind}] {self.method} {self.path}: {self.reason}"


@dataclass(frozen=True)
class Call:
    """One request as the server saw it, with the status it answered (injected faults included)."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    status: int
    timestamp: float  # time.time() when the request arrived
    operation_id: str | None = None
    token: str | None = None
    injected: bool = False


@dataclass(frozen=True)
class Dispatch:
    """A repository_dispatch event as GitHub would have fired it."""

    repository: str
    event_type: str
    client_payload: dict[str, Any] | None
    token: str


@dataclass(frozen=True)
class User:
    """A GitHub account; rendered into a simple-user object on the server's own URLs."""

    login: str
    id: int
    type: str = "User"

    def json(self, api_url: str, html_url: str) -> dict[str, Any]:
        node_prefix = "03:Bot" if self.type == "Bot" else "04:User"
        api = f"{api_url}/users/{quote(self.login, safe='')}"
        app = self.login.removesuffix("[bot]")
        return {
            "login": self.login,
            "id": self.id,
            "node_id": base64.b64encode(f"{node_prefix}{self.id}".encode()).decode(),
            "avatar_url": f"https://avatars.githubusercontent.com/u/{self.id}?v=4",
            "gravatar_id": "",
            "url": api,
            "html_url": f"{html_url}/apps/{app}" if self.type == "Bot" else f"{html_url}/{self.login}",
            "followers_url": f"{api}/followers",
            "following_url": f"{api}/following{{/other_user}}",
            "gists_url": f"{api}/gists{{/gist_id}}",
            "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{api}/subscriptions",
            "organizations_url": f"{api}/orgs",
            "repos_url": f"{api}/repos",
            "events_url": f"{api}/events{{/privacy}}",
            "received_events_url": f"{api}/received_events",
            "type": self.type,
            "user_view_type": "public",
            "site_admin": False,
        }


# What a workflow's GITHUB_TOKEN comments as.
BOT = User("github-actions[bot]", 41898282, "Bot")
OCTOCAT = User("octocat", 583231)


@dataclass
class Repository:
    owner: str
    name: str
    id: int
    pull_requests: set[int]
    issues: set[int]

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def has_issue(self, number: int) -> bool:
        return number in self.pull_requests or number in self.issues


@dataclass
class Comment:
    id: int
    repository: Repository
    number: int
    body: str
    user: User
    created_at: datetime
    updated_at: datetime
    author_association: str = "NONE"
    raw: dict[str, Any] | None = None  # served verbatim instead of the rendered object (see replace_comment)


@dataclass
class _Token:
    token: str
    write: bool
    user: User


@dataclass
class _Fault:
    method: str
    operation_id: str
    status: int
    headers: dict[str, str]
    body: Any
    times: int


@dataclass
class _Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    check: bool = True  # validate against the description (off only for raw injected bodies)


class _Refusal(Exception):
    """A handler's early answer (404, 403, 422 …), shaped like GitHub's error bodies."""

    def __init__(self, reply: _Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


@dataclass
class _Context:
    method: str
    path: str
    op: Operation
    params: dict[str, Any]
    query: dict[str, Any]
    body: Any
    token: _Token | None
    raw_query: list[tuple[str, str]]


def _stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _error(status: int, message: str, docs: str = DOCS_URL, **extra: Any) -> _Reply:
    return _Reply(status, {"message": message, "documentation_url": docs, "status": str(status), **extra})


def _coerce(value: str, schema: dict[str, Any]) -> Any:
    """Query and path values arrive as strings; OAS 3.0 types them by their schema."""
    kind = schema.get("type")
    if kind == "integer" and re.fullmatch(r"-?\d+", value):
        return int(value)
    if kind == "number":
        try:
            return float(value)
        except ValueError:
            return value
    if kind == "boolean" and value in ("true", "false"):
        return value == "true"
    if kind == "array":
        return [_coerce(item, schema.get("items", {})) for item in value.split(",")]
    return value


def _int_or(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


class GitHubAPI:
    """GitHub's REST API for dispatches and issue comments, in memory, on 127.0.0.1 (a daemon thread).

    Use as a context manager or call close(). Everything it records is read through copies, so
    tests can assert on snapshots while requests keep arriving.
    """

    def __init__(self, spec: Spec | None = None, *, html_url: str = "https://github.com") -> None:
        from werkzeug.serving import WSGIRequestHandler, make_server

        class _Quiet(WSGIRequestHandler):
            def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002
                """Request lines would drown the test output; the request log holds them."""

        self.spec = spec or load_spec()
        self.html_url = html_url
        self._lock = threading.RLock()
        self._repos: dict[str, Repository] = {}
        self._tokens: dict[str, _Token] = {}
        self._comments: dict[int, Comment] = {}
        self._faults: list[_Fault] = []
        self._log: list[Call] = []
        self._violations: list[Violation] = []
        self._dispatches: list[Dispatch] = []
        self._next_comment_id = 2_500_000_001  # above 2**31, as GitHub's comment ids are now
        self._next_repo_id = 700_000_001
        self._requests = 0
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True, request_handler=_Quiet)
        # A short poll interval: shutdown() waits for it, once per test.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="fake-github-api", daemon=True)
        self._thread.start()

    # ---- lifecycle -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> GitHubAPI:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- setup -----------------------------------------------------------------------------

    def add_repository(self, full_name: str, *, pull_requests: Iterable[int] = (),
                       issues: Iterable[int] = ()) -> Repository:
        """Register `owner/name` with the pull-request and issue numbers that exist in it."""
        owner, _, name = full_name.partition("/")
        if not owner or not name or "/" in name:
            raise ValueError(f"not owner/name: {full_name!r}")
        with self._lock:
            repo = Repository(owner, name, self._next_repo_id, set(pull_requests), set(issues))
            self._next_repo_id += 1
            self._repos[full_name.lower()] = repo
            return repo

    def add_token(self, token: str, *, write: bool = True, user: User = BOT) -> None:
        """A token GitHub accepts; `write=False` is what a fork PR's GITHUB_TOKEN gets."""
        with self._lock:
            self._tokens[token] = _Token(token, write, user)

    def add_comment(self, repository: str, number: int, body: str, *, user: User = OCTOCAT,
                    author_association: str = "CONTRIBUTOR", created_at: datetime | None = None) -> dict[str, Any]:
        """Seed one comment as if someone had posted it; returns it as the API renders it."""
        with self._lock:
            comment = self._new_comment(self.repository(repository), number, body, user,
                                        author_association, created_at)
            return self._render(comment)

    def seed_comments(self, repository: str, number: int, count: int, *, user: User = OCTOCAT,
                      body: Callable[[int], str] = lambda i: f"Comment {i} from someone else.") -> list[dict[str, Any]]:
        """`count` older comments by another user, one second apart, ending an hour ago."""
        start = datetime.now(timezone.utc) - timedelta(hours=1, seconds=count)
        return [self.add_comment(repository, number, body(i), user=user, created_at=start + timedelta(seconds=i))
                for i in range(count)]

    def replace_comment(self, comment_id: int, raw: dict[str, Any]) -> None:
        """Serve `raw` verbatim for this comment: how a test proves the response validator bites."""
        with self._lock:
            self._comments[comment_id].raw = copy.deepcopy(raw)

    def fail_next(self, method: str, target: str, status: int, *, headers: dict[str, str] | None = None,
                  message: str | None = None, body: Any = None, errors: list[dict[str, Any]] | None = None,
                  times: int = 1) -> None:
        """Answer the next `times` matching requests with `status` instead of serving them.

        `target` is an operationId ("issues/create-comment") or a path template
        ("/repos/{owner}/{repo}/issues/{issue_number}/comments"). The body defaults to GitHub's
        error shape with `message`; a dict `body` replaces it, a str `body` is served as HTML
        (GitHub's 502 pages are) and skips response validation.
        """
        op = self.spec.operation(target, method)
        if body is None:
            body = {"message": message or _FAULT_MESSAGES.get(status, "Error"), "documentation_url": op.docs_url,
                    "status": str(status)}
            if errors is not None:
                body["errors"] = errors
        with self._lock:
            self._faults.append(_Fault(op.method, op.operation_id, status, dict(headers or {}), body, times))

    def rate_limit_next(self, method: str, target: str, *, retry_after: int = 1, times: int = 1) -> None:
        """A primary rate limit: 429 with Retry-After and no requests remaining."""
        self.fail_next(method, target, 429, times=times, headers={
            "Retry-After": str(retry_after), "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(int(time.time()) + retry_after)})

    def secondary_rate_limit_next(self, method: str, target: str, *, retry_after: int = 60, times: int = 1) -> None:
        """A secondary rate limit: 403 with GitHub's message and Retry-After."""
        self.fail_next(method, target, 403, times=times, headers={"Retry-After": str(retry_after)},
                       body={"message": SECONDARY_RATE_LIMIT_MESSAGE,
                             "documentation_url": f"{RATE_LIMIT_DOCS}#about-secondary-rate-limits"})

    # ---- inspection ------------------------------------------------------------------------

    @property
    def log(self) -> list[Call]:
        with self._lock:
            return list(self._log)

    def calls(self, method: str | None = None, operation_id: str | None = None) -> list[Call]:
        """The log filtered by method and/or operationId."""
        return [c for c in self.log if (method is None or c.method == method.upper())
                and (operation_id is None or c.operation_id == operation_id)]

    @property
    def dispatches(self) -> list[Dispatch]:
        with self._lock:
            return list(self._dispatches)

    @property
    def violations(self) -> list[Violation]:
        with self._lock:
            return list(self._violations)

    def take_violations(self) -> list[Violation]:
        """Return the recorded violations and forget them (for tests that misbehave on purpose)."""
        with self._lock:
            taken, self._violations = self._violations, []
            return taken

    def comments(self, repository: str, number: int) -> list[dict[str, Any]]:
        """The comments of an issue or PR, oldest first, as the API renders them."""
        with self._lock:
            repo = self.repository(repository)
            return [self._render(c) for c in sorted(self._comments.values(), key=lambda c: c.id)
                    if c.repository is repo and c.number == number]

    def repository(self, full_name: str) -> Repository:
        """A registered repository (its `id` is what GitHub's Link headers use)."""
        try:
            return self._repos[full_name.lower()]
        except KeyError:
            raise KeyError(f"repository {full_name} is not registered: call add_repository first") from None

    # ---- internals: state ------------------------------------------------------------------

    def _new_comment(self, repo: Repository, number: int, body: str, user: User, association: str,
                     created_at: datetime | None = None) -> Comment:
        if not repo.has_issue(number):
            raise KeyError(f"{repo.full_name} has no issue or pull request #{number}")
        moment = (created_at or datetime.now(timezone.utc)).replace(microsecond=0)
        comment = Comment(self._next_comment_id, repo, number, body, user, moment, moment, association)
        self._next_comment_id += 1
        self._comments[comment.id] = comment
        return comment

    def _render(self, c: Comment) -> dict[str, Any]:
        return render_comment(c, self.base_url, self.html_url)

    def _violate(self, method: str, path: str, reason: str, kind: str = "request") -> None:
        with self._lock:
            self._violations.append(Violation(method, path, reason, kind))

    # ---- internals: HTTP -------------------------------------------------------------------

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        from werkzeug.wrappers import Request, Response

        request = Request(environ)
        arrived = time.time()
        state: dict[str, Any] = {"op": None, "token": None, "injected": False, "json": None}
        try:
            reply = self._handle(request, state)
        except Exception:  # a bug in the fake itself: make it loud, never a silent 500
            self._violate(request.method, request.path, traceback.format_exc(limit=5), "server")
            reply = _error(500, "fake GitHub API crashed")
        op: Operation | None = state["op"]
        if op is not None and reply.check:
            for reason in check_response(self.spec, op, reply.status, reply.body, reply.headers):
                self._violate(request.method, request.path, f"response {reply.status}: {reason}", "response")
        with self._lock:
            self._requests += 1
            count = self._requests
            self._log.append(Call(request.method, request.path, request.args.to_dict(), state["json"],
                                  reply.status, arrived, op.operation_id if op else None, state["token"],
                                  state["injected"]))
        headers = {
            "X-GitHub-Api-Version-Selected": API_VERSION,
            "X-GitHub-Media-Type": "github.v3; format=json",
            "X-GitHub-Request-Id": f"FAKE:{count:08X}",
            "X-RateLimit-Limit": "5000",
            "X-RateLimit-Remaining": str(max(0, 5000 - count)),
            "X-RateLimit-Reset": str(int(arrived) + 3600),
            "X-RateLimit-Used": str(count),
            "X-RateLimit-Resource": "core",
        }
        headers.update(reply.headers)
        if reply.body is None:
            response = Response(b"", status=reply.status, headers=headers)
        elif isinstance(reply.body, str):
            response = Response(reply.body, status=reply.status, headers=headers,
                                content_type="text/html; charset=utf-8")
        else:
            response = Response(json.dumps(reply.body), status=reply.status, headers=headers,
                                content_type="application/json; charset=utf-8")
        return response(environ, start_response)

    def _canonical_path(self, path: str) -> str:
        """GitHub also serves /repositories/{id}/… (its Link headers point there) as /repos/{owner}/{repo}/…."""
        found = re.fullmatch(r"/repositories/(\d+)(/.*)", path)
        if found:
            with self._lock:
                for repo in self._repos.values():
                    if repo.id == int(found.group(1)):
                        return f"/repos/{repo.full_name}{found.group(2)}"
        return path

    def _handle(self, request: Any, state: dict[str, Any]) -> _Reply:
        method, path = request.method, request.path
        headers = request.headers
        if not headers.get("User-Agent", "").strip():
            self._violate(method, path, "no User-Agent header (GitHub rejects such requests)")
            return _error(403, "Request forbidden by administrative rules. Please make sure your request "
                               "has a User-Agent header.")
        version = headers.get("X-GitHub-Api-Version")
        if version is not None and version != API_VERSION:
            self._violate(method, path, f"X-GitHub-Api-Version {version!r} is not {API_VERSION}")
            return _error(400, f"API version {version} is not supported.")
        if "application/vnd.github" not in headers.get("Accept", "").lower():
            self._violate(method, path,
                          f"Accept {headers.get('Accept')!r} does not ask for application/vnd.github+json")

        matched = self.spec.match(path)
        if matched is None:
            matched = self.spec.match(self._canonical_path(path))
        op = None if matched is None else self.spec.operations.get((method, matched[0]))
        if op is None:
            where = "no such path" if matched is None else f"no {method} on {matched[0]}"
            self._violate(method, path, f"{where} in GitHub's OpenAPI description")
            return _error(404, "Not Found")
        state["op"] = op
        raw_params = matched[1]

        auth = headers.get("Authorization", "")
        scheme, _, secret = auth.partition(" ")
        if scheme.lower() not in ("bearer", "token") or not secret.strip() or " " in secret.strip():
            self._violate(method, path, "no `Authorization: Bearer <token>` (or `token <token>`) header")
            return _error(401, "Requires authentication", op.docs_url)
        state["token"] = secret.strip()
        with self._lock:
            token = self._tokens.get(secret.strip())
        if token is None:
            return _error(401, "Bad credentials")

        operation = self.spec.lookup(op.pointer)[1]
        params: dict[str, Any] = {}
        query: dict[str, Any] = {}
        declared_query: set[str] = set()
        for index, _ in enumerate(operation.get("parameters", [])):
            p_pointer, param = self.spec.lookup(f"{op.pointer}/parameters/{index}")
            schema_pointer = f"{p_pointer}/schema"
            schema = self.spec.lookup(schema_pointer)[1]
            name, where = param["name"], param["in"]
            if where == "path":
                value = _coerce(raw_params[name], schema)
                problems = self.spec.errors(schema_pointer, value, direction="request")
                if problems:
                    self._violate(method, path, f"path parameter {name}={raw_params[name]!r}: {'; '.join(problems)}")
                    return _error(404, "Not Found", op.docs_url)
                params[name] = value
            elif where == "query":
                declared_query.add(name)
                values = request.args.getlist(name)
                if not values:
                    if param.get("required"):
                        self._violate(method, path, f"required query parameter {name} is missing")
                    continue
                if len(values) > 1 and schema.get("type") != "array":
                    self._violate(method, path, f"query parameter {name} given {len(values)} times")
                value = _coerce(values[-1], schema) if schema.get("type") != "array" else [
                    _coerce(v, schema.get("items", {})) for v in values]
                problems = self.spec.errors(schema_pointer, value, direction="request")
                if problems:
                    self._violate(method, path, f"query parameter {name}={values[-1]!r}: {'; '.join(problems)}")
                    continue  # GitHub ignores a value it cannot use
                query[name] = value
        for name in request.args:
            if name not in declared_query:
                self._violate(method, path, f"query parameter {name!r} is not a parameter of {op.operation_id}")
        if "per_page" in query and not 1 <= query["per_page"] <= MAX_PER_PAGE:
            self._violate(method, path,
                          f"per_page={query['per_page']} is outside GitHub's documented 1..{MAX_PER_PAGE}")

        raw = request.get_data(cache=True)
        body: Any = None
        if raw:
            try:
                body = orjson.loads(raw)
            except orjson.JSONDecodeError:
                self._violate(method, path, "the body is not JSON")
                return _error(400, "Problems parsing JSON", op.docs_url)
            state["json"] = body
        if "requestBody" in operation:
            rb_pointer, request_body = self.spec.lookup(f"{op.pointer}/requestBody")
            if "application/json" not in request_body.get("content", {}):
                self._violate(method, path, f"{op.operation_id} takes no JSON body; the fake cannot check it")
            elif not raw:
                if request_body.get("required"):
                    self._violate(method, path, f"{op.operation_id} requires a JSON body and none was sent")
                    return _error(422, "Invalid request.\n\nNo body was sent.", op.docs_url)
            else:
                if request.mimetype != "application/json":
                    self._violate(method, path, f"Content-Type {request.mimetype!r} is not application/json")
                problems = self.spec.errors(f"{rb_pointer}/content/application~1json/schema", body, direction="request")
                if problems:
                    self._violate(method, path, "body: " + "; ".join(problems))
                    return _error(422, "Invalid request.\n\n" + "\n".join(problems), op.docs_url)
        elif raw:
            self._violate(method, path, f"{op.operation_id} takes no request body")

        with self._lock:
            for fault in self._faults:
                if fault.method == method and fault.operation_id == op.operation_id:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    state["injected"] = True
                    return _Reply(fault.status, copy.deepcopy(fault.body), dict(fault.headers),
                                  check=not isinstance(fault.body, str))

        handler = _HANDLERS.get(op.operation_id)
        if handler is None:
            self._violate(method, path, f"{op.operation_id} is valid on GitHub but the fake does not implement it",
                          "unimplemented")
            return _error(501, f"the fake GitHub API does not implement {op.operation_id}", op.docs_url)
        context = _Context(method, path, op, params, query, body, token, list(request.args.items(multi=True)))
        try:
            with self._lock:
                return handler(self, context)
        except _Refusal as refusal:
            return refusal.reply

    # ---- internals: operations (called with the lock held) ---------------------------------

    def _repo(self, ctx: _Context) -> Repository:
        repo = self._repos.get(f"{ctx.params['owner']}/{ctx.params['repo']}".lower())
        if repo is None:
            raise _Refusal(_error(404, "Not Found", ctx.op.docs_url))
        return repo

    def _issue(self, ctx: _Context, repo: Repository) -> int:
        number = ctx.params["issue_number"]
        if not repo.has_issue(number):
            raise _Refusal(_error(404, "Not Found", ctx.op.docs_url))
        return number

    def _comment(self, ctx: _Context, repo: Repository) -> Comment:
        comment = self._comments.get(ctx.params["comment_id"])
        if comment is None or comment.repository is not repo:
            raise _Refusal(_error(404, "Not Found", ctx.op.docs_url))
        return comment

    def _require_write(self, ctx: _Context) -> None:
        assert ctx.token is not None
        if not ctx.token.write:
            raise _Refusal(_error(403, "Resource not accessible by integration", ctx.op.docs_url))

    def _check_comment_body(self, ctx: _Context) -> str:
        body = ctx.body["body"]
        if len(body) > MAX_COMMENT_BODY:
            raise _Refusal(_error(422, "Validation Failed", ctx.op.docs_url, errors=[{
                "resource": "IssueComment", "code": "unprocessable", "field": "data",
                "message": f"Body is too long (maximum is {MAX_COMMENT_BODY} characters)"}]))
        return body

    def _op_dispatch(self, ctx: _Context) -> _Reply:
        repo = self._repo(ctx)
        self._require_write(ctx)
        payload = ctx.body.get("client_payload")
        if payload is not None and len(orjson.dumps(payload)) >= MAX_CLIENT_PAYLOAD_BYTES:
            self._violate(ctx.method, ctx.path, "client_payload is 64KB or more (the description's limit)")
            raise _Refusal(_error(422, "Invalid request.\n\nclient_payload is too large.", ctx.op.docs_url))
        assert ctx.token is not None
        self._dispatches.append(Dispatch(repo.full_name, ctx.body["event_type"], copy.deepcopy(payload),
                                         ctx.token.token))
        return _Reply(204)

    def _op_list_comments(self, ctx: _Context) -> _Reply:
        repo = self._repo(ctx)
        number = self._issue(ctx, repo)
        per_page = min(max(_int_or(ctx.query.get("per_page"), DEFAULT_PER_PAGE), 1), MAX_PER_PAGE)
        page = max(_int_or(ctx.query.get("page"), 1), 1)
        since = ctx.query.get("since")
        threshold = datetime.fromisoformat(since.replace("Z", "+00:00")) if isinstance(since, str) else None
        matching = [c for c in sorted(self._comments.values(), key=lambda c: c.id)
                    if c.repository is repo and c.number == number
                    and (threshold is None or c.updated_at >= threshold)]
        chunk = matching[(page - 1) * per_page: page * per_page]
        headers = {}
        link = self._link(repo, ctx, page, max(1, math.ceil(len(matching) / per_page)))
        if link:
            headers["Link"] = link
        return _Reply(200, [self._render(c) for c in chunk], headers)

    def _link(self, repo: Repository, ctx: _Context, page: int, last: int) -> str:
        """GitHub's Link header: prev, next, last, first, on the /repositories/{id} form of the path."""
        base = f"{self.base_url}/repositories/{repo.id}/issues/{ctx.params['issue_number']}/comments"

        def url(target: int) -> str:
            query = [(k, v) for k, v in ctx.raw_query if k != "page"] + [("page", str(target))]
            return f"{base}?{urlencode(query)}"

        rels = []
        if page > 1:
            rels.append((min(page - 1, last), "prev"))
        if page < last:
            rels += [(page + 1, "next"), (last, "last")]
        if page > 1:
            rels.append((1, "first"))
        return ", ".join(f'<{url(target)}>; rel="{rel}"' for target, rel in rels)

    def _op_create_comment(self, ctx: _Context) -> _Reply:
        repo = self._repo(ctx)
        number = self._issue(ctx, repo)
        self._require_write(ctx)
        assert ctx.token is not None
        comment = self._new_comment(repo, number, self._check_comment_body(ctx), ctx.token.user,
                                    "NONE" if ctx.token.user.type == "Bot" else "MEMBER")
        rendered = self._render(comment)
        return _Reply(201, rendered, {"Location": rendered["url"]})

    def _op_get_comment(self, ctx: _Context) -> _Reply:
        return _Reply(200, self._render(self._comment(ctx, self._repo(ctx))))

    def _op_update_comment(self, ctx: _Context) -> _Reply:
        repo = self._repo(ctx)
        comment = self._comment(ctx, repo)
        self._require_write(ctx)
        comment.body = self._check_comment_body(ctx)
        comment.updated_at = max(datetime.now(timezone.utc).replace(microsecond=0), comment.updated_at)
        return _Reply(200, self._render(comment))

    def _op_delete_comment(self, ctx: _Context) -> _Reply:
        repo = self._repo(ctx)
        comment = self._comment(ctx, repo)
        self._require_write(ctx)
        del self._comments[comment.id]
        return _Reply(204)


_HANDLERS: dict[str, Callable[[GitHubAPI, _Context], _Reply]] = {
    "repos/create-dispatch-event": GitHubAPI._op_dispatch,
    "issues/list-comments": GitHubAPI._op_list_comments,
    "issues/create-comment": GitHubAPI._op_create_comment,
    "issues/get-comment": GitHubAPI._op_get_comment,
    "issues/update-comment": GitHubAPI._op_update_comment,
    "issues/delete-comment": GitHubAPI._op_delete_comment,
}


def render_comment(c: Comment, base_url: str, html_url: str = "https://github.com") -> dict[str, Any]:
    """An issue-comment object exactly as GitHub renders one (or the raw override, verbatim)."""
    if c.raw is not None:
        return copy.deepcopy(c.raw)
    api = f"{base_url}/repos/{c.repository.full_name}"
    kind = "pull" if c.number in c.repository.pull_requests else "issues"
    url = f"{api}/issues/comments/{c.id}"
    return {
        "id": c.id,
        "node_id": "IC_kwDO" + base64.b64encode(f"{c.repository.id}:{c.id}".encode()).decode().rstrip("="),
        "url": url,
        "html_url": f"{html_url}/{c.repository.full_name}/{kind}/{c.number}#issuecomment-{c.id}",
        "body": c.body,
        "user": c.user.json(base_url, html_url),
        "created_at": _stamp(c.created_at),
        "updated_at": _stamp(c.updated_at),
        "issue_url": f"{api}/issues/{c.number}",
        "author_association": c.author_association,
        "performed_via_github_app": None,
        "reactions": {"url": f"{url}/reactions", "total_count": 0, "+1": 0, "-1": 0, "laugh": 0,
                      "confused": 0, "heart": 0, "hooray": 0, "eyes": 0, "rocket": 0},
        "pin": None,
        "minimized": None,
    }


def comment_object(comment_id: int = 1, body: str = "Me too", *, repository: str = "octocat/Hello-World",
                   number: int = 1347, base_url: str = "https://api.github.com") -> dict[str, Any]:
    """A well-formed issue-comment object, for tests that break one field and expect the validator to notice."""
    owner, _, name = repository.partition("/")
    moment = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    comment = Comment(comment_id, Repository(owner, name, 1, {number}, set()), number, body, BOT, moment, moment)
    return render_comment(comment, base_url)


def check_response(spec: Spec, op: Operation, status: int, body: Any,
                   headers: dict[str, str] | None = None) -> list[str]:
    """What GitHub's description says is wrong with a response to `op` (empty when it is fine)."""
    responses = spec.lookup(f"{op.pointer}/responses")[1]
    key = next((k for k in (str(status), f"{str(status)[0]}XX", "default") if k in responses), None)
    if key is None:
        if status < 400:
            return [f"status {status} is not documented for {op.operation_id}"]
        # GitHub answers any operation with 401/403/429/5xx in its basic-error shape.
        return spec.errors("/components/schemas/basic-error", body, direction="response")
    r_pointer, response = spec.lookup(f"{op.pointer}/responses/{key}")
    problems = []
    for name in response.get("headers", {}):
        value = next((v for k, v in (headers or {}).items() if k.lower() == name.lower()), None)
        if value is not None:
            h_pointer = spec.lookup(f"{r_pointer}/headers/{_escape(name)}")[0]
            problems += [f"header {name}: {p}" for p in spec.errors(f"{h_pointer}/schema", value, direction="response")]
    content = response.get("content")
    if not content:
        if body is not None:
            problems.append(f"status {status} of {op.operation_id} has no body, but one was sent")
        return problems
    if "application/json" not in content:
        return problems + [f"the fake only speaks JSON; {op.operation_id} {key} is {sorted(content)}"]
    return problems + spec.errors(f"{r_pointer}/content/application~1json/schema", body, direction="response")


def response_errors(operation_id: str, status: int, body: Any, headers: dict[str, str] | None = None) -> list[str]:
    """check_response by operationId, against the process-wide description."""
    spec = load_spec()
    return check_response(spec, spec.operation(operation_id), status, body, headers)


@pytest.fixture
def github_api() -> Iterator[GitHubAPI]:
    """A fresh fake GitHub API; the test fails at teardown if any violation was left unclaimed."""
    try:
        spec = load_spec()
    except SpecMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    server = GitHubAPI(spec)
    try:
        yield server
    finally:
        server.close()
    left = server.take_violations()
    if left:
        pytest.fail("the fake GitHub API saw requests or sent responses GitHub's OpenAPI description rules out:\n"
                    + "\n".join(f"  {v}" for v in left), pytrace=False)


__all__ = [
    "API_VERSION", "BOT", "OCTOCAT", "SECONDARY_RATE_LIMIT_MESSAGE", "Call", "Dispatch", "GitHubAPI", "SpecMissing",
    "User", "Violation", "check_response", "comment_object", "github_api", "load_spec", "render_comment",
    "response_errors",
]
