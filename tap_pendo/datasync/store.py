"""Where Data Sync exports are read from: one fsspec filesystem and the folder that holds
`datasync/`, with the errors a user can cause turned into one line each.

`datasync_storage_options` go to the filesystem and nowhere else: a message names the URL
and the fix, and any text of an option that a backend's own message repeats is masked.
"""

import posixpath
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Optional
from urllib.parse import urlsplit

import fsspec

from ..errors import DataSyncError

# Bytes fetched from a remote store per request while rows are read. fsspec's "readahead"
# cache keeps the last request's bytes: an open file holds up to about three times this
# at a time (measured on s3fs: 7 MB), whatever the file's size; s3fs's own default is
# 50 MB. Rows are parsed at about 1 MB/s of Avro per thread: a request a second or two.
ROW_BLOCK_BYTES = 2 << 20
# For a file of which only the start is read (an Avro header, a small manifest).
HEAD_BLOCK_BYTES = 64 << 10

# The schemes of `datasync_url`: fsspec's protocol and the extra that installs its backend.
SCHEMES = {
    "": ("file", None),
    "file": ("file", None),
    "s3": ("s3", "s3"),
    "s3a": ("s3", "s3"),
    "gs": ("gcs", "gcs"),
    "gcs": ("gcs", "gcs"),
    "az": ("abfs", "azure"),
    "abfs": ("abfs", "azure"),
    # fsspec's in-memory filesystem: tests and fakes.
    "memory": ("memory", None),
}
BACKENDS = {"s3": "s3fs", "gcs": "gcsfs", "azure": "adlfs"}
DATASYNC = "datasync"

# Backend exceptions, by class name (the backends are optional imports).
_NO_CREDENTIALS = {
    "NoCredentialsError",
    "PartialCredentialsError",
    "CredentialRetrievalError",
    "NoAuthTokenError",
    "DefaultCredentialsError",
    "RefreshError",
    "ClientAuthenticationError",
    "ProfileNotFound",  # botocore: `profile` names none of the AWS config's profiles
}
_UNREACHABLE = {
    "EndpointConnectionError",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "ClientConnectorError",
    "ServerDisconnectedError",
    "ServiceRequestError",
    "ServiceResponseError",
    "TransportError",
    "InvalidRegionError",
}
_MIN_SECRET_CHARS = 4
_MAX_REASON_CHARS = 200


class Store:
    """One Data Sync location: an fsspec filesystem and `root`, the folder (as the
    filesystem spells paths) that holds `datasync/`.

    Paths given to and returned by a Store are the filesystem's own (`bucket/prefix/...`
    for object stores). A Store may be shared by threads: every `open` gives a file object
    of its own, which one thread reads.
    """

    def __init__(self, url: str, fs, root: str, secrets: tuple[str, ...] = ()):
        self.url = url
        self.fs = fs
        self.root = root.rstrip("/") or "/"
        self._secrets = secrets

    @property
    def datasync(self) -> str:
        """The path of the `datasync/` folder."""
        return self.join(self.root, DATASYNC)

    @staticmethod
    def join(folder: str, *names: str) -> str:
        """`folder/name/...`; names may hold folders of their own, and lose a leading '/'."""
        return posixpath.join(folder, *(name.lstrip("/") for name in names))

    def url_of(self, path: str) -> str:
        """The URL of a path of this store as a user knows it (for messages)."""
        if path == self.root or path.startswith(self.root.rstrip("/") + "/"):
            return self.url.rstrip("/") + path[len(self.root.rstrip("/")) :]
        return self.fs.unstrip_protocol(path)

    def folders(self, path: str) -> list[str]:
        """The names of the folders directly inside `path` (files are left out), sorted."""
        with self.errors(path):
            entries = self.fs.ls(path, detail=True)
        names = []
        for entry in entries:
            if entry.get("type") == "directory":
                name = entry["name"].rstrip("/").rsplit("/", 1)[-1]
                if name and posixpath.join(path.rstrip("/"), name) != path.rstrip("/"):
                    names.append(name)
        return sorted(set(names))

    def is_folder(self, path: str) -> bool:
        """True when `path` is a folder (on an object store: a prefix that holds objects)."""
        with self.errors(path):
            return self.fs.isdir(path)

    def open(self, path: str, block_size: int = ROW_BLOCK_BYTES):
        """A binary file object of `path` that reads `block_size` bytes per request and
        holds no more than that (plus what the caller asks for at once). FileNotFoundError
        when the file is missing; other store errors as DataSyncError."""
        with self.errors(path, missing=None):
            return self.fs.open(path, "rb", block_size=block_size, cache_type="readahead")

    @contextmanager
    def errors(self, path: str, missing: Optional[str] = "not found") -> Iterator[None]:
        """Store errors inside the block as one-line DataSyncErrors naming `path`.

        FileNotFoundError becomes `missing` (the reason shown), or stays as it is when
        `missing` is None (the caller knows what a missing file means).
        """
        try:
            yield
        except DataSyncError:
            raise
        except FileNotFoundError as error:
            if missing is None:
                raise
            raise DataSyncError(f"{self.url_of(path)}: {missing}") from error
        except Exception as error:  # noqa: BLE001 - only the errors a user can fix
            translated = self.translate(error, path)
            if translated is None:
                raise
            raise translated from None

    def translate(self, error: BaseException, path: str) -> Optional[DataSyncError]:
        """The one-line error for a store error a user can fix, or None (a bug)."""
        where = self.url_of(path)
        name = type(error).__name__
        reason = self.reason(error)
        status = getattr(error, "code", None) or getattr(error, "status_code", None)
        if name in _NO_CREDENTIALS:
            return DataSyncError(
                f"{where}: no usable credentials ({reason}): give them in "
                "datasync_storage_options or the environment (AWS_*, "
                "GOOGLE_APPLICATION_CREDENTIALS, AZURE_*)"
            )
        if isinstance(error, PermissionError) or status in (401, 403):
            return DataSyncError(
                f"{where}: access refused ({reason}): check the credentials in "
                "datasync_storage_options and that they may list and read this location"
            )
        if name in _UNREACHABLE or isinstance(error, (ConnectionError, TimeoutError)):
            return DataSyncError(
                f"{where}: the store cannot be reached ({reason}): check datasync_url "
                "and the endpoint or region in datasync_storage_options"
            )
        if isinstance(error, OSError):
            return DataSyncError(
                f"{where}: the store failed ({reason}): run again later, or check the store"
            )
        return None

    def reason(self, error: BaseException) -> str:
        """`Class: message` of an exception, on one line, short, options masked."""
        text = " ".join(str(error).split())
        for secret in self._secrets:
            text = text.replace(secret, "***")
        if len(text) > _MAX_REASON_CHARS:
            text = text[: _MAX_REASON_CHARS - 3] + "..."
        return f"{type(error).__name__}: {text}" if text else type(error).__name__


