"""A registry in an Azure Blob Storage container, through obstore (one small Rust wheel).

`az://CONTAINER/PREFIX` takes the storage account from AZURE_STORAGE_ACCOUNT_NAME;
`abfs[s]://CONTAINER@ACCOUNT.dfs.core.windows.net/PREFIX` names it. Each blob is written with
one Put Blob, so a reader never sees a torn object; If-None-Match: * (an if-absent write) and
If-Match: ETAG make a lost race visible.

Credentials come from obstore's Azure chain, read from the standard variables: the Azure CLI
login azure/login leaves (AZURE_USE_AZURE_CLI=true, which meshkit's workflows set), workload
identity (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE), a client secret, an
account key or SAS, or a managed identity. AZURE_STORAGE_USE_EMULATOR=true talks to Azurite
(AZURITE_BLOB_STORAGE_URL); --endpoint-url names any other blob endpoint.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from meshkit.errors import ConflictError, InputError, RegistryError
from meshkit.registry import Blob, Listed, layout

if TYPE_CHECKING:
    from obstore.store import AzureConfig, ClientConfig, RetryConfig

_ABFS = re.compile(
    r"abfss?://(?P<container>[^@/]+)@(?P<account>[a-z0-9]{3,24})\.dfs\.core\.windows\.net(?:/(?P<prefix>.*))?"
)
_AZ = re.compile(r"az://(?P<container>[^/]*)(?:/(?P<prefix>.*))?")
_CONTAINER = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}")
_MISSING_CONTAINER = "ContainerNotFound"
_MISSING_ACCOUNT = ("AccountNotFound", "ResourceNotFound", "InvalidResourceName")
_MAX_RETRIES = 3  # bounded: an outage is one clear line, not minutes of backoff
_RETRY_TIMEOUT = timedelta(seconds=20)


def _obstore() -> Any:
    try:
        import obstore
    except ImportError:
        raise InputError('the Azure registry needs obstore: pip install "meshkit[azure]"') from None
    return obstore


def parse_url(url: str) -> tuple[str, str | None, str]:
    """(container, account or None for AZURE_STORAGE_ACCOUNT_NAME, prefix) of an az:// or abfs(s):// URL."""
    match = _ABFS.fullmatch(url) or _AZ.fullmatch(url)
    if match is None:
        raise InputError(
            f"registry URL {url!r} is not az://CONTAINER/PREFIX or abfss://CONTAINER@ACCOUNT.dfs.core.windows.net/PREFIX"
        )
    container = match.group("container")
    if not _CONTAINER.fullmatch(container or ""):
        raise InputError(
            f"registry URL {url!r} names no valid container: 3-63 lowercase letters, digits and single hyphens"
        )
    account = match.groupdict().get("account")
    return container, account, (match.group("prefix") or "").strip("/")


