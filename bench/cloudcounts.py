"""HTTP requests per meshkit command on each object store, counted on the wire.

    python bench/cloudcounts.py

The registry sits on the test suite's emulators on loopback (moto's S3 server, fake-gcs-server,
Azurite), each behind the counting proxy of tests/support/faultproxy.py, so the three clouds are
counted the same way whatever their client (boto3, requests, obstore's Rust client). The project is
the demo's dbt_up (parsed once here) and the downstream dbt_down; request counts do not depend on the
project's size, only the bytes do. Only counts come from here: an emulator's speed says nothing
about a cloud's, so nothing is timed.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from run import BENCH, DBT, MESHKIT, REPO, child_env
from s3counts import FAKE_AWS, S3Counter

from support.cloudstores import AZURITE_ACCOUNT, AzureContainer, GCSBucket, running_azurite, running_fake_gcs
from support.faultproxy import FaultProxy

COMMANDS = ("publish (first)", "publish (unchanged)", "sync (first)", "sync (unchanged)", "check (unchanged)")


def operation(method: str, target: str) -> str:
    """A request as the store's API names its kind: a listing, or a read or write of one object."""
    parts = urlsplit(target)
    query = parse_qs(parts.query)
    if method == "GET" and (
        query.get("comp") == ["list"] or "list-type" in query or parts.path.rstrip("/").endswith("/o")
    ):
        return "LIST"
    if method == "GET" and parts.path.startswith("/storage/v1/") and query.get("alt") != ["media"]:
        return "GET metadata"
    return method


@contextlib.contextmanager
def stores(work: Path) -> Iterator[dict[str, tuple[str, str, dict[str, str]]]]:
    """backend -> (registry URL, emulator endpoint, the variables pointing meshkit at a given endpoint)."""
    with S3Counter() as s3, running_fake_gcs(work) as gcs_endpoint, running_azurite(work) as azure_endpoint:
        bucket = GCSBucket(gcs_endpoint)
        container = AzureContainer(azure_endpoint)
        yield {
            "s3": (s3.load(work / "no-registry"), s3.endpoint, {**FAKE_AWS, "AWS_ENDPOINT_URL_S3": "{endpoint}"}),
            "gcs": (bucket.url(), gcs_endpoint, {"STORAGE_EMULATOR_HOST": "{endpoint}"}),
            "azure": (
                container.url(),
                azure_endpoint,
                {
                    "AZURE_STORAGE_USE_EMULATOR": "true",
                    "AZURITE_BLOB_STORAGE_URL": "{endpoint}",
                    "AZURE_STORAGE_ACCOUNT_NAME": AZURITE_ACCOUNT,
                },
            ),
        }


def meshkit(argv: list[str], cwd: Path, env: dict[str, str], expect: int = 0) -> None:
    done = subprocess.run([MESHKIT, *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != expect:
        raise SystemExit(f"meshkit {' '.join(argv)} exited {done.returncode}:\n{done.stderr[-3000:]}")


def count(backend: str, url: str, endpoint: str, variables: dict[str, str], work: Path) -> dict[str, dict[str, int]]:
    up, down = work / "dbt_up", work / "dbt_down"
    mesh_file = down / "models" / "_mesh_dbt_up.yml"
    counts: dict[str, dict[str, int]] = {}
    with FaultProxy(endpoint, at=0, marker=work / "never-held") as proxy:
        env = child_env(**{name: value.format(endpoint=proxy.url) for name, value in variables.items()})
        steps: list[tuple[str, list[str], Path]] = [
            ("publish (first)", ["publish", "--project-dir", str(up), "--registry", url], work),
            ("publish (unchanged)", ["publish", "--project-dir", str(up), "--registry", url], work),
            ("sync (first)", ["sync", "--project-dir", str(down), "--upstream", "dbt_up", "--registry", url], work),
            ("sync (unchanged)", ["sync", "--project-dir", str(down), "--upstream", "dbt_up", "--registry", url], work),
            ("check (unchanged)", ["check", "--project-dir", str(up), "--registry", url], work),
        ]
        for name, argv, cwd in steps:
            if name == "sync (first)":
                mesh_file.unlink(missing_ok=True)
            start = len(proxy.requests)
            meshkit(argv, cwd, env)
            kinds = Counter(operation(method, target) for method, target in proxy.requests[start:])
            counts[name] = dict(sorted(kinds.items()))
            print(f"[cloudcounts] {backend}: {name}: {sum(kinds.values())} requests {dict(kinds)}", flush=True)
    return counts


def table(results: dict[str, dict[str, dict[str, int]]]) -> str:
    lines = ["| command | " + " | ".join(results) + " |", "|---|" + "---|" * len(results)]
    for command in COMMANDS:
        cells = []
        for backend in results:
            kinds = results[backend][command]
            detail = ", ".join(f"{kind} {n}" for kind, n in kinds.items())
            cells.append(f"{sum(kinds.values())} ({detail})" if kinds else "0")
        lines.append(f"| {command} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="meshkit-cloudcounts-") as scratch:
        work = Path(scratch)
        for project in ("dbt_up", "dbt_down"):
            shutil.copytree(REPO / project, work / project, ignore=shutil.ignore_patterns("target", "logs", "*.duckdb"))
        done = subprocess.run([DBT, "parse"], cwd=work / "dbt_up", env=child_env(), capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"dbt parse failed in dbt_up:\n{done.stdout[-3000:]}")
        results: dict[str, dict[str, dict[str, int]]] = {}
        with stores(work) as found:
            for backend, (url, endpoint, variables) in found.items():
                results[backend] = count(backend, url, endpoint, variables, work)
    (BENCH / ".cache").mkdir(exist_ok=True)
    (BENCH / ".cache" / "cloudcounts.json").write_text(json.dumps(results, indent=1))
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
