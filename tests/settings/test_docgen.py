"""docs/configuration.md is generated from the models and must not go stale."""

from pathlib import Path

from ptycho_settings.docgen import render_configuration_markdown
from ptycho_settings.fields import field_section

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_configuration_reference_is_current():
    assert DOC.read_text(encoding="utf-8") == render_configuration_markdown(), (
        "docs/configuration.md is stale: run `python -m ptycho_settings.docgen docs/configuration.md`"
    )


def test_every_field_is_documented_with_its_environment_name():
    text = render_configuration_markdown()
    for field in field_section("any"):
        assert f"| `{field}` |" in text and f"`PTYCHO_{field.upper()}`" in text
