"""A registry in a Google Cloud Storage bucket, through GCS's JSON API over `requests`.

Why not a client library: obstore writes through GCS's XML API, whose preconditions the GCS
emulator (fake-gcs-server) does not serve, so its commit point could not be tested; the
google-cloud-storage SDK adds about 20 MB and a slow import for four calls. Each object is one
multipart upload (never a resumable one, whose preconditions the emulator ignores), so a reader
never sees a torn object, and `ifGenerationMatch` makes a lost race visible: 0 for an if-absent
write, the generation read for an if-match. The object's generation is its version tag.

Credentials come from Google's standard chain (google-auth's application default credentials:
the Workload Identity Federation file google-github-actions/auth writes, a service account, the
metadata server). With STORAGE_EMULATOR_HOST set, as Google's own clients do, no credential is
sent and that emulator is the endpoint; --endpoint-url names another endpoint.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from meshkit.errors import ConflictError, InputError, RegistryError
from meshkit.registry import Blob, Listed, layout

EMULATOR_VARIABLE = "STORAGE_EMULATOR_HOST"
_PUBLIC_ENDPOINT = "https://storage.googleapis.com"
_SCOPE = "https://www.googleapis.com/auth/devstorage.read_write"
_TIMEOUT = (5, 30)  # connect, read (seconds)
_RETRY = Retry(
    total=3,
    backoff_factor=0.2,
    status_forcelist=(429, 500, 502, 503, 504),
    allowed_methods=None,  # every call retries: a repeated conditional upload fails its precondition, never overwrites
    raise_on_status=False,
)


def _authorized_session() -> requests.Session:
    try:
        import google.auth
        from google.auth.exceptions import DefaultCredentialsError
        from google.auth.transport.requests import AuthorizedSession
    except ImportError:
        raise InputError('the GCS registry needs google-auth: pip install "meshkit[gcs]"') from None
    try:
        credentials, _ = google.auth.default(scopes=[_SCOPE])
    except DefaultCredentialsError:
        raise RegistryError(
            "no Google credentials: run google-github-actions/auth (Workload Identity Federation) in CI, "
            "or `gcloud auth application-default login`"
        ) from None
    authorized: Any = AuthorizedSession  # google-auth's transport is untyped
    session: requests.Session = authorized(credentials)
    return session


def _endpoint(endpoint_url: str | None) -> tuple[str, bool]:
    """The JSON API's base URL, and whether requests go out without credentials (an emulator)."""
    if endpoint_url:
        return endpoint_url.rstrip("/"), bool(os.environ.get(EMULATOR_VARIABLE))
    emulator = os.environ.get(EMULATOR_VARIABLE, "").strip()
    if emulator:
        return (emulator if "://" in emulator else f"http://{emulator}").rstrip("/"), True
    return _PUBLIC_ENDPOINT, False


