"""`tap-pendo --about`: what the tap is, can do and takes, from the one table of settings
(config.SETTINGS), as JSON (the shape Meltano's SDK taps print) or as a markdown table."""

import json
from importlib.metadata import PackageNotFoundError, metadata

from .config import SETTINGS, Setting

NAME = "tap-pendo"
CAPABILITIES = ("catalog", "discover", "state", "about", "properties")
# JSON schema of each kind of setting.
KIND_SCHEMAS = {
    "string": {"type": ["string"]},
    "date-time": {"type": ["string"], "format": "date-time"},
    "integer": {"type": ["integer"]},
    "number": {"type": ["number"]},
    "boolean": {"type": ["boolean"]},
    "options": {"type": ["string"]},
    "app-ids": {"type": ["string", "array"], "items": {"type": "integer"}},
    "object": {"type": ["object"]},
}


def package_metadata() -> dict:
    """Version and summary, as setup.py declares them (one place for both)."""
    try:
        found = metadata(NAME)
    except PackageNotFoundError:  # run from a checkout that was not installed
        return {"version": "unknown", "description": "Singer tap for Pendo"}
    return {"version": found["Version"], "description": found["Summary"]}


def setting_schema(setting: Setting) -> dict:
    """One setting as a JSON schema property, with Meltano's `secret` marker."""
    schema = {**KIND_SCHEMAS[setting.kind], "description": setting.description}
    if setting.options:
        schema["enum"] = list(setting.options)
    if setting.default is not None:
        schema["default"] = setting.default
    if setting.secret:
        schema.update(secret=True, writeOnly=True)
    return schema


def about() -> dict:
    """The --about document."""
    return {
        "name": NAME,
        **package_metadata(),
        "capabilities": list(CAPABILITIES),
        "settings": {
            "type": "object",
            "properties": {s.name: setting_schema(s) for s in SETTINGS},
            "required": [s.name for s in SETTINGS if s.required],
        },
    }


def about_markdown() -> str:
    """The --about document as markdown: a paragraph and a table of settings."""
    document = about()
    lines = [
        f"# {document['name']} {document['version']}",
        "",
        document["description"] + ".",
        "",
        "Capabilities: " + ", ".join(f"`{c}`" for c in document["capabilities"]) + ".",
        "",
        "| setting | type | required | default | description |",
        "|---|---|---|---|---|",
    ]
    for setting in SETTINGS:
        kind = setting.kind + (f" ({', '.join(setting.options)})" if setting.options else "")
        default = "" if setting.default is None else f"`{json.dumps(setting.default)}`"
        secret = " **Secret.**" if setting.secret else ""
        lines.append(
            f"| `{setting.name}` | {kind} | {'yes' if setting.required else 'no'} | {default} "
            f"| {setting.description}{secret} |"
        )
    return "\n".join(lines) + "\n"
