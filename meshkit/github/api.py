"""A small GitHub REST client: one token, retries that know GitHub's rate limits, one-line errors.

What `meshkit dispatch` (dispatch.py) and `meshkit comment` (pr_comment.py) call it for:
repository_dispatch, and listing, creating and updating issue comments. The token goes only
to the API host (pagination links elsewhere are refused) and is never printed.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from urllib3.exceptions import NewConnectionError

from meshkit import __version__
from meshkit.errors import GitHubError, ReadOnlyTokenError

__all__ = ["GitHubClient", "GitHubError", "NotFoundError", "ReadOnlyTokenError", "UncertainWriteError"]

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
TOKEN_VARIABLES = ("GITHUB_TOKEN", "GH_TOKEN")
TOKEN_HINT = "set GITHUB_TOKEN or GH_TOKEN (in Actions: env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }})"
TIMEOUT = (10, 30)  # seconds: connect, read
ATTEMPTS = 4
MAX_WAIT_SECONDS = 60.0
PER_PAGE = 100
MAX_PAGES = 1000  # 100,000 items: far beyond any PR, and a bound on a server that links in circles
READ_ONLY_MESSAGE = "Resource not accessible by integration"

_TOKEN = re.compile(r"[!-~]+")  # printable ASCII: anything else would end up in an error about the header
# GitHub's token formats (classic, OAuth, app, refresh, fine-grained): redacted from every message, whoever's.
_TOKEN_LIKE = re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{16,})")
REDACTED = "***"
_SERVER_ERRORS = frozenset({500, 502, 503, 504})


class NotFoundError(GitHubError):
    """A 404: for a branch or file that may legitimately not exist yet, callers catch it."""


class UncertainWriteError(GitHubError):
    """A create failed in a way that may still have created it (5xx, dropped connection): never blindly resend."""


def _bearer(token: str) -> Callable[[requests.PreparedRequest], requests.PreparedRequest]:
    """Auth as a callable, so requests never swaps in ~/.netrc credentials for it."""

    def apply(request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {token}"
        return request

    return apply


# Shorter than this, a secret is redacted where it stands alone, not inside words: replacing a one-letter
# token everywhere would wreck the message (`canno*** reach ***he Gi***Hub API`). GitHub's tokens are 40+.
WORD_SECRET_LENGTH = 8


def redact(text: str, *secrets: str) -> str:
    """text without the given secrets, anything shaped like a GitHub token, or a URL's user:password@."""
    for secret in secrets:
        if len(secret) >= WORD_SECRET_LENGTH:
            text = text.replace(secret, REDACTED)
        elif secret:
            text = re.sub(rf"(?<![A-Za-z0-9_]){re.escape(secret)}(?![A-Za-z0-9_])", REDACTED, text)
    text = re.sub(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s]*@", rf"\1{REDACTED}@", text)
    return _TOKEN_LIKE.sub(REDACTED, text)


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = -1
    return scheme, (parts.hostname or "").lower(), port or {"https": 443, "http": 80}.get(scheme)


def _body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _message(response: requests.Response) -> str:
    """GitHub's own explanation, or the HTTP reason when the body is not GitHub's JSON (a proxy's 502 page)."""
    body = _body(response)
    if isinstance(body, dict) and isinstance(body.get("message"), str) and body["message"].strip():
        return _one_line(body["message"])
    return _one_line(response.reason or "no message")


def _error_details(response: requests.Response) -> str:
    body = _body(response)
    errors = body.get("errors") if isinstance(body, dict) else None
    details = []
    for item in errors if isinstance(errors, list) else []:
        if isinstance(item, str):
            details.append(item)
        elif isinstance(item, dict) and isinstance(item.get("message"), str):
            details.append(item["message"])
        elif isinstance(item, dict):
            details.append(" ".join(str(item[k]) for k in ("resource", "field", "code") if k in item))
    return _one_line("; ".join(d for d in details if d))


def _is_rate_limited(response: requests.Response) -> bool:
    if response.status_code == 429:
        return True
    if response.status_code != 403:
        return False
    return (
        "secondary rate limit" in _message(response).lower()
        or "Retry-After" in response.headers
        or response.headers.get("x-ratelimit-remaining") == "0"
    )


def _reason(exc: requests.RequestException) -> str:
    """The root cause of a connection failure without urllib3's object reprs."""
    cause: Any = exc.args[0] if exc.args else exc
    cause = getattr(cause, "reason", cause)
    text = re.sub(r"<[^>]*>:\s*", "", str(cause))
    return _one_line(text, 200) or type(exc).__name__


