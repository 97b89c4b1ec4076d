"""tap_pendo.config.SETTINGS (the one table of settings) and meltano.yml's tap-pendo
extractor agree: names, secrets, defaults, kinds and capabilities.

meltano.yml is read as it is in the repository. The YAML is parsed by PyYAML when the
tap's virtualenv has it, or else by the Python of Meltano's own virtualenv (made by
`make ecosystem-deps`, which `make test` runs).
"""

import json
import subprocess
from pathlib import Path

import pytest

from tap_pendo.config import SETTINGS
from tests.integration.harness import TAP

REPO = Path(__file__).resolve().parents[2]
MELTANO_PYTHON = REPO / ".venvs" / "meltano" / "bin" / "python"
# The meltano `kind` that fits each kind of setting.
MELTANO_KINDS = {
    "string": "string",
    "date-time": "date_iso8601",
    "integer": "integer",
    "number": "decimal",
    "boolean": "boolean",
    "options": "options",
    "app-ids": "string",
}


def load_yaml(path: Path):
    try:
        import yaml
    except ImportError:
        if not MELTANO_PYTHON.exists():
            pytest.fail(f"no YAML parser: run `make ecosystem-deps` (make test does) for {path}")
        code = "import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))"
        with open(path) as stdin:
            done = subprocess.run(
                [str(MELTANO_PYTHON), "-c", code],
                stdin=stdin,
                capture_output=True,
                text=True,
                check=True,
                timeout=60,
            )
        return json.loads(done.stdout)
    with open(path) as handle:
        return yaml.safe_load(handle)


@pytest.fixture(scope="module")
def extractor() -> dict:
    project = load_yaml(REPO / "meltano.yml")
    (tap,) = [p for p in project["plugins"]["extractors"] if p["name"] == "tap-pendo"]
    return tap


@pytest.fixture(scope="module")
def declared(extractor) -> dict:
    """meltano.yml's settings by name."""
    settings = {s["name"]: s for s in extractor["settings"]}
    assert len(settings) == len(extractor["settings"]), "a setting is declared twice"
    return settings


def test_meltano_declares_the_same_settings_as_the_tap(declared):
    assert set(declared) == {s.name for s in SETTINGS}


def test_meltano_marks_exactly_the_secret_settings_sensitive(declared):
    for setting in SETTINGS:
        assert declared[setting.name].get("sensitive", False) is setting.secret, setting.name
    assert declared["x_pendo_integration_key"]["sensitive"] is True


def test_meltano_kinds_fit_the_settings_kinds(declared):
    for setting in SETTINGS:
        entry = declared[setting.name]
        assert entry.get("kind") == MELTANO_KINDS[setting.kind], setting.name
        if setting.kind == "options":
            values = [option["value"] for option in entry["options"]]
            assert sorted(values) == sorted(setting.options), setting.name


def test_meltano_values_are_the_settings_defaults(declared):
    wrong = {}
    for setting in SETTINGS:
        entry = declared[setting.name]
        if "value" not in entry:
            continue
        value, default = entry["value"], setting.default
        same_type = setting.kind == "number" or type(value) is type(default)
        if value != default or not same_type:
            wrong[setting.name] = {"meltano.yml": value, "default": default}
    assert not wrong, f"meltano.yml's values differ from the tap's defaults: {wrong}"


def test_meltano_capabilities_are_the_taps_about_capabilities(extractor, tmp_path):
    done = subprocess.run(
        [TAP, "--about"], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert done.returncode == 0, done.stderr
    about = json.loads(done.stdout)
    assert sorted(extractor["capabilities"]) == sorted(about["capabilities"])
