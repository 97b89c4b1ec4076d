"""A Data Sync tree in S3: moto's server (the real S3 protocol over HTTP) on a free
loopback port, a bucket, and the tree uploaded with s3fs.

    with S3Store(fake.root) as store:
        run_tap(datasync_url=store.url, storage_options=store.storage_options)
        fake.next_day()
        store.upload()          # the new files, manifests last

Credentials and region are set here, never taken from the environment.
"""

from __future__ import annotations

import logging
from pathlib import Path

ACCESS_KEY = "fake-datasync-key"
SECRET_KEY = "fake-datasync-secret"
REGION = "eu-west-1"  # us-east-1 would need no LocationConstraint, which s3fs sends
MANIFEST_NAME = "exportmanifest.json"


class S3Store:
    """A context manager: starts moto's server, creates `bucket` and uploads the tree
    under `root` to `s3://bucket/prefix`; stops the server on exit."""

    def __init__(self, root, bucket: str = "acme-datasync", prefix: str = "pendo/exports"):
        self.root = Path(root)
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._server = None
        self.endpoint_url = ""
        self.fs = None
        self._uploaded: dict[Path, tuple] = {}  # path -> (size, mtime) when uploaded

    @property
    def url(self) -> str:
        """`s3://bucket/prefix`: what a tap's `datasync_url` names (it holds `datasync/`)."""
        return f"s3://{self.bucket}/{self.prefix}"

    @property
    def storage_options(self) -> dict:
        """What fsspec's s3fs needs to reach the server: key, secret, endpoint, region."""
        return {
            "key": ACCESS_KEY,
            "secret": SECRET_KEY,
            "endpoint_url": self.endpoint_url,
            "client_kwargs": {"region_name": REGION},
        }

    def start(self) -> S3Store:
        """Starts the server, creates the bucket and uploads the tree."""
        import s3fs
        from moto.server import ThreadedMotoServer

        # One line per request from werkzeug would drown a test's output.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        # fsspec caches the instance: a reader given the same options gets the same one.
        self.fs = s3fs.S3FileSystem(**self.storage_options)
        try:
            self.fs.mkdir(self.bucket)
        except FileExistsError:
            # moto's buckets live as long as the process: an earlier store's are still there.
            if self.fs.exists(self.url):
                self.fs.rm(self.url, recursive=True)
        self.upload()
        return self

    def upload(self) -> int:
        """Uploads the files of the tree that are new or changed since the last upload,
        manifests last, as Pendo writes them, and deletes those deleted since (so that a
        damaged tree is damaged in S3 too); returns the number of files uploaded."""
        gone = [path for path in self._uploaded if not path.exists()]
        if gone:
            self.fs.rm([self._remote(path) for path in gone])
            for path in gone:
                del self._uploaded[path]
        files = []
        for path in sorted((self.root / "datasync").rglob("*")):
            if path.is_file():
                stat = path.stat()
                if self._uploaded.get(path) != (stat.st_size, stat.st_mtime_ns):
                    self._uploaded[path] = (stat.st_size, stat.st_mtime_ns)
                    files.append(path)
        local = [str(path) for path in files]
        remote = [self._remote(path) for path in files]
        others = [index for index, path in enumerate(files) if path.name != MANIFEST_NAME]
        manifests = [index for index, path in enumerate(files) if path.name == MANIFEST_NAME]
        for batch in (others, manifests):
            if batch:
                self.fs.put([local[i] for i in batch], [remote[i] for i in batch])
        return len(files)

    def _remote(self, path: Path) -> str:
        return f"{self.url}/{path.relative_to(self.root).as_posix()}"

    def stop(self) -> None:
        """Stops the server."""
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> S3Store:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