class AzureRegistry:
    def __init__(
        self,
        *,
        container: str,
        prefix: str,
        account: str | None = None,
        endpoint_url: str | None = None,
        account_key: str | None = None,
    ) -> None:
        """`account_key` is a shared key to sign with; default: the credential chain of the environment."""
        obstore = _obstore()
        from obstore.store import AzureStore

        self.container = container
        self.prefix = prefix
        self.url = f"az://{container}/{prefix}" if prefix else f"az://{container}"
        emulator = os.environ.get("AZURE_STORAGE_USE_EMULATOR", "").lower() == "true"
        if not (account or emulator or os.environ.get("AZURE_STORAGE_ACCOUNT_NAME")):
            raise InputError(
                f"registry {self.url} names no storage account: set AZURE_STORAGE_ACCOUNT_NAME or use "
                f"abfss://{container}@ACCOUNT.dfs.core.windows.net/{prefix}"
            )
        config: AzureConfig = {}
        if account:
            config["account_name"] = account
        if account_key:
            config["account_key"] = account_key
        if endpoint_url:
            config["endpoint"] = endpoint_url
        endpoint = endpoint_url or ""
        if emulator and not endpoint:
            endpoint = os.environ.get("AZURITE_BLOB_STORAGE_URL", "http://127.0.0.1:10000")
        client: ClientConfig = {"connect_timeout": "5s", "timeout": "30s", "allow_http": endpoint.startswith("http://")}
        retry: RetryConfig = {"max_retries": _MAX_RETRIES, "retry_timeout": _RETRY_TIMEOUT}
        self.endpoint = endpoint or "https://<account>.blob.core.windows.net"
        self._obstore = obstore
        self._store = AzureStore(
            container, prefix=prefix or None, config=config, client_options=client, retry_config=retry
        )

    def _where(self, key: str) -> str:
        return f"az://{self.container}/{self.prefix}/{key}" if self.prefix else f"az://{self.container}/{key}"

    def _fail(self, exc: Exception, key: str, action: str) -> RegistryError:
        errors = self._obstore.exceptions
        text = str(exc)
        if isinstance(exc, (errors.AlreadyExistsError, errors.PreconditionError)):
            return ConflictError(f"{self._where(key)} changed while this publish ran; another publisher won the race")
        if _MISSING_CONTAINER in text:
            return RegistryError(f"container {self.container!r} does not exist: create it or fix the registry URL")
        if any(code in text for code in _MISSING_ACCOUNT):
            return RegistryError(f"the storage account of {self.url} does not exist: fix AZURE_STORAGE_ACCOUNT_NAME")
        denied = isinstance(exc, (errors.PermissionDeniedError, errors.UnauthenticatedError))
        if denied or "AuthorizationFailure" in text:
            return RegistryError(
                f"access denied to {action} {self._where(key)}: the identity needs the role Storage Blob Data Reader "
                "to read and Storage Blob Data Contributor on the container to write (see docs/how-to/registries.md)"
            )
        if "error sending request" in text or "Connection refused" in text or "dns error" in text:
            return RegistryError(
                f"cannot reach the Azure blob endpoint {self.endpoint} to {action} {self._where(key)}: "
                "check --endpoint-url / AZURITE_BLOB_STORAGE_URL and the network"
            )
        if "credential" in text.lower() or "token" in text.lower():
            return RegistryError(
                f"no usable Azure credentials to {action} {self._where(key)}: run azure/login (federated credentials) "
                "in CI and set AZURE_USE_AZURE_CLI=true, or set the AZURE_* workload identity variables"
            )
        first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
        return RegistryError(f"Azure refused to {action} {self._where(key)}: {first[:300]}")

    def get(self, key: str) -> Blob | None:
        errors = self._obstore.exceptions
        limit = layout.size_limit(key)
        try:
            result = self._obstore.get(self._store, key)
            if int(result.meta["size"]) > limit:
                raise RegistryError(
                    f"{self._where(key)} is larger than meshkit reads for it ({limit} bytes): "
                    "it was not written by meshkit; republish the contract"
                )
            data = bytes(result.bytes())
        except FileNotFoundError as exc:  # obstore raises the builtin for a missing object
            if _MISSING_CONTAINER in str(exc):
                raise self._fail(exc, key, "read") from None
            return None
        except (errors.BaseError, OSError) as exc:
            raise self._fail(exc, key, "read") from None
        return Blob(data=data, tag=str(result.meta["e_tag"] or ""))

    def put(self, key: str, data: bytes, *, if_absent: bool = False, if_match: str | None = None) -> None:
        errors = self._obstore.exceptions
        mode: Any = "overwrite"
        if if_absent:
            mode = "create"
        if if_match is not None:
            mode = {"e_tag": if_match}
        try:
            self._obstore.put(self._store, key, data, mode=mode, use_multipart=False)
        except FileNotFoundError as exc:  # obstore raises the builtin for a missing object
            if if_match is not None and _MISSING_CONTAINER not in str(exc):
                raise ConflictError(f"{self._where(key)} was removed while this publish ran") from None
            raise self._fail(exc, key, "write") from None
        except (errors.BaseError, OSError) as exc:
            raise self._fail(exc, key, "write") from None

    def delete(self, key: str) -> None:
        errors = self._obstore.exceptions
        try:
            self._obstore.delete(self._store, key)
        except FileNotFoundError as exc:  # obstore raises the builtin for a missing object
            if _MISSING_CONTAINER in str(exc):
                raise self._fail(exc, key, "delete") from None
        except (errors.BaseError, OSError) as exc:
            raise self._fail(exc, key, "delete") from None

    def sweep(self, prefix: str, max_age_seconds: float) -> int:
        return 0  # a Put Blob is atomic: a killed writer leaves no partial blob behind

    def listing(self, prefix: str) -> list[Listed]:
        errors = self._obstore.exceptions
        try:
            pages = self._obstore.list(self._store, prefix or None)
            found = [
                Listed(str(meta["path"]), int(meta["size"]), meta["last_modified"].timestamp())
                for page in pages
                for meta in page
            ]
        except (errors.BaseError, OSError) as exc:
            raise self._fail(exc, prefix, "list") from None
        return sorted(found, key=lambda item: item.key)

    def list(self, prefix: str) -> list[str]:
        return [item.key for item in self.listing(prefix)]