def _surely_unsent(exc: requests.RequestException) -> bool:
    """True when the request cannot have reached GitHub, so resending a create is safe."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    cause = exc.args[0] if exc.args else None
    return isinstance(getattr(cause, "reason", None), NewConnectionError)


@dataclass
class GitHubClient:
    """GitHub's REST API with a token from the environment.

    Retries are a loop here rather than urllib3's Retry: Retry sees only status codes, and
    GitHub answers both a secondary rate limit and a missing permission with 403. Only the
    body and headers tell them apart, and only one of them is worth waiting for.
    """

    base_url: str
    token: str = field(repr=False)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    attempts: int = ATTEMPTS
    max_wait: float = MAX_WAIT_SECONDS
    session: requests.Session = field(default_factory=requests.Session, repr=False)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self.session.auth = _bearer(self.token)
        self.session.headers.update(
            {
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": f"meshkit/{__version__}",
            }
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **options: Any) -> GitHubClient:
        base_url = (environ.get("GITHUB_API_URL") or DEFAULT_API_URL).strip().rstrip("/")
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise GitHubError(
                f"GITHUB_API_URL {redact(base_url)!r} is not an http(s) URL: unset it or use e.g. {DEFAULT_API_URL}"
            )
        if "@" in parts.netloc:
            raise GitHubError(
                f"GITHUB_API_URL {redact(base_url)!r} holds credentials: remove them; the token comes from "
                f"{' or '.join(TOKEN_VARIABLES)}"
            )
        for variable in TOKEN_VARIABLES:
            token = (environ.get(variable) or "").strip()
            if token:
                if not _TOKEN.fullmatch(token):
                    raise GitHubError(
                        f"the token in {variable} has spaces or control characters: set it to the token alone"
                    )
                return cls(base_url, token, **options)
        raise GitHubError(f"no GitHub token: {TOKEN_HINT}")

    def backoff(self, attempt: int) -> float:
        """1, 2, 4 … seconds after the first, second, third … failed attempt."""
        return float(2 ** (attempt - 1))

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        permission: str = "",
        subject: str = "the repository, pull request or comment",
        idempotent: bool = True,
    ) -> requests.Response:
        """One API call with retries; any failure is a one-line GitHubError.

        idempotent=False is for creates: a 5xx or a dropped connection raises
        UncertainWriteError at once, since GitHub may have done the work; the caller
        must look before it sends again. Rate limits are still waited out: GitHub
        rejected those requests without acting on them. No message carries the token,
        even when a server echoes the request's headers back.
        """
        try:
            return self._request(method, path, json, params, permission, subject, idempotent)
        except GitHubError as error:
            raise type(error)(redact(str(error), self.token)) from None

    def _request(
        self,
        method: str,
        path: str,
        json: Any,
        params: Mapping[str, Any] | None,
        permission: str,
        subject: str,
        idempotent: bool,
    ) -> requests.Response:
        url = path if "://" in path else self.base_url + path
        where = f"{method} {urlsplit(url).path}"
        for attempt in range(1, self.attempts + 1):
            last = attempt == self.attempts
            try:
                # A write is never sent on to where a redirect points: requests would drop the token
                # there and report the other host's answer as if GitHub had done the work.
                response = self.session.request(
                    method, url, json=json, params=params, timeout=TIMEOUT, allow_redirects=method == "GET"
                )
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
                if not idempotent and not _surely_unsent(exc):
                    raise UncertainWriteError(f"GitHub API {where}: the connection failed ({_reason(exc)})") from None
                if last:
                    raise GitHubError(
                        f"cannot reach the GitHub API at {self.base_url}: {_reason(exc)} "
                        f"({self.attempts} attempts); check GITHUB_API_URL"
                    ) from None
                self.sleep(self.backoff(attempt))
                continue
            except requests.RequestException as exc:
                raise GitHubError(f"GitHub API {where} failed: {_reason(exc)}; check GITHUB_API_URL") from None
            moved = response.is_redirect or _origin(response.url) != _origin(self.base_url)
            if moved:
                target = response.headers.get("Location") or response.url
                raise GitHubError(
                    f"GitHub API {where} was redirected to {_origin(urljoin(url, target))[1] or 'another place'} "
                    f"({response.status_code}); meshkit sends nothing on: check GITHUB_API_URL"
                )
            if response.status_code < 400:
                return response
            retryable = response.status_code in _SERVER_ERRORS or _is_rate_limited(response)
            if not retryable:
                raise _status_error(response, where, permission, subject)
            if response.status_code in _SERVER_ERRORS and not idempotent:
                raise UncertainWriteError(f"GitHub API {where} failed: {response.status_code} {_message(response)}")
            if last:
                raise _exhausted_error(response, where, self.attempts)
            wait = self._wait(response, attempt)
            if wait > self.max_wait:
                until = datetime.fromtimestamp(self.clock() + wait, timezone.utc).strftime("%H:%M:%S UTC")
                raise GitHubError(
                    f"GitHub API {where}: {response.status_code} {_message(response)}; GitHub asks to wait "
                    f"{wait:.0f} s, more than meshkit waits ({self.max_wait:.0f} s): rerun after {until}"
                )
            self.sleep(wait)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _wait(self, response: requests.Response, attempt: int) -> float:
        """Retry-After when given, else until the rate-limit reset when none is left, else backoff."""
        retry_after = (response.headers.get("Retry-After") or "").strip()
        if retry_after.isdigit():
            return float(retry_after)
        if retry_after:
            try:
                return max(0.0, parsedate_to_datetime(retry_after).timestamp() - self.clock())
            except (TypeError, ValueError):
                pass
        reset = (response.headers.get("x-ratelimit-reset") or "").strip()
        if response.headers.get("x-ratelimit-remaining") == "0" and reset.isdigit():
            return max(1.0, int(reset) - self.clock())
        return self.backoff(attempt)

    def json(self, response: requests.Response) -> Any:
        """The body as JSON; HTML here usually means GITHUB_API_URL points at the web UI, not the API."""
        body = _body(response)
        if body is None and response.status_code != 204:
            where = f"{response.request.method} {urlsplit(response.url).path}"
            raise GitHubError(f"GitHub API {where} did not answer JSON: check GITHUB_API_URL")
        return body

    def get_all(self, path: str, **options: Any) -> list[Any]:
        """Every item of a list endpoint, following Link rel="next" but never off the API host."""
        items: list[Any] = []
        url: str | None = self.base_url + path
        params: dict[str, Any] | None = {"per_page": PER_PAGE}
        seen: set[str] = set()
        while url is not None:
            if url in seen or len(seen) >= MAX_PAGES:
                raise GitHubError(
                    f"GitHub API GET {urlsplit(url).path}: the next-page links repeat or never end: "
                    "check GITHUB_API_URL"
                )
            seen.add(url)
            response = self.request("GET", url, params=params, **options)
            page = self.json(response)
            if not isinstance(page, list):
                raise GitHubError(f"GitHub API GET {urlsplit(url).path} did not answer a list: check GITHUB_API_URL")
            items.extend(page)
            link = response.links.get("next", {}).get("url")
            url = urljoin(response.url, link) if link else None
            params = None  # the next link carries the query
            if url is not None and _origin(url) != _origin(self.base_url):
                raise GitHubError(
                    f"GitHub API GET {urlsplit(response.url).path}: refusing a next-page link to another host "
                    f"({_origin(url)[1]}); the token is only sent to {self.base_url}"
                )
        return items


def _status_error(response: requests.Response, where: str, permission: str, subject: str) -> GitHubError:
    status, message = response.status_code, _message(response)
    if status == 401:
        return GitHubError(
            f"GitHub rejected the token ({where}: 401 {message}): set GITHUB_TOKEN or GH_TOKEN to a valid token"
        )
    if status == 403:
        kind = ReadOnlyTokenError if message == READ_ONLY_MESSAGE else GitHubError
        return kind(f"the GitHub token may not {where} (403 {message}): it needs {permission or 'more permissions'}")
    if status == 404:
        return NotFoundError(f"GitHub API {where}: 404 {message}: {subject} does not exist or the token cannot see it")
    if status == 422:
        details = _error_details(response)
        return GitHubError(f"GitHub rejected {where}: 422 {message}" + (f" ({details})" if details else ""))
    return GitHubError(f"GitHub API {where} failed: {status} {message}")


def _exhausted_error(response: requests.Response, where: str, attempts: int) -> GitHubError:
    status, message = response.status_code, _message(response)
    if _is_rate_limited(response):
        return GitHubError(
            f"GitHub API {where}: still rate-limited after {attempts} attempts ({status} {message}): "
            "wait a few minutes and rerun"
        )
    return GitHubError(f"GitHub API {where} failed: {status} {message} after {attempts} attempts: rerun later")
