"""Errors a user can cause or fix. main() prints them as one line and exits 1."""


class UserError(Exception):
    """A problem in the user's input or account: shown as one line, no traceback."""


class ConfigError(UserError):
    """A bad value in the config file."""


class CatalogError(UserError):
    """A catalog that cannot be used."""


class StateError(UserError):
    """A state file that cannot be used."""


class PendoError(UserError):
    """Pendo refused a request or answered something the tap cannot read."""


class DataSyncError(UserError):
    """A Data Sync export that cannot be read: the store, a manifest or an Avro file; the
    message names the URL or file and the fix, never the storage options."""
