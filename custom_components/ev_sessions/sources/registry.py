"""The kinds of wallbox, by the ``source`` key of a config entry."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from homeassistant.core import HomeAssistant

from ..const import (
    CONF_SOURCE,
    SOURCE_ENTITIES,
    SOURCE_GOE,
    SOURCE_OCPP,
    SOURCE_OPENEVSE,
    SOURCE_SIMULATOR,
    SOURCE_TESLA_WALL_CONNECTOR,
)
from . import entities, goe, ocpp, openevse, simulator, tesla_wall_connector
from .base import Source

FACTORIES: dict[str, Callable[[HomeAssistant, Mapping[str, Any]], Source]] = {
    SOURCE_ENTITIES: entities.create,
    SOURCE_SIMULATOR: simulator.create,
    SOURCE_TESLA_WALL_CONNECTOR: tesla_wall_connector.create,
    SOURCE_GOE: goe.create,
    SOURCE_OPENEVSE: openevse.create,
    SOURCE_OCPP: ocpp.create,
}


def create_source(hass: HomeAssistant, data: Mapping[str, Any]) -> Source:
    """Build the source a config entry describes."""
    return FACTORIES[data[CONF_SOURCE]](hass, data)
