"""Object-store clients compared: install time and size, import time. `python bench/clients.py` (needs PyPI).

Each candidate is installed with uv into a fresh virtualenv (uv's cache warm, so the time is resolving,
linking and byte-compiling, not the network), measured with `du` against an empty virtualenv, and
imported in a fresh interpreter N times (median wall of `python -c "import X"` minus `python -c pass`).
The candidates are what each registry could be built on: boto3 (today's S3), obstore (all three clouds
in one Rust wheel), google-cloud-storage or google-auth over requests (GCS), azure-storage-blob with
azure-identity (Azure). It prints a markdown table for bench/RESULTS.md; no time is asserted anywhere.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

UV = str(Path(sys.executable).parent / "uv")
REPEAT = 7
CANDIDATES = {
    "boto3 (S3 today)": (["boto3==1.44.8"], "import boto3; boto3.client('s3', region_name='us-east-1')"),
    "obstore (S3, GCS, Azure)": (["obstore==0.12.1"], "from obstore.store import AzureStore, S3Store, GCSStore"),
    "google-cloud-storage (GCS SDK)": (["google-cloud-storage==3.17.1"], "from google.cloud import storage"),
    "google-auth + requests (meshkit's GCS)": (
        ["google-auth==2.63.0", "requests==2.34.2"],
        "import requests, google.auth, google.auth.transport.requests",
    ),
    "azure-storage-blob + azure-identity (Azure SDK)": (
        ["azure-storage-blob==12.31.1", "azure-identity==1.27.0"],
        "from azure.storage.blob import BlobServiceClient; from azure.identity import DefaultAzureCredential",
    ),
}


def _du(path: Path) -> int:
    return int(subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True, check=True).stdout.split()[0])


def _median_wall(python: Path, code: str) -> float:
    walls = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        subprocess.run([str(python), "-c", code], check=True, capture_output=True)
        walls.append(time.perf_counter() - started)
    return statistics.median(walls)


def measure(work: Path, name: str, packages: list[str], code: str, baseline: int) -> dict[str, object]:
    venv = work / name.split()[0]
    subprocess.run([UV, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([UV, "pip", "install", "--quiet", "--python", str(python), *packages], check=True)  # warm the cache
    shutil.rmtree(venv)
    subprocess.run([UV, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    started = time.perf_counter()
    subprocess.run(
        [UV, "pip", "install", "--quiet", "--compile-bytecode", "--python", str(python), *packages], check=True
    )
    install = time.perf_counter() - started
    listed = subprocess.run([UV, "pip", "list", "--python", str(python)], capture_output=True, text=True, check=True)
    distributions = len(listed.stdout.splitlines()) - 2
    size = _du(venv) - baseline
    imported = _median_wall(python, code) - _median_wall(python, "pass")
    return {
        "name": name,
        "install_s": install,
        "mib": size / 2**20,
        "distributions": distributions,
        "import_s": imported,
    }


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="meshkit-clients-") as folder:
        work = Path(folder)
        empty = work / "empty"
        subprocess.run([UV, "venv", "--quiet", "--python", sys.executable, str(empty)], check=True)
        baseline = _du(empty)
        rows = [measure(work, name, *spec, baseline) for name, spec in CANDIDATES.items()]
    print("| client | distributions | installed (MiB) | install, warm cache (s) | import (s) |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['name']} | {row['distributions']} | {row['mib']:.1f} | {row['install_s']:.2f} | "
            f"{row['import_s']:.3f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
