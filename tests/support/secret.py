"""The integration key of the end-to-end tests, and the check that it leaks nowhere."""

from __future__ import annotations

from pathlib import Path

# Distinctive, so that a leak cannot be a coincidence: every fake and config of the
# end-to-end tests uses a key that holds it, the deliberately malformed ones too.
SECRET_MARK = "7f3a9c1e"
SECRET_KEY = f"rel-SECRET-{SECRET_MARK}-0b5d-integration-key"
INPUT_FILES = {"config.json", "catalog.json", "state.json"}


def assert_no_secret(*texts: str, directory: Path | None = None) -> None:
    """No piece of the integration key is in `texts`, nor in any file under `directory`
    that the tap wrote (its inputs aside)."""
    for number, text in enumerate(texts):
        at = text.find(SECRET_MARK)
        assert at < 0, (
            f"the integration key leaked into output #{number}: ...{text[max(0, at - 200) : at + 60]}..."
        )
    if directory is not None:
        for path in Path(directory).rglob("*"):
            if path.is_file() and path.name not in INPUT_FILES:
                data = path.read_bytes()
                assert SECRET_MARK.encode() not in data, f"the integration key leaked into {path}"
