"""The README stays true where it quotes the tap: its table of settings is --about's."""

import pathlib

from tap_pendo.about import about_markdown

README = pathlib.Path(__file__).parents[2] / "README.md"


def test_the_readme_settings_table_is_the_one_about_prints():
    text = README.read_text()
    start = text.index("<!-- settings:")
    table = text[text.index("\n", start) + 1 : text.index("<!-- /settings -->")].strip()
    printed = about_markdown()
    assert table == printed[printed.index("| setting |") :].strip()
