"""Data Sync stores: schemes, backends, the datasync/ folder, and errors a user can fix,
each one line that names the URL and never the storage options."""

import importlib.util

import pytest

from tap_pendo.datasync import DataSyncError, Store, open_store
from tap_pendo.datasync.store import ROW_BLOCK_BYTES, display_url

SECRET = "AKIA-very-secret-value"


def one_line_error(call) -> str:
    with pytest.raises(DataSyncError) as raised:
        call()
    message = str(raised.value)
    assert "\n" not in message and SECRET not in message
    return message


@pytest.mark.parametrize("url", ["ftp://host/x", "http://example.com/exports", "hdfs://nn/x"])
def test_an_unknown_scheme_is_named_with_the_known_ones(url):
    message = one_line_error(lambda: open_store(url, {"key": SECRET}))
    assert message.startswith(f"datasync_url {url}: unknown scheme")
    assert "s3://" in message and "gs://" in message and "az://" in message


@pytest.mark.parametrize(
    "url,module,extra",
    [
        ("gs://bucket/prefix", "gcsfs", "gcs"),
        ("az://container/p", "adlfs", "azure"),
        ("abfs://c/p", "adlfs", "azure"),
    ],
)
def test_a_missing_backend_says_which_extra_to_install(url, module, extra):
    if importlib.util.find_spec(module):
        pytest.skip(f"{module} is installed")
    message = one_line_error(lambda: open_store(url, {"token": SECRET}))
    assert f"pip install 'tap-pendo[{extra}]'" in message and url in message


def test_a_folder_without_datasync_is_named_with_the_fix(tmp_path):
    message = one_line_error(lambda: open_store(str(tmp_path)))
    assert message == (
        f"datasync_url {tmp_path}: no datasync/ folder there; give the folder that holds "
        "datasync/ (the location Pendo Data Sync was set up to write to)"
    )


def test_a_url_inside_datasync_says_to_give_its_parent(tmp_path):
    (tmp_path / "datasync" / "5650").mkdir(parents=True)
    message = one_line_error(lambda: open_store(str(tmp_path / "datasync" / "5650")))
    assert "names a folder inside datasync/" in message and str(tmp_path) in message


@pytest.mark.parametrize("form", ["path", "file_url"])
def test_a_local_folder_is_a_store_as_a_path_or_a_file_url(tmp_path, form):
    (tmp_path / "datasync" / "5650" / "-1").mkdir(parents=True)
    url = str(tmp_path) if form == "path" else f"file://{tmp_path}"
    store = open_store(url)
    assert store.root == str(tmp_path)
    assert store.datasync == str(tmp_path / "datasync")
    assert store.folders(store.datasync) == ["5650"]
    assert store.url_of(store.join(store.datasync, "5650")) == f"{url}/datasync/5650"


def test_files_are_opened_with_a_bounded_read_ahead(tmp_path):
    (tmp_path / "datasync").mkdir()
    store = open_store(str(tmp_path))
    calls = []

    class Spy:
        def open(self, path, mode, **options):
            calls.append(options)
            return object()

    store.fs = Spy()
    store.open("x")
    assert calls == [{"block_size": ROW_BLOCK_BYTES, "cache_type": "readahead"}]


class _Failing:
    """A filesystem whose every call raises `error`."""

    def __init__(self, error):
        self.error = error

    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise self.error

        return fail

    def unstrip_protocol(self, path):
        return "s3://" + path


def _store(error) -> Store:
    return Store("s3://acme/pendo", _Failing(error), "acme/pendo", (SECRET,))


class NoCredentialsError(Exception):
    """Named as botocore's is."""


class ClientAuthenticationError(Exception):
    """Named as azure-core's is."""


class EndpointConnectionError(Exception):
    """Named as botocore's is."""


@pytest.mark.parametrize(
    "error,says",
    [
        (NoCredentialsError("Unable to locate credentials"), "no usable credentials"),
        (ClientAuthenticationError(f"bad account key {SECRET}"), "no usable credentials"),
        (PermissionError(f"The AWS Access Key Id {SECRET} does not exist"), "access refused"),
        (
            EndpointConnectionError(f"Could not connect to http://{SECRET}:9000/acme"),
            "cannot be reached",
        ),
        (ConnectionResetError(104, "reset"), "cannot be reached"),
        (OSError(5, f"InternalError {SECRET}"), "the store failed"),
    ],
)
def test_store_errors_are_one_line_naming_the_url_and_masking_the_options(error, says):
    store = _store(error)
    message = one_line_error(lambda: store.folders(store.datasync))
    assert message.startswith("s3://acme/pendo/datasync: ")
    assert says in message
    assert type(error).__name__ in message


def test_a_bug_is_not_taken_for_a_store_error():
    store = _store(KeyError("a bug"))
    with pytest.raises(KeyError):
        store.folders(store.datasync)


def test_a_missing_file_is_told_to_the_caller_on_open(tmp_path):
    (tmp_path / "datasync").mkdir()
    store = open_store(str(tmp_path))
    with pytest.raises(FileNotFoundError):
        store.open(store.join(store.datasync, "nothing.avro"))


def test_options_that_do_not_fit_the_backend_are_named_without_their_values(tmp_path):
    pytest.importorskip("s3fs")
    options = {"key": SECRET, "secret": SECRET, "endpoint_url": "http://127.0.0.1:9", "foo": 1}
    message = one_line_error(lambda: open_store("s3://acme/pendo", options))
    assert message.startswith("datasync_storage_options do not fit the s3 store of s3://acme/pendo")
    assert "unexpected keyword argument 'foo'" in message


def test_a_password_in_the_url_is_masked():
    assert display_url("s3://user:pa55word@bucket/p") == "s3://user:***@bucket/p"
    assert display_url("abfs://container@account.dfs.core.windows.net/p") == (
        "abfs://container@account.dfs.core.windows.net/p"
    )
