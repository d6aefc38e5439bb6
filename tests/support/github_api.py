"""A fake GitHub REST API on loopback that checks every request and response against GitHub's OpenAPI description.

Why: meshkit's CI commands talk to GitHub (dispatches, PR comments, and pull requests opened
through the Git Data API the way Dependabot-like bots do). A hand-written fake drifts from
GitHub silently, so this one routes every request through the published description
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
import binascii
import copy
import difflib
import hashlib
import json
import math
import os
import re
import subprocess
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import orjson
import pytest

SPEC_PATH = (
    Path(__file__).resolve().parents[1]
    / "js"
    / "node_modules"
    / "@octokit"
    / "openapi"
    / "generated"
    / "api.github.com.json"
)
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
# repos/get-content inlines files up to 1 MB; larger ones come back with "encoding": "none".
MAX_INLINE_CONTENT = 1024 * 1024
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
    routes: list[tuple[re.Pattern[str], str, tuple[str, ...], tuple[int, ...], frozenset[str]]]
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
        """The most specific path template matching `path` (literal segments win over `{param}`).

        A parameter marked `x-multi-segment` (a git ref such as `heads/main`, a file path) may
        span slashes; a template whose such parameters swallow fewer segments wins, so
        `/branches/a/protection` is the protection of `a`, not the branch `a/protection`.
        """
        best: tuple[tuple[int, tuple[int, ...]], str, dict[str, str]] | None = None
        for regex, template, names, rank, multi in self.routes:
            found = regex.fullmatch(path)
            if not found:
                continue
            values = dict(zip(names, found.groups(), strict=True))
            key = (sum(values[name].count("/") for name in multi), rank)
            if best is None or key < best[0]:
                best = (key, template, values)
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
            validator = cls(
                {"$ref": f"{self.uri}#{schema_pointer}"}, registry=self.registry, format_checker=oas30_format_checker
            )
            self._validators[key] = validator
        found = []
        for error in sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path))):
            where = "/".join(str(part) for part in error.absolute_path) or "(root)"
            message = error.message if len(error.message) <= 300 else error.message[:297] + "..."
            found.append(f"{where}: {message}")
        return found


_METHODS = ("get", "put", "post", "patch", "delete", "head", "options", "trace")


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _route(
    template: str, multi: frozenset[str] = frozenset()
) -> tuple[re.Pattern[str], tuple[str, ...], tuple[int, ...]]:
    """A template's regex, its parameter names, and its specificity rank.

    Each `{param}` is `[^/]+`, except the `x-multi-segment` ones in `multi`, which are `.+`.
    """
    names = tuple(re.findall(r"\{([^}]+)\}", template))
    pattern = "".join(
        ("(.+)" if piece[1:-1] in multi else "([^/]+)") if piece.startswith("{") else re.escape(piece)
        for piece in re.split(r"(\{[^}]+\})", template)
        if piece
    )
    rank = tuple(1 if "{" in part else 0 for part in template.split("/"))
    return re.compile(pattern), names, rank


@cache
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
    components = document["components"]["parameters"]
    for template, item in document["paths"].items():
        multi = frozenset(
            param["name"]
            for method, op in item.items()
            if method in _METHODS
            for param in (
                components[p["$ref"].rsplit("/", 1)[1]] if "$ref" in p else p for p in op.get("parameters", [])
            )
            if param.get("in") == "path" and param.get("x-multi-segment")
        )
        regex, names, rank = _route(template, multi)
        routes.append((regex, template, names, rank, multi))
        for method, op in item.items():
            if method not in _METHODS:
                continue
            operation = Operation(
                operation_id=op["operationId"],
                method=method.upper(),
                template=template,
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
        node_prefix = {"Bot": "03:Bot", "Organization": "012:Organization"}.get(self.type, "04:User")
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
    """A repository: its issue and PR numbers, and a git object store with refs like GitHub's.

    `objects` holds raw git objects (`b"blob 5\\0hello"`), keyed by their sha1, so every sha the
    fake hands out is the one GitHub (and local git) would compute for the same content.
    `pull_requests` may hold numbers with no entry in `pulls`: PRs registered by number only,
    as comment targets; the pulls endpoints know nothing about those.
    """

    owner: str
    name: str
    id: int
    pull_requests: set[int]
    issues: set[int]
    default_branch: str = "main"
    objects: dict[str, bytes] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)  # "refs/heads/main" -> sha
    pulls: dict[int, PullRequest] = field(default_factory=dict)
    created_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc).replace(microsecond=0))
    pushed_at: datetime | None = None

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def has_issue(self, number: int) -> bool:
        return number in self.pull_requests or number in self.issues

    def read(self, sha: str) -> tuple[str, bytes] | None:
        """An object's type and content, or None when the store does not have it."""
        raw = self.objects.get(sha)
        if raw is None:
            return None
        header, _, data = raw.partition(b"\0")
        return header.split(b" ", 1)[0].decode(), data

    def kind(self, sha: str) -> str | None:
        found = self.read(sha)
        return None if found is None else found[0]

    def write(self, kind: str, data: bytes) -> str:
        sha, raw = git_object(kind, data)
        self.objects[sha] = raw
        return sha

    def branch(self, name: str) -> str | None:
        return self.refs.get(f"refs/heads/{name}")


@dataclass
class PullRequest:
    """A pull request between two branches of one repository (the fake has no forks).

    `head_sha` and `base_sha` follow the branches while the PR is open and freeze when it
    closes, as GitHub's do.
    """

    number: int
    id: int
    repository: Repository
    title: str
    body: str | None
    head: str
    base: str
    head_sha: str
    base_sha: str
    user: User
    author_association: str
    created_at: datetime
    updated_at: datetime
    state: str = "open"
    closed_at: datetime | None = None
    draft: bool = False
    maintainer_can_modify: bool = False


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
    accept: str = ""


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
# Git objects, byte for byte as git writes them
# --------------------------------------------------------------------------------------------

SHA_RE = re.compile(r"[0-9a-f]{40}")
TREE_MODE = "40000"  # git writes a tree's mode without the leading zero; the API shows "040000"
BLOB_MODES = ("100644", "100755", "120000")
SUBMODULE_MODE = "160000"


def git_object(kind: str, data: bytes) -> tuple[str, bytes]:
    """The sha1 and raw bytes of a git object: `<kind> <size>\\0<data>`, hashed whole."""
    raw = f"{kind} {len(data)}".encode() + b"\0" + data
    return hashlib.sha1(raw).hexdigest(), raw


def parse_tree(data: bytes) -> list[tuple[str, str, str]]:
    """A tree's (mode, name, sha) entries; names keep undecodable bytes via surrogateescape."""
    entries, pos = [], 0
    while pos < len(data):
        space = data.index(b" ", pos)
        nul = data.index(b"\0", space)
        entries.append(
            (
                data[pos:space].decode(),
                data[space + 1 : nul].decode("utf-8", "surrogateescape"),
                data[nul + 1 : nul + 21].hex(),
            )
        )
        pos = nul + 21
    return entries


def tree_bytes(entries: Iterable[tuple[str, str, str]]) -> bytes:
    """Serialise (mode, name, sha) entries in git's order: a tree sorts as if its name ended in "/"."""

    def key(entry: tuple[str, str, str]) -> bytes:
        return entry[1].encode("utf-8", "surrogateescape") + (b"/" if entry[0] == TREE_MODE else b"")

    return b"".join(
        f"{mode} ".encode() + name.encode("utf-8", "surrogateescape") + b"\0" + bytes.fromhex(sha)
        for mode, name, sha in sorted(entries, key=key)
    )


@dataclass(frozen=True)
class Signature:
    """An author or committer line: `Name <email> <unix seconds> <+hhmm>`."""

    name: str
    email: str
    when: datetime  # timezone-aware; its offset is the one written into the object

    def line(self) -> str:
        offset = self.when.utcoffset() or timedelta(0)
        minutes = int(offset.total_seconds()) // 60
        sign = "-" if minutes < 0 else "+"
        return (
            f"{self.name} <{self.email}> {int(self.when.timestamp())} "
            f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
        )

    @classmethod
    def parse(cls, line: str) -> Signature:
        found = re.fullmatch(r"(.*?) ?<([^>]*)> (-?\d+) ([+-])(\d\d)(\d\d)", line)
        if found is None:
            raise ValueError(f"not a git signature: {line!r}")
        name, email, seconds, sign, hours, minutes = found.groups()
        offset = timedelta(hours=int(hours), minutes=int(minutes)) * (-1 if sign == "-" else 1)
        return cls(name, email, datetime.fromtimestamp(int(seconds), timezone(offset)))

    def json(self) -> dict[str, str]:
        return {"name": self.name, "email": self.email, "date": _stamp(self.when)}


