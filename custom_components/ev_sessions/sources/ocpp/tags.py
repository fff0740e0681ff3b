"""Who charges: the id tags of a shared charger's users, and whether unknown tags may charge."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...const import CONF_ACCEPT_UNKNOWN_TAGS, CONF_ID_TAGS
from .const import REMOTE_ID_TAG


class IdTags:
    """The users' id tags; tags ignore case (as OCPP says), and a KEBA suffix is ignored."""

    def __init__(self) -> None:
        """No users; unknown tags may charge."""
        self.id_tags: dict[str, str] = {}
        self._names: dict[str, str] = {}
        self.accept_unknown = True

    def set(self, options: Mapping[str, Any]) -> None:
        """Id tags and their names; whether unknown tags may charge."""
        self.id_tags = {str(k): str(v) for k, v in (options.get(CONF_ID_TAGS) or {}).items()}
        self._names = {tag.casefold(): name for tag, name in self.id_tags.items()}
        self.accept_unknown = bool(options.get(CONF_ACCEPT_UNKNOWN_TAGS, True))

    def name(self, id_tag: str) -> str | None:
        """The registered name of a tag.

        KEBA sends a card as ``12345678_<suffix>`` (the suffix from its serial number): a card
        registered as ``12345678`` is that card.
        """
        key = id_tag.casefold()
        if (name := self._names.get(key)) is not None:
            return name
        base, separator, _suffix = key.rpartition("_")
        return self._names.get(base) if separator and base else None

    def user_of(self, id_tag: str | None) -> str | None:
        """The name an id tag maps to (the tag itself when it has none)."""
        if not id_tag:
            return None
        return self.name(id_tag) or id_tag

    def authorize(self, id_tag: str | None) -> str:
        """Accepted or Invalid, by the users' option."""
        known = id_tag is None or id_tag == REMOTE_ID_TAG or self.name(id_tag) is not None
        return "Accepted" if known or self.accept_unknown else "Invalid"