class GCSRegistry:
    def __init__(
        self, *, bucket: str, prefix: str, endpoint_url: str | None = None, session: requests.Session | None = None
    ) -> None:
        """`session` sends the requests as it is (an emulator's); default: one with Google's credential chain."""
        self.bucket = bucket
        self.prefix = prefix
        self.url = f"gs://{bucket}/{prefix}" if prefix else f"gs://{bucket}"
        self.endpoint, anonymous = _endpoint(endpoint_url)
        if session is not None:
            self._session = session
        else:
            self._session = requests.Session() if anonymous else _authorized_session()
        adapter = HTTPAdapter(max_retries=_RETRY)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _object_url(self, key: str) -> str:
        return f"{self.endpoint}/storage/v1/b/{quote(self.bucket, safe='')}/o/{quote(self._key(key), safe='')}"

    def _call(self, method: str, url: str, key: str, action: str, **kwargs: Any) -> requests.Response:
        try:
            return self._session.request(method, url, timeout=_TIMEOUT, **kwargs)
        except requests.ConnectionError:
            raise RegistryError(
                f"cannot reach the GCS endpoint {self.endpoint} to {action} {self._where(key)}: "
                f"check --endpoint-url / {EMULATOR_VARIABLE} and the network"
            ) from None
        except requests.RequestException as exc:
            problem = type(exc).__name__
            raise RegistryError(f"GCS error while trying to {action} {self._where(key)}: {problem}") from None

    def _where(self, key: str) -> str:
        return f"gs://{self.bucket}/{self._key(key)}"

    def _fail(self, response: requests.Response, key: str, action: str) -> RegistryError:
        status = response.status_code
        if status == 412:
            return ConflictError(f"{self._where(key)} changed while this publish ran; another publisher won the race")
        if status == 404:
            return RegistryError(f"bucket {self.bucket!r} does not exist: create it or fix the registry URL")
        if status in (401, 403):
            return RegistryError(
                f"access denied to {action} {self._where(key)}: the service account needs roles/storage.objectViewer "
                "to read and roles/storage.objectUser on the bucket to write (see docs/how-to/registries.md)"
            )
        return RegistryError(f"GCS refused to {action} {self._where(key)}: HTTP {status}")

    def get(self, key: str) -> Blob | None:
        limit = layout.size_limit(key)
        response = self._call("GET", self._object_url(key), key, "read", params={"alt": "media"}, stream=True)
        with response:
            if response.status_code == 404:
                return None  # a missing bucket shows when the reader lists it, before saying "not published"
            if response.status_code != 200:
                raise self._fail(response, key, "read")
            generation = response.headers.get("x-goog-generation", "")
            if not generation:
                raise RegistryError(f"GCS gave no generation for {self._where(key)}: is the endpoint a GCS JSON API?")
            too_large = RegistryError(
                f"{self._where(key)} is larger than meshkit reads for it ({limit} bytes): "
                "it was not written by meshkit; republish the contract"
            )
            if int(response.headers.get("content-length") or 0) > limit:
                raise too_large
            data = response.raw.read(limit + 1, decode_content=True)
            if len(data) > limit:
                raise too_large
        return Blob(data=data, tag=generation)

    def put(self, key: str, data: bytes, *, if_absent: bool = False, if_match: str | None = None) -> None:
        params = {"uploadType": "multipart"}
        if if_absent:
            params["ifGenerationMatch"] = "0"
        if if_match is not None:
            params["ifGenerationMatch"] = if_match
        boundary = f"meshkit-{uuid.uuid4().hex}"
        metadata = json.dumps({"name": self._key(key), "contentType": "application/json"}).encode()
        body = b"".join(
            [
                f"--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n".encode(),
                metadata,
                f"\r\n--{boundary}\r\nContent-Type: application/json\r\n\r\n".encode(),
                data,
                f"\r\n--{boundary}--\r\n".encode(),
            ]
        )
        url = f"{self.endpoint}/upload/storage/v1/b/{quote(self.bucket, safe='')}/o"
        headers = {"Content-Type": f"multipart/related; boundary={boundary}"}
        response = self._call("POST", url, key, "write", params=params, data=body, headers=headers)
        if response.status_code != 200:
            raise self._fail(response, key, "write")

    def delete(self, key: str) -> None:
        response = self._call("DELETE", self._object_url(key), key, "delete")
        if response.status_code not in (200, 204, 404):
            raise self._fail(response, key, "delete")

    def sweep(self, prefix: str, max_age_seconds: float) -> int:
        return 0  # an upload is atomic on GCS: a killed writer leaves no partial object behind

    def listing(self, prefix: str) -> list[Listed]:
        url = f"{self.endpoint}/storage/v1/b/{quote(self.bucket, safe='')}/o"
        params = {"prefix": self._key(prefix), "fields": "items(name,size,updated),nextPageToken"}
        strip = len(self.prefix) + 1 if self.prefix else 0
        found: list[Listed] = []
        while True:
            response = self._call("GET", url, prefix, "list", params=params)
            if response.status_code != 200:
                raise self._fail(response, prefix, "list")
            try:
                page = response.json()
                for item in page.get("items", []):
                    written = datetime.fromisoformat(str(item["updated"]).replace("Z", "+00:00")).timestamp()
                    found.append(Listed(str(item["name"])[strip:], int(item.get("size", 0)), written))
            except (ValueError, KeyError, TypeError, AttributeError):
                raise RegistryError(f"GCS gave an unreadable listing of {self._where(prefix)}") from None
            token = page.get("nextPageToken")
            if not token:
                return sorted(found, key=lambda item: item.key)
            params["pageToken"] = str(token)

    def list(self, prefix: str) -> list[str]:
        return [item.key for item in self.listing(prefix)]
