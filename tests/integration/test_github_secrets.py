"""Secrets never leave in a message: a GitHub API that echoes headers, a token in GITHUB_API_URL, a redirected write.

A hostile (or misconfigured) server on loopback answers meshkit's real HTTP requests; every artefact,
stdout, stderr and the JSON report, is searched for the fake secrets the child process was given.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from support.helpers import clean_env, meshkit

pytestmark = pytest.mark.dbt

TOKEN = "ghs_" + secrets.token_hex(18)  # shaped like an Actions token, fresh each run
OTHER_TOKEN = "ghp_" + secrets.token_hex(18)  # someone else's, echoed by the server too
AWS_SECRET = "fakeAwsSecret" + secrets.token_hex(8)


class Hostile(ThreadingHTTPServer):
    mode = "echo"
    redirect_to = ""
    received: list[str]


class Handler(BaseHTTPRequestHandler):
    server: Hostile

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.received.append(f"POST {self.path} auth={self.headers.get('Authorization')}")
        if self.server.mode == "redirect":
            self.send_response(307)
            self.send_header("Location", self.server.redirect_to + self.path)
            self.end_headers()
            return
        if self.server.mode == "accept":
            self.send_response(204)
            self.end_headers()
            return
        echoed = "; ".join(f"{k}: {v}" for k, v in self.headers.items()) + f" and {OTHER_TOKEN}"
        body = json.dumps({"message": f"Validation Failed: {echoed}", "errors": [{"message": echoed}]}).encode()
        self.send_response(422)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def servers() -> Iterator[tuple[Hostile, Hostile]]:
    started = []
    for _ in range(2):
        server = Hostile(("127.0.0.1", 0), Handler)
        server.received = []
        threading.Thread(target=server.serve_forever, daemon=True).start()
        started.append(server)
    yield started[0], started[1]
    for server in started:
        server.shutdown()
        server.server_close()


def url(server: Hostile) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def dispatch_args(mesh: Path, scratch: Path) -> tuple[str | Path, ...]:
    """Only acme/consumer: a config listing no consumers, so the server sees exactly one request."""
    config = scratch / "no-consumers.yml"
    config.write_text("version: 1\nprojects: {}\n")
    registry = mesh / "registry"
    return (
        "dispatch",
        "--project",
        "dbt_up",
        "--registry",
        registry,
        "--repository",
        "acme/consumer",
        "--config",
        config,
    )


def dispatch(mesh: Path, scratch: Path, api_url: str) -> tuple[int, str]:
    env = clean_env(GITHUB_API_URL=api_url, GITHUB_TOKEN=TOKEN, AWS_SECRET_ACCESS_KEY=AWS_SECRET)
    result = meshkit(*dispatch_args(mesh, scratch), "--format", "json", cwd=scratch, env=env)
    return result.returncode, result.stdout + result.stderr


def assert_no_secret(text: str) -> None:
    for secret in (TOKEN, OTHER_TOKEN, AWS_SECRET, TOKEN[4:]):
        assert secret not in text, text


def test_a_server_echoing_the_token_gets_it_redacted(
    built_mesh: Path, tmp_path: Path, servers: tuple[Hostile, Hostile]
) -> None:
    api, _ = servers
    code, output = dispatch(built_mesh, tmp_path, url(api))
    assert code == 2
    assert api.received == [f"POST /repos/acme/consumer/dispatches auth=Bearer {TOKEN}"]  # the echo was real
    assert "Validation Failed" in output and "***" in output
    assert_no_secret(output)


def test_a_token_in_github_api_url_is_refused_and_never_echoed(
    built_mesh: Path, tmp_path: Path, servers: tuple[Hostile, Hostile]
) -> None:
    api, _ = servers
    code, output = dispatch(built_mesh, tmp_path, url(api).replace("http://", f"http://x-access-token:{TOKEN}@"))
    assert code == 2 and "holds credentials" in output
    assert api.received == []
    assert_no_secret(output)


def test_a_redirected_dispatch_is_an_error_not_a_success(
    built_mesh: Path, tmp_path: Path, servers: tuple[Hostile, Hostile]
) -> None:
    api, elsewhere = servers
    api.mode, api.redirect_to, elsewhere.mode = "redirect", url(elsewhere), "accept"
    code, output = dispatch(built_mesh, tmp_path, url(api))
    assert code == 2, output
    report = json.loads(output[: output.rindex("}") + 1])
    assert [r["status"] for r in report["repositories"]] == ["failed"]
    assert "redirected to 127.0.0.1" in report["repositories"][0]["error"]
    assert elsewhere.received == []  # nothing was sent on, with or without the token
    assert_no_secret(output)


def test_text_output_redacts_too(built_mesh: Path, tmp_path: Path, servers: tuple[Hostile, Hostile]) -> None:
    api, _ = servers
    env = clean_env(GITHUB_API_URL=url(api), GITHUB_TOKEN=TOKEN)
    result = meshkit(*dispatch_args(built_mesh, tmp_path), cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert_no_secret(result.stdout + result.stderr)
    assert "***" in result.stdout + result.stderr
