"""meltano.yml's tap-pendo extractor and what `tap-pendo --about` says agree: names,
secrets, defaults, kinds and capabilities.

meltano.yml is read as it is in the repository. The YAML is parsed by PyYAML when the
tap's virtualenv has it, or else by the Python of Meltano's own virtualenv (made by
`make ecosystem-deps`, which `make test` runs). No clock plays a part here.
"""

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.tap import run_tap

REPO = Path(__file__).resolve().parents[2]
MELTANO_PYTHON = REPO / ".venvs" / "meltano" / "bin" / "python"


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


def meltano_kind(prop: dict) -> str:
    """The Meltano `kind` that fits a setting as `--about` describes it (JSON Schema)."""
    types = prop["type"] if isinstance(prop["type"], list) else [prop["type"]]
    if "enum" in prop:
        return "options"
    if prop.get("format") == "date-time":
        return "date_iso8601"
    for json_type, kind in (("object", "object"), ("boolean", "boolean"), ("integer", "integer")):
        if json_type in types:
            return kind
    return "decimal" if "number" in types else "string"


@pytest.fixture(scope="module")
def about(tmp_path_factory) -> dict:
    run = run_tap(tmp_path_factory.mktemp("about"), now_ms=None, args=["--about"])
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


@pytest.fixture(scope="module")
def settings(about) -> dict:
    return about["settings"]["properties"]


@pytest.fixture(scope="module")
def extractor() -> dict:
    project = load_yaml(REPO / "meltano.yml")
    (tap,) = [p for p in project["plugins"]["extractors"] if p["name"] == "tap-pendo"]
    return tap


@pytest.fixture(scope="module")
def declared(extractor) -> dict:
    """meltano.yml's settings by name."""
    named = {s["name"]: s for s in extractor["settings"]}
    assert len(named) == len(extractor["settings"]), "a setting is declared twice"
    return named


def test_meltano_declares_the_same_settings_as_the_tap(declared, settings):
    assert set(declared) == set(settings)


def test_meltano_marks_exactly_the_secret_settings_sensitive(declared, settings):
    for name, prop in settings.items():
        assert declared[name].get("sensitive", False) is prop.get("secret", False), name
    assert declared["x_pendo_integration_key"]["sensitive"] is True


def test_meltano_kinds_fit_the_settings_kinds(declared, settings):
    for name, prop in settings.items():
        entry = declared[name]
        assert entry.get("kind") == meltano_kind(prop), name
        if "enum" in prop:
            values = [option["value"] for option in entry["options"]]
            assert sorted(values) == sorted(prop["enum"]), name


def test_meltano_values_are_the_settings_defaults(declared, settings):
    wrong = {}
    for name, prop in settings.items():
        entry = declared[name]
        if "value" not in entry and "default" not in prop:
            continue
        value, default = entry.get("value"), prop.get("default")
        same_type = meltano_kind(prop) == "decimal" or type(value) is type(default)
        if value != default or not same_type:
            wrong[name] = {"meltano.yml": value, "default": default}
    assert not wrong, f"meltano.yml's values differ from the tap's defaults: {wrong}"


def test_meltano_capabilities_are_the_taps_about_capabilities(extractor, about):
    assert sorted(extractor["capabilities"]) == sorted(about["capabilities"])