@dataclass(frozen=True)
class CommitObject:
    """A parsed commit (the headers the API renders; others such as `encoding` are kept in the bytes)."""

    tree: str
    parents: tuple[str, ...]
    author: Signature
    committer: Signature
    message: str
    gpgsig: str | None = None
    unsigned: bytes = b""  # the object without its gpgsig header: what a signature signs

    def data(self) -> bytes:
        lines = [
            f"tree {self.tree}",
            *(f"parent {p}" for p in self.parents),
            f"author {self.author.line()}",
            f"committer {self.committer.line()}",
        ]
        if self.gpgsig is not None:
            lines.append("gpgsig " + self.gpgsig.replace("\n", "\n "))
        return ("\n".join(lines) + "\n\n" + self.message).encode()

    @classmethod
    def parse(cls, data: bytes) -> CommitObject:
        head, _, message = data.partition(b"\n\n")
        headers: list[list[str]] = []
        for line in head.decode("utf-8", "surrogateescape").split("\n"):
            if line.startswith(" ") and headers:
                headers[-1][1] += "\n" + line[1:]  # a continuation line (gpgsig, mergetag)
            else:
                name, _, value = line.partition(" ")
                headers.append([name, value])
        values: dict[str, list[str]] = {}
        for name, value in headers:
            values.setdefault(name, []).append(value)
        signature = values.get("gpgsig", [None])[0]
        unsigned = data
        if signature is not None:
            kept = "\n".join(f"{n} " + v.replace("\n", "\n ") for n, v in headers if n != "gpgsig")
            unsigned = kept.encode("utf-8", "surrogateescape") + b"\n\n" + message
        return cls(
            values["tree"][0],
            tuple(values.get("parent", [])),
            Signature.parse(values["author"][0]),
            Signature.parse(values["committer"][0]),
            message.decode("utf-8", "replace"),
            signature,
            unsigned,
        )


def check_ref_format(ref: str) -> bool:
    """git check-ref-format's rules for a full ref name (`refs/heads/x`)."""
    if ref.endswith(("/", ".", ".lock")) or "//" in ref or ".." in ref or "@{" in ref or ref == "@":
        return False
    if re.search(r"[\x00-\x20\x7f~^:?*\[\\]", ref):
        return False
    return all(part and not part.startswith(".") and not part.endswith(".lock") for part in ref.split("/"))


class _TreeEdit:
    """A tree being edited in memory, for create-tree.

    Why not write a tree per entry: GitHub applies all entries to one base and writes the result
    once; subtrees here load on first descent and are written at the end, so nested paths
    (`a/b/c.txt`) build the intermediate trees and a directory left empty disappears, as in git.
    """

    def __init__(self, repo: Repository, sha: str | None) -> None:
        self.repo = repo
        found = repo.read(sha) if sha else None
        self.entries: dict[str, tuple[str, str]] = {
            name: (mode, entry_sha) for mode, name, entry_sha in parse_tree(found[1] if found else b"")
        }
        self.children: dict[str, _TreeEdit] = {}

    def _child(self, name: str, create: bool) -> _TreeEdit | None:
        if name in self.children:
            return self.children[name]
        mode, sha = self.entries.get(name, (None, None))
        if mode != TREE_MODE and not create:
            return None
        child = _TreeEdit(self.repo, sha if mode == TREE_MODE else None)  # a file in the way becomes a directory
        self.entries.pop(name, None)
        self.children[name] = child
        return child

    def put(self, parts: list[str], mode: str, sha: str) -> None:
        node = self
        for part in parts[:-1]:
            node = node._child(part, create=True)  # type: ignore[assignment]
        node.children.pop(parts[-1], None)
        node.entries[parts[-1]] = (mode, sha)

    def delete(self, parts: list[str]) -> bool:
        """Remove a path; False when there is nothing at it."""
        node: _TreeEdit | None = self
        for part in parts[:-1]:
            node = node._child(part, create=False)  # type: ignore[union-attr]
            if node is None:
                return False
        assert node is not None
        if node.children.pop(parts[-1], None) is not None:
            return True
        return node.entries.pop(parts[-1], None) is not None

    def write(self, root: bool = True) -> str:
        for name, child in self.children.items():
            sha = child.write(root=False)
            if sha:
                self.entries[name] = (TREE_MODE, sha)
        self.children = {}
        if not self.entries and not root:
            return ""  # git stores no empty directories
        return self.repo.write("tree", tree_bytes((mode, name, sha) for name, (mode, sha) in self.entries.items()))


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


