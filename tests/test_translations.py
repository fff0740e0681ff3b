"""Every text the integration shows exists in English and Swedish."""

from __future__ import annotations

import json
from pathlib import Path
import re
import string
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import yaml

from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv, entity_registry as er

from custom_components.ev_sessions.sources.base import SOURCE_ERROR_REASONS

from .conftest import setup_entry

PACKAGE = Path(__file__).parent.parent / "custom_components" / "ev_sessions"
LANGUAGES = ("en", "sv")


def _load(language: str) -> dict[str, Any]:
    return json.loads((PACKAGE / "translations" / f"{language}.json").read_text(encoding="utf-8"))


def _keys(tree: dict[str, Any], prefix: str = "") -> set[str]:
    found: set[str] = set()
    for key, value in tree.items():
        found |= _keys(value, f"{prefix}{key}.") if isinstance(value, dict) else {prefix + key}
    return found


def _source() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in PACKAGE.rglob("*.py"))


def test_swedish_has_every_english_key() -> None:
    assert _keys(_load("en")) == _keys(_load("sv"))


@pytest.mark.parametrize("language", LANGUAGES)
def test_exceptions_and_flow_errors_are_translated(language: str) -> None:
    strings = _load(language)
    source = _source()
    exceptions = re.findall(r'translation_key="([a-z_]+)"', source)
    errors = re.findall(r'errors\[[A-Z_]+\] = "([a-z_]+)"', source)
    aborts = re.findall(r'AbortFlow\("([a-z_]+)"\)', source)
    assert len(exceptions) >= 6
    assert len(errors) >= 2
    assert aborts
    for key in exceptions:
        assert key in strings["exceptions"] or key in strings["selector"], key
    for key in errors:
        assert key in strings["config"]["error"] or key in strings["options"]["error"], key
    for key in aborts:
        assert key in strings["config"]["abort"], key
    # Reasons carried by exceptions: refused exports, unreadable price entities.
    refusals = re.findall(r'ExportRefusedError\("([a-z_]+)"\)', source)
    assert len(refusals) >= 3
    for key in refusals:
        assert set(_placeholders(strings["exceptions"][key]["message"])) <= {"path", "folder"}
    price_reasons = re.findall(r'PriceShapeError\(\s*"([a-z_]+)"', source)
    assert len(price_reasons) >= 6
    form_placeholders = {"currency", "unit", "value", "platform", "keys"}
    for reason in price_reasons:
        message = strings["options"]["error"][f"price_{reason}"]
        assert set(_placeholders(message)) <= form_placeholders, reason


def _placeholders(text: str) -> list[str]:
    return re.findall(r"\{([a-z_]+)\}", text)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_action_field_is_translated(language: str) -> None:
    strings = _load(language)["services"]
    services = yaml.safe_load((PACKAGE / "services.yaml").read_text(encoding="utf-8"))
    icons = json.loads((PACKAGE / "icons.json").read_text(encoding="utf-8"))["services"]
    assert set(services) == set(strings) == set(icons)
    for name, spec in services.items():
        assert set(spec["fields"]) == set(strings[name]["fields"])


async def test_every_entity_has_a_name_and_icon_in_both_languages(
    hass: HomeAssistant, simulator_entry: MockConfigEntry, entities_entry: MockConfigEntry
) -> None:
    await setup_entry(hass, simulator_entry)
    await setup_entry(hass, entities_entry)
    icons = json.loads((PACKAGE / "icons.json").read_text(encoding="utf-8"))["entity"]
    entries = [e for e in er.async_get(hass).entities.values() if e.platform == "ev_sessions"]
    assert len(entries) > 20
    for language in LANGUAGES:
        strings = _load(language)["entity"]
        for entry in entries:
            assert entry.translation_key in strings[entry.domain], entry.entity_id
            assert strings[entry.domain][entry.translation_key]["name"]
    for entry in entries:
        has_device_class_icon = entry.original_device_class is not None
        assert has_device_class_icon or entry.translation_key in icons.get(entry.domain, {}), (
            entry.entity_id
        )


def _values(tree: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for key, value in tree.items():
        if isinstance(value, dict):
            found += _values(value, f"{prefix}{key}.")
        else:
            found.append((prefix + key, value))
    return found


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_passes_home_assistants_rules(language: str) -> None:
    """hassfest's rules for translation values (script/hassfest/translations.py).

    No HTML (the frontend shows "Translation error: INVALID_TAG" instead), no placeholder in
    single quotes, placeholders that are identifiers, no surrounding spaces, no http(s) URLs.
    """
    url = re.compile(r"((ftp|ftps|scp|http|https|mqtt|mqtts|socket|socks5)://|www\.)", re.I)
    formatter = string.Formatter()
    values = _values(_load(language))
    assert len(values) > 200
    for key, value in values:
        cv.string_with_no_html(value)  # raises vol.Invalid
        assert not re.search(r"'{\w+}'", value), key
        for _, field, _, _ in formatter.parse(value):
            assert field is None or field.isidentifier(), key
        assert value == value.strip(), key
        assert not url.search(value), key


def test_placeholders_match_between_languages_and_braces_balance() -> None:
    """Every Swedish string has the English string's placeholders, and braces pair up.

    Home Assistant's frontend formats strings as ICU messages: an unpaired brace is a
    syntax error and the user sees the raw key instead of the text.
    """
    english = dict(_values(_load("en")))
    swedish = dict(_values(_load("sv")))
    for key, value in english.items():
        assert set(re.findall(r"{(\w+)}", value)) == set(re.findall(r"{(\w+)}", swedish[key])), key
    for key, value in [*english.items(), *swedish.items()]:
        depth = 0
        for char in value:
            depth += {"{": 1, "}": -1}.get(char, 0)
            assert 0 <= depth <= 1, key  # no stray closing brace, no nesting (no ICU plurals)
        assert depth == 0, key


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_wallbox_error_reason_is_translated(language: str) -> None:
    """A wallbox that cannot be read or refuses a command is told in the user's language."""
    exceptions = _load(language)["exceptions"]
    source = _source()
    used = set(
        re.findall(r'(?:SourceError|SourceAuthError|OcppCommandError)\([^()]*?"([a-z_]+)",', source)
    )
    used |= set(re.findall(r'\n\s+"([a-z_]+)",\n\s+(?:name|answer|port)=', source))
    assert used <= set(SOURCE_ERROR_REASONS), used - set(SOURCE_ERROR_REASONS)
    assert len(used) >= 8
    for reason in SOURCE_ERROR_REASONS:
        for prefix in ("source", "command"):
            message = exceptions[f"{prefix}_{reason}"]["message"]
            assert set(_placeholders(message)) <= {"name", "answer", "port"}, reason