def open_store(url: str, storage_options: Optional[Mapping] = None) -> Store:
    """The Store of `datasync_url`, checked: its backend is installed, the options fit it,
    and it holds a `datasync/` folder (which also tries the credentials, once, before any
    thread reads)."""
    shown = display_url(url)
    scheme = _scheme(url)
    if scheme not in SCHEMES:
        known = ", ".join(f"{s}://" for s in ("file", "s3", "gs", "az", "abfs"))
        raise DataSyncError(
            f"datasync_url {shown}: unknown scheme {scheme}://; use a local folder, {known}"
        )
    extra = SCHEMES[scheme][1]
    options = dict(storage_options or {})
    secrets = _secrets(options)
    try:
        fs, root = fsspec.core.url_to_fs(url, **options)
        # fsspec shares a filesystem among callers with the same options, and s3fs keeps
        # listings and sizes: a store opened again (a second run in one process) must
        # see the exports written since.
        fs.invalidate_cache()
        store = Store(shown, fs, root, secrets)
        # The first request: backends check most options only now.
        found = store.is_folder(store.datasync)
    except ImportError:
        raise DataSyncError(
            f"datasync_url {shown}: reading {scheme}:// needs {BACKENDS[extra]}: "
            f"pip install 'tap-pendo[{extra}]'"
        ) from None
    except (TypeError, ValueError, AttributeError) as error:
        reason = Store(shown, None, "", secrets).reason(error)
        raise DataSyncError(
            f"datasync_storage_options do not fit the {scheme or 'file'} store of "
            f"{shown} ({reason}): see the options of {BACKENDS.get(extra) or 'fsspec'}"
        ) from None
    if not found:
        raise DataSyncError(_no_datasync_message(store))
    return store


def display_url(url: str) -> str:
    """`url` as it may be shown: a password in it is masked."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(":" + parts.password + "@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url


def _scheme(url: str) -> str:
    if re.match(r"^[A-Za-z]:[\\/]", url):  # a Windows drive, not a scheme
        return ""
    found = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", url)
    return found.group(1).lower() if found else ""


def _secrets(options: Mapping) -> tuple[str, ...]:
    """Every text in the options (nested too), longest first, to be masked in messages."""
    found = set()

    def walk(value):
        if isinstance(value, Mapping):
            for item in value.values():
                walk(item)
        elif isinstance(value, (list, tuple, set)):
            for item in value:
                walk(item)
        elif isinstance(value, str) and len(value) >= _MIN_SECRET_CHARS:
            found.add(value)

    walk(options)
    return tuple(sorted(found, key=len, reverse=True))


def _no_datasync_message(store: Store) -> str:
    path = store.root.rstrip("/")
    parts = path.split("/")
    if DATASYNC in parts:
        parent = "/".join(parts[: parts.index(DATASYNC)]) or "/"
        return (
            f"datasync_url {store.url}: names a folder inside datasync/; give the folder "
            f"that holds datasync/ ({store.url_of(parent)})"
        )
    return (
        f"datasync_url {store.url}: no datasync/ folder there; give the folder that holds "
        "datasync/ (the location Pendo Data Sync was set up to write to)"
    )