class GitHubAPI:
    """GitHub's REST API for dispatches, issue comments, git data, contents and pull requests, in memory,
    on 127.0.0.1 (a daemon thread).

    The git data is a real object store (see Repository), so a bot that opens or updates a pull
    request through blobs, trees, commits and refs (no `git push`) gets the shas GitHub would give it.

    Use as a context manager or call close(). Everything it records is read through copies, so
    tests can assert on snapshots while requests keep arriving.
    """

    def __init__(self, spec: Spec | None = None, *, html_url: str = "https://github.com") -> None:
        from werkzeug.serving import WSGIRequestHandler, make_server

        class _Quiet(WSGIRequestHandler):
            def log(self, type: str, message: str, *args: Any) -> None:
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
        self._next_pull_id = 2_100_000_001
        self._owners: dict[str, User] = {}
        self._next_repo_id = 700_000_001
        self._requests = 0
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True, request_handler=_Quiet)
        # A short poll interval: shutdown() waits for it, once per test.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-github-api", daemon=True
        )
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

    def add_repository(
        self,
        full_name: str,
        *,
        pull_requests: Iterable[int] = (),
        issues: Iterable[int] = (),
        default_branch: str = "main",
    ) -> Repository:
        """Register `owner/name` with the pull-request and issue numbers that exist in it.

        The repository starts with no git objects and no branches; `import_branch` gives it
        content. PR numbers given here exist only as comment targets (see Repository).
        """
        owner, _, name = full_name.partition("/")
        if not owner or not name or "/" in name:
            raise ValueError(f"not owner/name: {full_name!r}")
        with self._lock:
            repo = Repository(owner, name, self._next_repo_id, set(pull_requests), set(issues), default_branch)
            self._next_repo_id += 1
            self._repos[full_name.lower()] = repo
            return repo

    def import_branch(self, repository: str, git_dir: Path, branch: str = "main") -> str:
        """Copy every object reachable from `branch` of a local git repository and point the branch at it.

        Why through git itself (`rev-list --objects`, `cat-file --batch`): the fake then holds the
        very bytes local git hashed, so `heads/<branch>` has exactly the local commit sha and a
        client comparing shas with a checkout sees agreement. Returns that commit sha.
        """
        # A developer's or a hook's GIT_DIR, GIT_INDEX_FILE … must not redirect git to another repository.
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}

        def git(*args: str, stdin: bytes | None = None) -> bytes:
            result = subprocess.run(
                ["git", "-C", str(git_dir), *args], input=stdin, capture_output=True, env=env, timeout=120
            )
            if result.returncode != 0:
                raise RuntimeError(
                    f"git {' '.join(args)} failed in {git_dir}: {result.stderr.decode(errors='replace')}"
                )
            return result.stdout

        head = git("rev-parse", "--verify", f"refs/heads/{branch}^{{commit}}").decode().strip()
        if not SHA_RE.fullmatch(head):
            raise ValueError(f"{git_dir} does not use sha1 object names (got {head!r}); GitHub does")
        shas = [line.split(b" ", 1)[0] for line in git("rev-list", "--objects", head).splitlines() if line]
        batch = git("cat-file", "--batch", stdin=b"\n".join(shas) + b"\n")
        objects, pos = {}, 0
        for _ in shas:
            eol = batch.index(b"\n", pos)
            sha, kind, size = batch[pos:eol].decode().split()
            data = batch[eol + 1 : eol + 1 + int(size)]
            pos = eol + 1 + int(size) + 1  # cat-file ends each object with a newline
            computed, raw = git_object(kind, data)
            if computed != sha:
                raise RuntimeError(f"object {sha} from {git_dir} hashes to {computed}")
            objects[sha] = raw
        with self._lock:
            repo = self.repository(repository)
            repo.objects.update(objects)
            self._move_ref(repo, f"refs/heads/{branch}", head)
        return head

    def add_token(self, token: str, *, write: bool = True, user: User = BOT) -> None:
        """A token GitHub accepts; `write=False` is what a fork PR's GITHUB_TOKEN gets."""
        with self._lock:
            self._tokens[token] = _Token(token, write, user)

    def add_comment(
        self,
        repository: str,
        number: int,
        body: str,
        *,
        user: User = OCTOCAT,
        author_association: str = "CONTRIBUTOR",
        created_at: datetime | None = None,
    ) -> dict[str, Any]:
        """Seed one comment as if someone had posted it; returns it as the API renders it."""
        with self._lock:
            comment = self._new_comment(self.repository(repository), number, body, user, author_association, created_at)
            return self._render(comment)

    def seed_comments(
        self,
        repository: str,
        number: int,
        count: int,
        *,
        user: User = OCTOCAT,
        body: Callable[[int], str] = lambda i: f"Comment {i} from someone else.",
    ) -> list[dict[str, Any]]:
        """`count` older comments by another user, one second apart, ending an hour ago."""
        start = datetime.now(timezone.utc) - timedelta(hours=1, seconds=count)
        return [
            self.add_comment(repository, number, body(i), user=user, created_at=start + timedelta(seconds=i))
            for i in range(count)
        ]

    def replace_comment(self, comment_id: int, raw: dict[str, Any]) -> None:
        """Serve `raw` verbatim for this comment: how a test proves the response validator bites."""
        with self._lock:
            self._comments[comment_id].raw = copy.deepcopy(raw)

    def fail_next(
        self,
        method: str,
        target: str,
        status: int,
        *,
        headers: dict[str, str] | None = None,
        message: str | None = None,
        body: Any = None,
        errors: list[dict[str, Any]] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` matching requests with `status` instead of serving them.

        `target` is an operationId ("issues/create-comment") or a path template
        ("/repos/{owner}/{repo}/issues/{issue_number}/comments"). The body defaults to GitHub's
        error shape with `message`; a dict `body` replaces it, a str `body` is served as HTML
        (GitHub's 502 pages are) and skips response validation.
        """
        op = self.spec.operation(target, method)
        if body is None:
            body = {
                "message": message or _FAULT_MESSAGES.get(status, "Error"),
                "documentation_url": op.docs_url,
                "status": str(status),
            }
            if errors is not None:
                body["errors"] = errors
        with self._lock:
            self._faults.append(_Fault(op.method, op.operation_id, status, dict(headers or {}), body, times))

    def rate_limit_next(self, method: str, target: str, *, retry_after: int = 1, times: int = 1) -> None:
        """A primary rate limit: 429 with Retry-After and no requests remaining."""
        self.fail_next(
            method,
            target,
            429,
            times=times,
            headers={
                "Retry-After": str(retry_after),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(int(time.time()) + retry_after),
            },
        )

    def secondary_rate_limit_next(self, method: str, target: str, *, retry_after: int = 60, times: int = 1) -> None:
        """A secondary rate limit: 403 with GitHub's message and Retry-After."""
        self.fail_next(
            method,
            target,
            403,
            times=times,
            headers={"Retry-After": str(retry_after)},
            body={
                "message": SECONDARY_RATE_LIMIT_MESSAGE,
                "documentation_url": f"{RATE_LIMIT_DOCS}#about-secondary-rate-limits",
            },
        )

    # ---- inspection ------------------------------------------------------------------------

    @property
    def log(self) -> list[Call]:
        with self._lock:
            return list(self._log)

    def calls(self, method: str | None = None, operation_id: str | None = None) -> list[Call]:
        """The log filtered by method and/or operationId."""
        return [
            c
            for c in self.log
            if (method is None or c.method == method.upper())
            and (operation_id is None or c.operation_id == operation_id)
        ]

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
            return [
                self._render(c)
                for c in sorted(self._comments.values(), key=lambda c: c.id)
                if c.repository is repo and c.number == number
            ]

    def branches(self, repository: str) -> dict[str, str]:
        """Branch name -> commit sha."""
        with self._lock:
            refs = self.repository(repository).refs
            return {
                ref.removeprefix("refs/heads/"): sha
                for ref, sha in sorted(refs.items())
                if ref.startswith("refs/heads/")
            }

    def file_at(self, repository: str, ref: str, path: str) -> bytes | None:
        """A file's bytes at a branch, tag or commit sha; None when no file is at `path` there.

        An unknown `ref` is a KeyError: a test asking about a branch that never existed is a bug in
        the test, not a missing file.
        """
        with self._lock:
            repo = self.repository(repository)
            commit = self._resolve(repo, ref)
            if commit is None:
                raise KeyError(f"{repository} has no branch, tag or commit {ref!r}")
            entry = self._lookup(repo, CommitObject.parse(repo.read(commit)[1]).tree, path)  # type: ignore[index]
            if entry is None or entry[0] not in BLOB_MODES:
                return None
            return repo.read(entry[1])[1]  # type: ignore[index]

    def pull_requests(self, repository: str) -> list[dict[str, Any]]:
        """The repository's pull requests (those opened through the API), by number, as pulls/get renders them."""
        with self._lock:
            repo = self.repository(repository)
            return [self._render_pull(pr) for _, pr in sorted(repo.pulls.items())]

    def repository(self, full_name: str) -> Repository:
        """A registered repository (its `id` is what GitHub's Link headers use)."""
        try:
            return self._repos[full_name.lower()]
        except KeyError:
            raise KeyError(f"repository {full_name} is not registered: call add_repository first") from None

    # ---- internals: state ------------------------------------------------------------------

    def _new_comment(
        self, repo: Repository, number: int, body: str, user: User, association: str, created_at: datetime | None = None
    ) -> Comment:
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

    def _move_ref(self, repo: Repository, ref: str, sha: str) -> None:
        """Point `ref` at `sha`; open pull requests on that branch follow it, as on GitHub."""
        repo.refs[ref] = sha
        now = datetime.now(timezone.utc).replace(microsecond=0)
        repo.pushed_at = now
        branch = ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else None
        for pr in repo.pulls.values():
            if pr.state != "open" or branch is None:
                continue
            if pr.head == branch and pr.head_sha != sha:
                pr.head_sha, pr.updated_at = sha, max(now, pr.updated_at)
            if pr.base == branch:
                pr.base_sha = sha

    def _delete_ref(self, repo: Repository, ref: str) -> None:
        """Delete `ref`; GitHub closes the open pull requests whose head or base branch it was."""
        del repo.refs[ref]
        now = datetime.now(timezone.utc).replace(microsecond=0)
        repo.pushed_at = now
        branch = ref.removeprefix("refs/heads/")
        for pr in repo.pulls.values():
            if pr.state == "open" and ref.startswith("refs/heads/") and branch in (pr.head, pr.base):
                pr.state, pr.closed_at, pr.updated_at = "closed", now, max(now, pr.updated_at)

    def _peel(self, repo: Repository, sha: str) -> str | None:
        """The commit a sha names, following annotated tags; None for anything else."""
        for _ in range(16):
            found = repo.read(sha)
            if found is None:
                return None
            kind, data = found
            if kind == "commit":
                return sha
            if kind != "tag":
                return None
            sha = data.split(b"\n", 1)[0].removeprefix(b"object ").decode()
        return None

    def _resolve(self, repo: Repository, ref: str) -> str | None:
        """The commit a `ref` query value names: a branch, a tag, a full ref or a full commit sha."""
        names = [ref] if ref.startswith("refs/") else [f"refs/heads/{ref}", f"refs/tags/{ref}"]
        for name in names:
            if name in repo.refs:
                return self._peel(repo, repo.refs[name])
        return self._peel(repo, ref) if SHA_RE.fullmatch(ref) else None

    def _lookup(self, repo: Repository, tree: str, path: str) -> tuple[str, str] | None:
        """The (mode, sha) at `path` below a tree, or None."""
        entry: tuple[str, str] = (TREE_MODE, tree)
        for part in [p for p in path.split("/") if p]:
            if entry[0] != TREE_MODE:
                return None
            found = repo.read(entry[1])
            match = [(mode, sha) for mode, name, sha in parse_tree(found[1] if found else b"") if name == part]
            if not match:
                return None
            entry = match[0]
        return entry

    def _commit(self, repo: Repository, sha: str) -> CommitObject:
        return CommitObject.parse(repo.read(sha)[1])  # type: ignore[index]

    def _ancestors(self, repo: Repository, sha: str) -> dict[str, int]:
        """Every commit reachable from `sha` (itself included), with its distance in generations."""
        seen, frontier = {sha: 0}, deque([sha])
        while frontier:
            current = frontier.popleft()
            for parent in self._commit(repo, current).parents:
                if parent not in seen and repo.kind(parent) == "commit":
                    seen[parent] = seen[current] + 1
                    frontier.append(parent)
        return seen

    def _merge_base(self, repo: Repository, one: str, other: str) -> str | None:
        """The nearest common ancestor (git's merge-base for the histories a bot builds)."""
        theirs = self._ancestors(repo, other)
        common = [(distance, sha) for sha, distance in self._ancestors(repo, one).items() if sha in theirs]
        return min(common)[1] if common else None

    def _flatten(self, repo: Repository, tree: str | None, prefix: str = "") -> dict[str, tuple[str, str]]:
        """path -> (mode, sha) of every non-tree entry below a tree."""
        files: dict[str, tuple[str, str]] = {}
        found = repo.read(tree) if tree else None
        for mode, name, sha in parse_tree(found[1] if found else b""):
            if mode == TREE_MODE:
                files.update(self._flatten(repo, sha, f"{prefix}{name}/"))
            else:
                files[f"{prefix}{name}"] = (mode, sha)
        return files

    def _compare(self, repo: Repository, base: str, head: str) -> dict[str, Any]:
        """What a pull request from `head` into `base` shows: its commits, files and line counts."""
        base_commits = self._ancestors(repo, base)
        commits = [sha for sha in self._ancestors(repo, head) if sha not in base_commits]
        merge_base = self._merge_base(repo, base, head)
        before = self._flatten(repo, self._commit(repo, merge_base).tree if merge_base else None)
        after = self._flatten(repo, self._commit(repo, head).tree)
        target = self._flatten(repo, self._commit(repo, base).tree)
        changed = sorted(path for path in before.keys() | after.keys() if before.get(path) != after.get(path))
        additions = deletions = 0
        for path in changed:
            old = self._lines(repo, before.get(path))
            new = self._lines(repo, after.get(path))
            if old is None or new is None:
                continue  # binary: GitHub counts no lines
            for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
                if tag != "equal":
                    deletions += i2 - i1
                    additions += j2 - j1
        # A path both sides changed differently conflicts. Git merges such files line by line, so
        # this file-level view can call a PR dirty that GitHub would merge cleanly.
        conflicts = [
            path for path in changed if target.get(path) != before.get(path) and target.get(path) != after.get(path)
        ]
        return {
            "commits": len(commits),
            "changed_files": len(changed),
            "additions": additions,
            "deletions": deletions,
            "conflicts": conflicts,
        }

    def _lines(self, repo: Repository, entry: tuple[str, str] | None) -> list[bytes] | None:
        if entry is None or entry[0] == SUBMODULE_MODE:
            return []
        data = repo.read(entry[1])[1]  # type: ignore[index]
        return None if b"\0" in data[:8000] else data.splitlines()

    def _owner(self, repo: Repository) -> User:
        """The account that owns a repository: an organization with a stable id."""
        user = self._owners.get(repo.owner.lower())
        if user is None:
            user = User(repo.owner, 9_000_001 + len(self._owners), "Organization")
            self._owners[repo.owner.lower()] = user
        return user

    def _json_user(self, user: User) -> dict[str, Any]:
        return user.json(self.base_url, self.html_url)

    # ---- internals: rendering ----------------------------------------------------------------

    def _node_id(self, prefix: str, repo: Repository, key: object) -> str:
        return prefix + base64.b64encode(f"{repo.id}:{key}".encode()).decode().rstrip("=")

    def _render_ref(self, repo: Repository, ref: str) -> dict[str, Any]:
        api = f"{self.base_url}/repos/{repo.full_name}"
        sha = repo.refs[ref]
        kind = repo.kind(sha) or "commit"
        return {
            "ref": ref,
            "node_id": self._node_id("REF_kwDO", repo, ref),
            "url": f"{api}/git/{quote(ref)}",
            "object": {"sha": sha, "type": kind, "url": f"{api}/git/{kind}s/{sha}"},
        }

    def _render_commit(self, repo: Repository, sha: str) -> dict[str, Any]:
        api = f"{self.base_url}/repos/{repo.full_name}"
        html = f"{self.html_url}/{repo.full_name}"
        commit = self._commit(repo, sha)
        if commit.gpgsig is None:
            verification = {
                "verified": False,
                "reason": "unsigned",
                "signature": None,
                "payload": None,
                "verified_at": None,
            }
        else:
            # The fake knows no keys: a well-formed signature is from an unknown key, anything else malformed.
            armoured = commit.gpgsig.startswith(("-----BEGIN PGP SIGNATURE-----", "-----BEGIN SSH SIGNATURE-----"))
            verification = {
                "verified": False,
                "reason": "unknown_key" if armoured else "malformed_signature",
                "signature": commit.gpgsig,
                "payload": commit.unsigned.decode("utf-8", "replace"),
                "verified_at": None,
            }
        return {
            "sha": sha,
            "node_id": self._node_id("C_kwDO", repo, sha),
            "url": f"{api}/git/commits/{sha}",
            "html_url": f"{html}/commit/{sha}",
            "author": commit.author.json(),
            "committer": commit.committer.json(),
            "tree": {"sha": commit.tree, "url": f"{api}/git/trees/{commit.tree}"},
            "message": commit.message,
            "parents": [
                {"sha": p, "url": f"{api}/git/commits/{p}", "html_url": f"{html}/commit/{p}"} for p in commit.parents
            ],
            "verification": verification,
        }

    def _render_tree(self, repo: Repository, sha: str) -> dict[str, Any]:
        """A tree as create-tree answers: its own entries (not recursive), blobs with their size."""
        api = f"{self.base_url}/repos/{repo.full_name}"
        entries = []
        for mode, name, entry_sha in parse_tree(repo.read(sha)[1]):  # type: ignore[index]
            if mode == TREE_MODE:
                entries.append(
                    {
                        "path": name,
                        "mode": "040000",
                        "type": "tree",
                        "sha": entry_sha,
                        "url": f"{api}/git/trees/{entry_sha}",
                    }
                )
            elif mode == SUBMODULE_MODE:
                entries.append({"path": name, "mode": mode, "type": "commit", "sha": entry_sha})
            else:
                size = len(repo.read(entry_sha)[1])  # type: ignore[index]
                entries.append(
                    {
                        "path": name,
                        "mode": mode,
                        "type": "blob",
                        "sha": entry_sha,
                        "size": size,
                        "url": f"{api}/git/blobs/{entry_sha}",
                    }
                )
        return {"sha": sha, "url": f"{api}/git/trees/{sha}", "tree": entries, "truncated": False}

    def _render_file(self, repo: Repository, ref: str, path: str, sha: str, data: bytes) -> dict[str, Any]:
        """A content-file object; URLs carry the ref as the client gave it, as GitHub's do."""
        api = f"{self.base_url}/repos/{repo.full_name}"
        quoted = quote(path)
        self_url = f"{api}/contents/{quoted}?ref={quote(ref, safe='')}"
        git_url = f"{api}/git/blobs/{sha}"
        html = f"{self.html_url}/{repo.full_name}/blob/{ref}/{quoted}"
        raw = "https://raw.githubusercontent.com" if self.html_url == "https://github.com" else f"{self.html_url}/raw"
        if len(data) > MAX_INLINE_CONTENT:
            # Above 1 MB GitHub leaves the content out ("encoding": "none"); clients fetch the blob instead.
            content, encoding = "", "none"
        else:
            encoded = base64.b64encode(data).decode()  # GitHub wraps it at 60 characters, each line ending in \n
            content, encoding = "".join(encoded[i : i + 60] + "\n" for i in range(0, len(encoded), 60)), "base64"
        return {
            "type": "file",
            "encoding": encoding,
            "size": len(data),
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "content": content,
            "sha": sha,
            "url": self_url,
            "git_url": git_url,
            "html_url": html,
            "download_url": f"{raw}/{repo.full_name}/{ref}/{quoted}",
            "_links": {"self": self_url, "git": git_url, "html": html},
        }

    def _render_repository(self, repo: Repository) -> dict[str, Any]:
        """The full repository object a pull request's head and base carry, from the required properties."""
        api = f"{self.base_url}/repos/{repo.full_name}"
        html = f"{self.html_url}/{repo.full_name}"
        host = urlsplit(self.html_url).netloc
        open_issues = (
            len(repo.issues)
            + len(repo.pull_requests - repo.pulls.keys())
            + sum(pr.state == "open" for pr in repo.pulls.values())
        )
        pushed = repo.pushed_at or repo.created_at
        return {
            "id": repo.id,
            "node_id": self._node_id("R_kgDO", repo, repo.full_name),
            "name": repo.name,
            "full_name": repo.full_name,
            "owner": self._json_user(self._owner(repo)),
            "private": False,
            "html_url": html,
            "description": None,
            "fork": False,
            "url": api,
            "archive_url": f"{api}/{{archive_format}}{{/ref}}",
            "assignees_url": f"{api}/assignees{{/user}}",
            "blobs_url": f"{api}/git/blobs{{/sha}}",
            "branches_url": f"{api}/branches{{/branch}}",
            "collaborators_url": f"{api}/collaborators{{/collaborator}}",
            "comments_url": f"{api}/comments{{/number}}",
            "commits_url": f"{api}/commits{{/sha}}",
            "compare_url": f"{api}/compare/{{base}}...{{head}}",
            "contents_url": f"{api}/contents/{{+path}}",
            "contributors_url": f"{api}/contributors",
            "deployments_url": f"{api}/deployments",
            "downloads_url": f"{api}/downloads",
            "events_url": f"{api}/events",
            "forks_url": f"{api}/forks",
            "git_commits_url": f"{api}/git/commits{{/sha}}",
            "git_refs_url": f"{api}/git/refs{{/sha}}",
            "git_tags_url": f"{api}/git/tags{{/sha}}",
            "git_url": f"git://{host}/{repo.full_name}.git",
            "issue_comment_url": f"{api}/issues/comments{{/number}}",
            "issue_events_url": f"{api}/issues/events{{/number}}",
            "issues_url": f"{api}/issues{{/number}}",
            "keys_url": f"{api}/keys{{/key_id}}",
            "labels_url": f"{api}/labels{{/name}}",
            "languages_url": f"{api}/languages",
            "merges_url": f"{api}/merges",
            "milestones_url": f"{api}/milestones{{/number}}",
            "notifications_url": f"{api}/notifications{{?since,all,participating}}",
            "pulls_url": f"{api}/pulls{{/number}}",
            "releases_url": f"{api}/releases{{/id}}",
            "ssh_url": f"git@{host}:{repo.full_name}.git",
            "stargazers_url": f"{api}/stargazers",
            "statuses_url": f"{api}/statuses/{{sha}}",
            "subscribers_url": f"{api}/subscribers",
            "subscription_url": f"{api}/subscription",
            "tags_url": f"{api}/tags",
            "teams_url": f"{api}/teams",
            "trees_url": f"{api}/git/trees{{/sha}}",
            "clone_url": f"{html}.git",
            "mirror_url": None,
            "hooks_url": f"{api}/hooks",
            "svn_url": html,
            "homepage": None,
            "language": None,
            "forks_count": 0,
            "forks": 0,
            "stargazers_count": 0,
            "watchers_count": 0,
            "watchers": 0,
            "size": sum(len(raw) for raw in repo.objects.values()) // 1024,
            "default_branch": repo.default_branch,
            "open_issues_count": open_issues,
            "open_issues": open_issues,
            "has_issues": True,
            "has_projects": True,
            "has_wiki": True,
            "has_pages": False,
            "has_downloads": True,
            "archived": False,
            "disabled": False,
            "visibility": "public",
            "license": None,
            "pushed_at": _stamp(pushed),
            "created_at": _stamp(repo.created_at),
            "updated_at": _stamp(max(pushed, repo.created_at)),
        }

    def _render_pull(self, pr: PullRequest, *, simple: bool = False, mergeable: bool = True) -> dict[str, Any]:
        """A pull-request object (`simple` for the list's pull-request-simple).

        `mergeable=False` answers null/"unknown", as GitHub does right after creating a PR, before
        its background job has tried the merge.
        """
        repo = pr.repository
        api = f"{self.base_url}/repos/{repo.full_name}"
        url = f"{api}/pulls/{pr.number}"
        html = f"{self.html_url}/{repo.full_name}/pull/{pr.number}"
        owner = self._json_user(self._owner(repo))
        repo_json = self._render_repository(repo)

        def side(branch: str, sha: str) -> dict[str, Any]:
            return {"label": f"{repo.owner}:{branch}", "ref": branch, "sha": sha, "user": owner, "repo": repo_json}

        rendered: dict[str, Any] = {
            "url": url,
            "id": pr.id,
            "node_id": self._node_id("PR_kwDO", repo, pr.number),
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": f"{api}/issues/{pr.number}",
            "commits_url": f"{url}/commits",
            "review_comments_url": f"{url}/comments",
            "review_comment_url": f"{api}/pulls/comments{{/number}}",
            "comments_url": f"{api}/issues/{pr.number}/comments",
            "statuses_url": f"{api}/statuses/{pr.head_sha}",
            "number": pr.number,
            "state": pr.state,
            "locked": False,
            "active_lock_reason": None,
            "title": pr.title,
            "user": self._json_user(pr.user),
            "body": pr.body,
            "labels": [],
            "milestone": None,
            "created_at": _stamp(pr.created_at),
            "updated_at": _stamp(pr.updated_at),
            "closed_at": _stamp(pr.closed_at) if pr.closed_at else None,
            "merged_at": None,
            "merge_commit_sha": None,
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [],
            "requested_teams": [],
            "head": side(pr.head, pr.head_sha),
            "base": side(pr.base, pr.base_sha),
            "_links": {
                name: {"href": href}
                for name, href in (
                    ("self", url),
                    ("html", html),
                    ("issue", f"{api}/issues/{pr.number}"),
                    ("comments", f"{api}/issues/{pr.number}/comments"),
                    ("review_comments", f"{url}/comments"),
                    ("review_comment", f"{api}/pulls/comments{{/number}}"),
                    ("commits", f"{url}/commits"),
                    ("statuses", f"{api}/statuses/{pr.head_sha}"),
                )
            },
            "author_association": pr.author_association,
            "auto_merge": None,
            "draft": pr.draft,
        }
        if simple:
            return rendered
        compared = self._compare(repo, pr.base_sha, pr.head_sha)
        clean = None if not mergeable else not compared["conflicts"]
        rendered.update(
            {
                "merged": False,
                "mergeable": clean,
                "rebaseable": clean,
                "mergeable_state": "unknown" if clean is None else "clean" if clean else "dirty",
                "merged_by": None,
                "comments": sum(c.repository is repo and c.number == pr.number for c in self._comments.values()),
                "review_comments": 0,
                "maintainer_can_modify": pr.maintainer_can_modify,
                "commits": compared["commits"],
                "additions": compared["additions"],
                "deletions": compared["deletions"],
                "changed_files": compared["changed_files"],
            }
        )
        return rendered

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
            self._log.append(
                Call(
                    request.method,
                    request.path,
                    request.args.to_dict(),
                    state["json"],
                    reply.status,
                    arrived,
                    op.operation_id if op else None,
                    state["token"],
                    state["injected"],
                )
            )
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
            response = Response(
                reply.body, status=reply.status, headers=headers, content_type="text/html; charset=utf-8"
            )
        else:
            response = Response(
                json.dumps(reply.body),
                status=reply.status,
                headers=headers,
                content_type="application/json; charset=utf-8",
            )
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
            return _error(
                403, "Request forbidden by administrative rules. Please make sure your request has a User-Agent header."
            )
        version = headers.get("X-GitHub-Api-Version")
        if version is not None and version != API_VERSION:
            self._violate(method, path, f"X-GitHub-Api-Version {version!r} is not {API_VERSION}")
            return _error(400, f"API version {version} is not supported.")
        if "application/vnd.github" not in headers.get("Accept", "").lower():
            self._violate(
                method, path, f"Accept {headers.get('Accept')!r} does not ask for application/vnd.github+json"
            )

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
                value = (
                    _coerce(values[-1], schema)
                    if schema.get("type") != "array"
                    else [_coerce(v, schema.get("items", {})) for v in values]
                )
                problems = self.spec.errors(schema_pointer, value, direction="request")
                if problems:
                    self._violate(method, path, f"query parameter {name}={values[-1]!r}: {'; '.join(problems)}")
                    continue  # GitHub ignores a value it cannot use
                query[name] = value
        for name in request.args:
            if name not in declared_query:
                self._violate(method, path, f"query parameter {name!r} is not a parameter of {op.operation_id}")
        if "per_page" in query and not 1 <= query["per_page"] <= MAX_PER_PAGE:
            self._violate(
                method, path, f"per_page={query['per_page']} is outside GitHub's documented 1..{MAX_PER_PAGE}"
            )

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
                    return _Reply(
                        fault.status,
                        copy.deepcopy(fault.body),
                        dict(fault.headers),
                        check=not isinstance(fault.body, str),
                    )

        handler = _HANDLERS.get(op.operation_id)
        if handler is None:
            self._violate(
                method,
                path,
                f"{op.operation_id} is valid on GitHub but the fake does not implement it",
                "unimplemented",
            )
            return _error(501, f"the fake GitHub API does not implement {op.operation_id}", op.docs_url)
        context = _Context(
            method,
            path,
            op,
            params,
            query,
            body,
            token,
            list(request.args.items(multi=True)),
            headers.get("Accept", ""),
        )
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
            raise _Refusal(
                _error(
                    422,
                    "Validation Failed",
                    ctx.op.docs_url,
                    errors=[
                        {
                            "resource": "IssueComment",
                            "code": "unprocessable",
                            "field": "data",
                            "message": f"Body is too long (maximum is {MAX_COMMENT_BODY} characters)",
                        }
                    ],
                )
            )
        return body

    def _op_dispatch(self, ctx: _Context) -> _Reply:
        repo = self._repo(ctx)
        self._require_write(ctx)
        payload = ctx.body.get("client_payload")
        if payload is not None and len(orjson.dumps(payload)) >= MAX_CLIENT_PAYLOAD_BYTES:
            self._violate(ctx.method, ctx.path, "client_payload is 64KB or more (the description's limit)")
            raise _Refusal(_error(422, "Invalid request.\n\nclient_payload is too large.", ctx.op.docs_url))
        assert ctx.token is not None
        self._dispatches.append(
            Dispatch(repo.full_name, ctx.body["event_type"], copy.deepcopy(payload), ctx.token.token)
        )
        return _Reply(204)

    def _op_list_comments(self, ctx: _Context) -> _Reply:
        repo = self._repo(ctx)
        number = self._issue(ctx, repo)
        since = ctx.query.get("since")
        threshold = datetime.fromisoformat(since.replace("Z", "+00:00")) if isinstance(since, str) else None
        matching = [
            c
            for c in sorted(self._comments.values(), key=lambda c: c.id)
            if c.repository is repo and c.number == number and (threshold is None or c.updated_at >= threshold)
        ]
        chunk, headers = self._page(ctx, f"{self.base_url}/repositories/{repo.id}/issues/{number}/comments", matching)
        return _Reply(200, [self._render(c) for c in chunk], headers)

    def _page(self, ctx: _Context, base: str, items: list[Any]) -> tuple[list[Any], dict[str, str]]:
        """One page of `items` per the per_page and page parameters, and its Link header."""
        per_page = min(max(_int_or(ctx.query.get("per_page"), DEFAULT_PER_PAGE), 1), MAX_PER_PAGE)
        page = max(_int_or(ctx.query.get("page"), 1), 1)
        link = self._link(base, ctx, page, max(1, math.ceil(len(items) / per_page)))
        return items[(page - 1) * per_page : page * per_page], ({"Link": link} if link else {})

    def _link(self, base: str, ctx: _Context, page: int, last: int) -> str:
        """GitHub's Link header: prev, next, last, first, on the /repositories/{id} form of `base`."""

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
        comment = self._new_comment(
            repo,
            number,
            self._check_comment_body(ctx),
            ctx.token.user,
            "NONE" if ctx.token.user.type == "Bot" else "MEMBER",
        )
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

    # ---- git data: refs, blobs, trees, commits ----------------------------------------------

    def _fail(self, ctx: _Context, message: str, **extra: Any) -> _Refusal:
        """A 422 with GitHub's message for a git-data failure (those carry no `errors` list)."""
        return _Refusal(_error(422, message, ctx.op.docs_url, **extra))

    def _op_get_ref(self, ctx: _Context) -> _Reply:
        repo = self._repo(ctx)
        ref = f"refs/{ctx.params['ref']}"  # the path holds `heads/main`; `refs/heads/main` is not found
        if ref not in repo.refs:
            raise _Refusal(_error(404, "Not Found", ctx.op.docs_url))
        return _Reply(200, self._render_ref(repo, ref))

    def _op_create_ref(self, ctx: _Context) -> _Reply:
        repo = self._repo(ctx)
        self._require_write(ctx)
        ref, sha = ctx.body["ref"], ctx.body["sha"]
        if not ref.startswith("refs/") or ref.count("/") < 2:
            raise self._fail(ctx, "Reference name must contain at least three slash-separated components.")
        if not check_ref_format(ref):
            raise self._fail(ctx, f"{ref} is not a valid ref name.")
        kind = repo.kind(sha)
        if kind is None:
            raise self._fail(ctx, "Object does not exist")
        if ref in repo.refs:
            raise self._fail(ctx, "Reference already exists")
        clash = any(other.startswith(ref + "/") or ref.startswith(other + "/") for other in repo.refs)
        if clash or (ref.startswith("refs/heads/") and kind != "commit"):
            # `a` and `a/b` cannot both exist (git stores refs as paths), and a branch names a commit.
            raise self._fail(ctx, "Reference update failed")
        self._move_ref(repo, ref, sha)
        rendered = self._render_ref(repo, ref)
        return _Reply(201, rendered, {"Location": rendered["url"]})

    def _op_update_ref(self, ctx: _Context) -> _Reply:
        repo = self._repo(ctx)
        self._require_write(ctx)
        ref, sha = f"refs/{ctx.params['ref']}", ctx.body["sha"]
        if ref not in repo.refs:
            raise self._fail(ctx, "Reference does not exist")
        kind = repo.kind(sha)
        if kind is None:
            raise self._fail(ctx, "Object does not exist")
        if ref.startswith("refs/heads/") and kind != "commit":
            raise self._fail(ctx, "Reference update failed")
        old = repo.refs[ref]
        if ctx.body.get("force") is not True and sha != old:
            forward = kind == "commit" and repo.kind(old) == "commit" and old in self._ancestors(repo, sha)
            if not forward:
                raise self._fail(ctx, "Update is not a fast forward")
        self._move_ref(repo, ref, sha)
        return _Reply(200, self._render_ref(repo, ref))

    def _op_delete_ref(self, ctx: _Context) -> _Reply:
        repo = self._repo(ctx)
        self._require_write(ctx)
        ref = f"refs/{ctx.params['ref']}"
        if ref not in repo.refs:
            raise self._fail(ctx, "Reference does not exist")  # 422, not 404: clients must not treat it as gone
        if ref == f"refs/heads/{repo.default_branch}":
            raise self._fail(ctx, "Cannot delete the default branch")
        self._delete_ref(repo, ref)
        return _Reply(204)

    def _op_get_commit(self, ctx: _Context) -> _Reply:
        repo = self._repo(ctx)
        sha = ctx.params["commit_sha"]
        if repo.kind(sha) != "commit":
            raise _Refusal(_error(404, "Not Found", ctx.op.docs_url))
        return _Reply(200, self._render_commit(repo, sha))

    def _op_create_blob(self, ctx: _Context) -> _Reply:
        repo = self._repo(ctx)
        self._require_write(ctx)
        content, encoding = ctx.body["content"], ctx.body.get("encoding", "utf-8")
        if encoding in ("utf-8", "utf8"):
            data = content.encode("utf-8")
        elif encoding == "base64":
            # GitHub decodes leniently (line breaks and stray characters are skipped), as Ruby does.
            cleaned = re.sub(r"[^A-Za-z0-9+/]", "", content)
            try:
                data = base64.b64decode(cleaned + "=" * (-len(cleaned) % 4))
            except binascii.Error:
                raise self._fail(ctx, "Invalid Base64 content") from None
        else:
            raise self._fail(ctx, f"encoding must be either 'utf-8' or 'base64', not {encoding!r}")
        sha = repo.write("blob", data)
        url = f"{self.base_url}/repos/{repo.full_name}/git/blobs/{sha}"
        return _Reply(201, {"sha": sha, "url": url}, {"Location": url})

    def _op_create_tree(self, ctx: _Context) -> _Reply:
        repo = self._repo(ctx)
        self._require_write(ctx)
        base = ctx.body.get("base_tree")
        if base is not None and repo.kind(base) != "tree":
            raise self._fail(ctx, "base_tree is not a valid tree oid")
        root = _TreeEdit(repo, base)
        for entry in ctx.body["tree"]:
            path, mode, kind = entry.get("path"), entry.get("mode"), entry.get("type")
            parts = path.split("/") if isinstance(path, str) else []
            if not parts or any(p in ("", ".", "..") or p.lower() == ".git" for p in parts):
                raise self._fail(ctx, "tree.path contains a malformed path component")
            has_sha, has_content = "sha" in entry, "content" in entry
            if has_sha == has_content:
                raise self._fail(
                    ctx, "Must supply either tree.sha or tree.content. Request will be rejected if both are present."
                )
            if has_sha and entry["sha"] is None:
                if not root.delete(parts):
                    raise self._fail(ctx, "GitRPC::BadObjectState")  # deleting a path that is not there
                continue
            expected = {"blob": BLOB_MODES, "tree": ("040000",), "commit": (SUBMODULE_MODE,)}
            if kind not in expected or mode not in expected[kind]:
                raise self._fail(ctx, f"tree.mode {mode!r} and tree.type {kind!r} do not describe the same thing")
            if has_content:
                if kind != "blob":
                    raise self._fail(ctx, f"tree.content makes a blob, not a {kind}")
                sha = repo.write("blob", entry["content"].encode("utf-8"))
            else:
                sha = entry["sha"]
                if not SHA_RE.fullmatch(sha) or (kind != "commit" and repo.kind(sha) != kind):
                    raise self._fail(ctx, f"tree.sha {sha} is not a valid {kind}")
            root.put(parts, TREE_MODE if kind == "tree" else mode, sha)
        sha = root.write()
        rendered = self._render_tree(repo, sha)
        return _Reply(201, rendered, {"Location": rendered["url"]})

    def _signature(self, given: dict[str, Any] | None, fallback: Signature) -> Signature:
        """An author or committer from the request, with `fallback`'s fields where it gives none."""
        if given is None:
            return fallback

        def clean(text: str) -> str:  # git strips what would break the line
            return re.sub(r"[<>\n]", "", text).strip()

        when = fallback.when
        if isinstance(given.get("date"), str):
            # Python 3.10's fromisoformat takes no "Z" and only 3 or 6 fraction digits; git keeps whole seconds.
            when = datetime.fromisoformat(re.sub(r"\.\d+", "", given["date"]).replace("Z", "+00:00"))
            if when.tzinfo is None:
                when = when.replace(tzinfo=timezone.utc)
        return Signature(clean(given.get("name", fallback.name)), clean(given.get("email", fallback.email)), when)

    def _op_create_commit(self, ctx: _Context) -> _Reply:
        repo = self._repo(ctx)
        self._require_write(ctx)
        assert ctx.token is not None
        tree, parents = ctx.body["tree"], ctx.body.get("parents", [])
        if repo.kind(tree) != "tree":
            raise self._fail(ctx, "Tree SHA does not exist")
        for parent in parents:
            if not SHA_RE.fullmatch(parent):
                raise self._fail(
                    ctx, "Each SHA in the 'parents' parameter must be exactly 40 characters and contain only [0-9a-f]."
                )
            if repo.kind(parent) != "commit":
                raise self._fail(ctx, "Parent SHA does not exist or is not a commit object")
        user = ctx.token.user
        now = datetime.now(timezone.utc).replace(microsecond=0)
        # The token's account, with the noreply address GitHub gives it.
        default = Signature(user.login, f"{user.id}+{user.login}@users.noreply.github.com", now)
        author = self._signature(ctx.body.get("author"), default)
        committer = self._signature(ctx.body.get("committer"), author)  # "by default … the author"
        signature = ctx.body.get("signature")
        commit = CommitObject(
            tree,
            tuple(parents),
            author,
            committer,
            ctx.body["message"],
            signature.rstrip("\n") if isinstance(signature, str) else None,
        )
        sha = repo.write("commit", commit.data())
        rendered = self._render_commit(repo, sha)
        return _Reply(201, rendered, {"Location": rendered["url"]})

    # ---- contents ---------------------------------------------------------------------------

    def _op_get_content(self, ctx: _Context) -> _Reply:
        repo = self._repo(ctx)
        ref = ctx.query.get("ref") or repo.default_branch
        commit = self._resolve(repo, ref)
        if commit is None:
            raise _Refusal(_error(404, f"No commit found for the ref {ref}", ctx.op.docs_url))
        path = ctx.params["path"].strip("/")
        entry = self._lookup(repo, self._commit(repo, commit).tree, path)
        if entry is None:
            raise _Refusal(_error(404, "Not Found", ctx.op.docs_url))
        media = re.findall(r"application/vnd\.github(?:\.v3)?\.(raw|html|object)", ctx.accept)
        if media:
            self._violate(
                ctx.method, ctx.path, f"the fake serves repos/get-content as JSON only, not {media[0]}", "unimplemented"
            )
        mode, sha = entry
        if mode not in ("100644", "100755"):
            # Directories are left out on purpose: the description's oneOf carries a `type`
            # discriminator, which no array (content-directory) can satisfy, so a listing GitHub
            # does send would fail response validation.
            kind = {TREE_MODE: "directories", SUBMODULE_MODE: "submodules"}.get(mode, "symlinks")
            self._violate(
                ctx.method,
                ctx.path,
                f"the fake serves files only, not {kind} ({path!r} has mode {mode})",
                "unimplemented",
            )
            raise _Refusal(_error(501, f"the fake GitHub API does not serve {kind}", ctx.op.docs_url))
        return _Reply(200, self._render_file(repo, ref, path, sha, repo.read(sha)[1]))  # type: ignore[index]

    # ---- pull requests ----------------------------------------------------------------------

    def _pull(self, ctx: _Context, repo: Repository) -> PullRequest:
        number = ctx.params["pull_number"]
        pr = repo.pulls.get(number)
        if pr is None:
            if number in repo.pull_requests:
                self._violate(
                    ctx.method,
                    ctx.path,
                    f"PR #{number} was registered by number only (add_repository); "
                    "open it through pulls/create to give it branches",
                    "unimplemented",
                )
            raise _Refusal(_error(404, "Not Found", ctx.op.docs_url))
        return pr

    def _invalid(self, ctx: _Context, field_name: str, code: str = "invalid", message: str | None = None) -> _Refusal:
        error: dict[str, Any] = {"resource": "PullRequest", "code": code}
        if field_name:
            error["field"] = field_name
        if message is not None:
            error["message"] = message
        return _Refusal(_error(422, "Validation Failed", ctx.op.docs_url, errors=[error]))

    def _duplicate(self, ctx: _Context, repo: Repository, head: str, base: str, skip: int | None = None) -> None:
        for other in repo.pulls.values():
            if other.state == "open" and other.head == head and other.base == base and other.number != skip:
                raise self._invalid(ctx, "", "custom", f"A pull request already exists for {repo.owner}:{head}.")

    def _check_pull_body(self, ctx: _Context) -> None:
        body = ctx.body.get("body")
        if isinstance(body, str) and len(body) > MAX_COMMENT_BODY:
            raise self._invalid(ctx, "body", "custom", f"body is too long (maximum is {MAX_COMMENT_BODY} characters)")

    def _op_list_pulls(self, ctx: _Context) -> _Reply:
        repo = self._repo(ctx)
        state = ctx.query.get("state", "open")
        pulls = [pr for pr in repo.pulls.values() if state == "all" or pr.state == state]
        head = ctx.query.get("head")
        if isinstance(head, str) and ":" in head:  # without `owner:` GitHub ignores the filter
            owner, _, branch = head.partition(":")
            pulls = [pr for pr in pulls if owner.lower() == repo.owner.lower() and pr.head == branch]
        if "base" in ctx.query:
            pulls = [pr for pr in pulls if pr.base == ctx.query["base"]]
        sort = ctx.query.get("sort", "created")
        direction = ctx.query.get("direction", "desc" if sort == "created" else "asc")
        if sort == "long-running":
            month_ago = datetime.now(timezone.utc) - timedelta(days=30)
            pulls = [pr for pr in pulls if pr.created_at < month_ago <= pr.updated_at]

        def key(pr: PullRequest) -> tuple[Any, int]:
            if sort == "updated":
                return pr.updated_at, pr.number
            if sort == "popularity":
                return sum(c.repository is repo and c.number == pr.number for c in self._comments.values()), pr.number
            return pr.created_at, pr.number

        pulls.sort(key=key, reverse=direction == "desc")
        chunk, headers = self._page(ctx, f"{self.base_url}/repositories/{repo.id}/pulls", pulls)
        return _Reply(200, [self._render_pull(pr, simple=True) for pr in chunk], headers)

    def _op_get_pull(self, ctx: _Context) -> _Reply:
        repo = self._repo(ctx)
        return _Reply(200, self._render_pull(self._pull(ctx, repo)))

    def _op_create_pull(self, ctx: _Context) -> _Reply:
        repo = self._repo(ctx)
        self._require_write(ctx)
        assert ctx.token is not None
        if "issue" in ctx.body:
            self._violate(
                ctx.method,
                ctx.path,
                "pulls/create from an issue is valid on GitHub but not in the fake",
                "unimplemented",
            )
            raise _Refusal(_error(501, "the fake GitHub API does not convert issues", ctx.op.docs_url))
        if not isinstance(ctx.body.get("title"), str):
            raise self._invalid(ctx, "title", "missing_field")
        self._check_pull_body(ctx)
        owner, _, head = ctx.body["head"].rpartition(":")
        base = ctx.body["base"]
        if repo.branch(base) is None:
            raise self._invalid(ctx, "base")
        # The fake has no forks: `other-user:branch` names a branch no repository here has.
        if (owner and owner.lower() != repo.owner.lower()) or repo.branch(head) is None:
            raise self._invalid(ctx, "head")
        self._duplicate(ctx, repo, head, base)
        head_sha, base_sha = repo.branch(head), repo.branch(base)
        assert head_sha is not None and base_sha is not None
        if self._compare(repo, base_sha, head_sha)["commits"] == 0:
            raise self._invalid(ctx, "", "custom", f"No commits between {base} and {head}")
        number = max(repo.pull_requests | repo.issues, default=0) + 1
        now = datetime.now(timezone.utc).replace(microsecond=0)
        user = ctx.token.user
        pr = PullRequest(
            number,
            self._next_pull_id,
            repo,
            ctx.body["title"],
            ctx.body.get("body"),
            head,
            base,
            head_sha,
            base_sha,
            user,
            "NONE" if user.type == "Bot" else "MEMBER",
            now,
            now,
            draft=bool(ctx.body.get("draft", False)),
            maintainer_can_modify=bool(ctx.body.get("maintainer_can_modify", False)),
        )
        self._next_pull_id += 1
        repo.pulls[number] = pr
        repo.pull_requests.add(number)  # a PR is an issue too: the comment endpoints take its number
        rendered = self._render_pull(pr, mergeable=False)
        return _Reply(201, rendered, {"Location": rendered["url"]})

    def _op_update_pull(self, ctx: _Context) -> _Reply:
        repo = self._repo(ctx)
        pr = self._pull(ctx, repo)
        self._require_write(ctx)
        self._check_pull_body(ctx)
        base = ctx.body.get("base", pr.base)
        state = ctx.body.get("state", pr.state)
        if base != pr.base and repo.branch(base) is None:
            raise self._invalid(ctx, "base")
        if state == "open" and (pr.state == "closed" or base != pr.base):
            if pr.state == "closed":
                gone = [branch for branch in (pr.head, base) if repo.branch(branch) is None]
                if gone:
                    raise self._invalid(
                        ctx, "state", "custom", f"state cannot be changed. The {gone[0]} branch has been deleted."
                    )
            self._duplicate(ctx, repo, pr.head, base, skip=pr.number)
        now = max(datetime.now(timezone.utc).replace(microsecond=0), pr.updated_at)
        for name in ("title", "body", "maintainer_can_modify"):
            if name in ctx.body:
                setattr(pr, name, ctx.body[name])
        if base != pr.base:
            pr.base, pr.base_sha = base, repo.branch(base)  # type: ignore[assignment]
        if state != pr.state:
            pr.state, pr.closed_at = state, (now if state == "closed" else None)
            if state == "open":
                pr.head_sha, pr.base_sha = repo.branch(pr.head), repo.branch(pr.base)  # type: ignore[assignment]
        pr.updated_at = now
        return _Reply(200, self._render_pull(pr))


_HANDLERS: dict[str, Callable[[GitHubAPI, _Context], _Reply]] = {
    "repos/create-dispatch-event": GitHubAPI._op_dispatch,
    "issues/list-comments": GitHubAPI._op_list_comments,
    "issues/create-comment": GitHubAPI._op_create_comment,
    "issues/get-comment": GitHubAPI._op_get_comment,
    "issues/update-comment": GitHubAPI._op_update_comment,
    "issues/delete-comment": GitHubAPI._op_delete_comment,
    "git/get-ref": GitHubAPI._op_get_ref,
    "git/create-ref": GitHubAPI._op_create_ref,
    "git/update-ref": GitHubAPI._op_update_ref,
    "git/delete-ref": GitHubAPI._op_delete_ref,
    "git/get-commit": GitHubAPI._op_get_commit,
    "git/create-blob": GitHubAPI._op_create_blob,
    "git/create-tree": GitHubAPI._op_create_tree,
    "git/create-commit": GitHubAPI._op_create_commit,
    "repos/get-content": GitHubAPI._op_get_content,
    "pulls/list": GitHubAPI._op_list_pulls,
    "pulls/get": GitHubAPI._op_get_pull,
    "pulls/create": GitHubAPI._op_create_pull,
    "pulls/update": GitHubAPI._op_update_pull,
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
        "reactions": {
            "url": f"{url}/reactions",
            "total_count": 0,
            "+1": 0,
            "-1": 0,
            "laugh": 0,
            "confused": 0,
            "heart": 0,
            "hooray": 0,
            "eyes": 0,
            "rocket": 0,
        },
        "pin": None,
        "minimized": None,
    }


def comment_object(
    comment_id: int = 1,
    body: str = "Me too",
    *,
    repository: str = "octocat/Hello-World",
    number: int = 1347,
    base_url: str = "https://api.github.com",
) -> dict[str, Any]:
    """A well-formed issue-comment object, for tests that break one field and expect the validator to notice."""
    owner, _, name = repository.partition("/")
    moment = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    comment = Comment(comment_id, Repository(owner, name, 1, {number}, set()), number, body, BOT, moment, moment)
    return render_comment(comment, base_url)


def check_response(
    spec: Spec, op: Operation, status: int, body: Any, headers: dict[str, str] | None = None
) -> list[str]:
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
        if status >= 400 and body is not None:
            # Some errors are documented by a description alone (git/delete-ref's 422), yet GitHub
            # answers them with its JSON error body like any other.
            return problems + spec.errors("/components/schemas/basic-error", body, direction="response")
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
        pytest.fail(
            "the fake GitHub API saw requests or sent responses GitHub's OpenAPI description rules out:\n"
            + "\n".join(f"  {v}" for v in left),
            pytrace=False,
        )


__all__ = [
    "API_VERSION",
    "BOT",
    "OCTOCAT",
    "SECONDARY_RATE_LIMIT_MESSAGE",
    "Call",
    "Dispatch",
    "GitHubAPI",
    "SpecMissing",
    "User",
    "Violation",
    "check_response",
    "comment_object",
    "github_api",
    "load_spec",
    "render_comment",
    "response_errors",
]
