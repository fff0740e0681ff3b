"""Config and options flows of EV Sessions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
import socket
import ssl
from typing import Any

import voluptuous as vol

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.const import (
    ATTR_UNIT_OF_MEASUREMENT,
    CONF_HOST,
    CONF_PASSWORD,
    CONF_PORT,
    CONF_USERNAME,
    PERCENTAGE,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import AbortFlow, section
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    BooleanSelector,
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
    TimeSelector,
)
from homeassistant.helpers.service_info.dhcp import DhcpServiceInfo
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo
from homeassistant.util import dt as dt_util

from .const import (
    CHARGING_MODES,
    CONF_ACCEPT_UNKNOWN_TAGS,
    CONF_BATTERY_CAPACITY_KWH,
    CONF_CHARGE_POINT_ID,
    CONF_CHARGING_MODE,
    CONF_CHARGING_STATES,
    CONF_CHARGING_SWITCH_ENTITY,
    CONF_CONNECTED_ENTITY,
    CONF_CONNECTED_STATES,
    CONF_CURRENT_LIMIT_ENTITY,
    CONF_DEPARTURE_TIME,
    CONF_ENERGY_ENTITY,
    CONF_ENERGY_TAX,
    CONF_ERROR_STATES,
    CONF_FIXED_PRICE,
    CONF_GRACE_PERIOD_MIN,
    CONF_GRID_FEE,
    CONF_GRID_FEE_HIGH,
    CONF_GRID_FEE_LOW,
    CONF_HIGH_LOAD_END,
    CONF_HIGH_LOAD_MONTHS,
    CONF_HIGH_LOAD_SKIP_HOLIDAYS,
    CONF_HIGH_LOAD_START,
    CONF_HOURLY_SETTLEMENT,
    CONF_HOUSE_CURRENT_ENTITIES,
    CONF_HOUSE_POWER_ENTITY,
    CONF_ID_TAGS,
    CONF_LOW_LOAD_END,
    CONF_LOW_LOAD_MONTHS,
    CONF_LOW_LOAD_START,
    CONF_MAIN_FUSE_A,
    CONF_MARKUP,
    CONF_MAX_POWER_KW,
    CONF_PHASES,
    CONF_POWER_ENTITY,
    CONF_POWER_FEE_NIGHT_WEIGHT,
    CONF_POWER_FEE_ONE_PER_DAY,
    CONF_POWER_FEE_PEAKS,
    CONF_POWER_FEE_PER_KW,
    CONF_POWER_THRESHOLD_W,
    CONF_PRICE_ENTITY,
    CONF_PRICE_INCLUDES_VAT,
    CONF_SAFETY_MARGIN_A,
    CONF_SESSION_FEE,
    CONF_SOC_ENTITY,
    CONF_SOURCE,
    CONF_SSL_CERTIFICATE,
    CONF_SSL_KEY,
    CONF_TARGET_ENERGY_KWH,
    CONF_TARGET_SOC,
    CONF_VAT_PERCENT,
    DEFAULT_BATTERY_CAPACITY_KWH,
    DEFAULT_GRACE_PERIOD_MIN,
    DEFAULT_MAX_POWER_KW,
    DEFAULT_OCPP_PORT,
    DEFAULT_PHASES,
    DEFAULT_POWER_THRESHOLD_W,
    DEFAULT_SAFETY_MARGIN_A,
    DOMAIN,
    MODE_IMMEDIATE,
    SECTION_GRID,
    SECTION_POWER_FEE,
    SECTION_SESSION_DETECTION,
    SECTION_TIME_OF_USE,
    SOURCE_ENTITIES,
    SOURCE_GOE,
    SOURCE_OCPP,
    SOURCE_OPENEVSE,
    SOURCE_SIMULATOR,
    SOURCE_TESLA_WALL_CONNECTOR,
    SOURCES,
    TARIFF_KEYS,
    TARIFF_SECTIONS,
)
from .model.prices import PriceShapeError
from .model.tariff import WEEKDAYS
from .model.units import ENERGY_UNITS, POWER_UNITS
from .pricing import action_platform, read_price_attributes
from .sources.base import SourceError
from .sources.http import HTTP_WALLBOXES, AuthHeaders, SourceAuthError, async_get_json
from .sources.ocpp.server import SERVERS, load_ssl_context
from .sources.openevse import credentials


def _number(low: float, high: float, step: float, unit: str) -> NumberSelector:
    return NumberSelector(
        NumberSelectorConfig(
            min=low, max=high, step=step, unit_of_measurement=unit, mode=NumberSelectorMode.BOX
        )
    )


def _entity(*domains: str) -> EntitySelector:
    return EntitySelector(EntitySelectorConfig(domain=list(domains)))


ENTITIES_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_POWER_ENTITY): _entity("sensor"),
        vol.Optional(CONF_ENERGY_ENTITY): _entity("sensor"),
        vol.Optional(CONF_CONNECTED_ENTITY): _entity("binary_sensor", "sensor"),
        vol.Optional(CONF_CHARGING_SWITCH_ENTITY): _entity("switch", "input_boolean"),
        vol.Optional(CONF_CURRENT_LIMIT_ENTITY): _entity("number", "input_number"),
        vol.Optional(CONF_SOC_ENTITY): _entity("sensor"),
    }
)

SIMULATOR_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_MAX_POWER_KW, default=DEFAULT_MAX_POWER_KW): _number(1, 50, 0.1, "kW"),
        vol.Required(CONF_PHASES, default=str(DEFAULT_PHASES)): SelectSelector(
            SelectSelectorConfig(options=["1", "3"], translation_key=CONF_PHASES)
        ),
        vol.Required(CONF_BATTERY_CAPACITY_KWH, default=DEFAULT_BATTERY_CAPACITY_KWH): _number(
            10, 250, 1, "kWh"
        ),
    }
)

_AUTH_SCHEMA = vol.Schema(
    {
        vol.Optional(CONF_USERNAME): TextSelector(),
        vol.Optional(CONF_PASSWORD): TextSelector(
            TextSelectorConfig(type=TextSelectorType.PASSWORD)
        ),
    }
)

_OPTIONAL_OPTIONS = (
    CONF_TARGET_SOC,
    CONF_BATTERY_CAPACITY_KWH,
    CONF_TARGET_ENERGY_KWH,
    CONF_DEPARTURE_TIME,
)


def _unit(hass: HomeAssistant, entity_id: str) -> tuple[bool, str | None]:
    """Whether an entity exists, and its unit of measurement."""
    if (state := hass.states.get(entity_id)) is not None:
        return True, state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)
    if (entry := er.async_get(hass).async_get(entity_id)) is not None:
        return True, entry.unit_of_measurement
    return False, None


def _validate_entities(hass: HomeAssistant, data: Mapping[str, Any]) -> dict[str, str]:
    """Errors per field: missing entities and incompatible units."""
    expected_units: dict[str, tuple[frozenset[str] | None, str]] = {
        CONF_POWER_ENTITY: (POWER_UNITS, "not_power"),
        CONF_ENERGY_ENTITY: (ENERGY_UNITS, "not_energy"),
        CONF_CONNECTED_ENTITY: (None, ""),
        CONF_CHARGING_SWITCH_ENTITY: (None, ""),
        CONF_CURRENT_LIMIT_ENTITY: (None, ""),
        CONF_SOC_ENTITY: (frozenset({PERCENTAGE}), "not_soc"),
    }
    errors: dict[str, str] = {}
    for field, (units, error) in expected_units.items():
        if not (entity_id := data.get(field)):
            continue
        exists, unit = _unit(hass, entity_id)
        if not exists:
            errors[field] = "entity_not_found"
        elif units is not None and unit not in units:
            errors[field] = error
    return errors


def _entities_unique_id(hass: HomeAssistant, power_entity: str) -> str:
    """Stable across entity renames when the power sensor is in the registry."""
    entry = er.async_get(hass).async_get(power_entity)
    return f"{SOURCE_ENTITIES}_{entry.id if entry else power_entity}"


def _entities_title(hass: HomeAssistant, power_entity: str) -> str:
    """The wallbox's device name, else the power sensor's name."""
    entry = er.async_get(hass).async_get(power_entity)
    device = dr.async_get(hass).async_get(entry.device_id) if entry and entry.device_id else None
    if device is not None:
        return device.name_by_user or device.name or power_entity
    state = hass.states.get(power_entity)
    return state.name if state is not None else power_entity


class EvSessionsConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add a wallbox: pick the source, then describe it."""

    VERSION = 1

    def __init__(self) -> None:
        """Start empty."""
        self._data: dict[str, Any] = {}
        self._title = ""

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> EvSessionsOptionsFlow:
        """Preferences and session detection."""
        return EvSessionsOptionsFlow()

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Pick the kind of wallbox."""
        return self.async_show_menu(step_id="user", menu_options=list(SOURCES))

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the entities or settings of a wallbox."""
        source = self._get_reconfigure_entry().data[CONF_SOURCE]
        if source == SOURCE_SIMULATOR:
            return await self.async_step_simulator()
        if source in HTTP_WALLBOXES:
            return await self._async_step_http(source, None)
        if source == SOURCE_OCPP:
            return await self.async_step_ocpp()
        return await self.async_step_entities()

    def _current(self) -> Mapping[str, Any]:
        if self.source == SOURCE_RECONFIGURE:
            return self._get_reconfigure_entry().data
        return self._data  # what discovery found, or nothing

    async def _claim(self, unique_id: str) -> None:
        """Take the unique id; abort if another entry has it."""
        existing = await self.async_set_unique_id(unique_id)
        if existing is not None and (
            self.source != SOURCE_RECONFIGURE
            or existing.entry_id != self._get_reconfigure_entry().entry_id
        ):
            raise AbortFlow("already_configured")

    def _finish(self) -> ConfigFlowResult:
        if self.source == SOURCE_RECONFIGURE:
            return self.async_update_reload_and_abort(
                self._get_reconfigure_entry(), unique_id=self.unique_id, data=self._data
            )
        return self.async_create_entry(title=self._title, data=self._data)

    async def async_step_entities(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The entities of a wallbox already in Home Assistant."""
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = _validate_entities(self.hass, user_input)
            if not errors:
                power = user_input[CONF_POWER_ENTITY]
                await self._claim(_entities_unique_id(self.hass, power))
                self._data = {CONF_SOURCE: SOURCE_ENTITIES, **user_input}
                self._title = _entities_title(self.hass, power)
                connected = user_input.get(CONF_CONNECTED_ENTITY)
                if connected is not None and not connected.startswith("binary_sensor."):
                    return await self.async_step_connection_states()
                return self._finish()
        return self.async_show_form(
            step_id="entities",
            data_schema=self.add_suggested_values_to_schema(
                ENTITIES_SCHEMA, user_input or self._current()
            ),
            errors=errors,
        )

    async def async_step_connection_states(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Which states of the status sensor mean connected, charging or error."""
        errors: dict[str, str] = {}
        if user_input is not None:
            if user_input.get(CONF_CONNECTED_STATES) or user_input.get(CONF_CHARGING_STATES):
                self._data.update(user_input)
                return self._finish()
            errors[CONF_CONNECTED_STATES] = "no_connected_states"
        entity_id = self._data[CONF_CONNECTED_ENTITY]
        known: list[str] = []
        if (state := self.hass.states.get(entity_id)) is not None:
            known = [str(option) for option in state.attributes.get("options") or []]
            if state.state not in known:
                known.append(state.state)
        for key in (CONF_CONNECTED_STATES, CONF_CHARGING_STATES, CONF_ERROR_STATES):
            known.extend(value for value in self._current().get(key, ()) if value not in known)
        choice = SelectSelector(
            SelectSelectorConfig(
                options=known, multiple=True, custom_value=True, mode=SelectSelectorMode.DROPDOWN
            )
        )
        schema = vol.Schema(
            {
                vol.Optional(CONF_CONNECTED_STATES): choice,
                vol.Optional(CONF_CHARGING_STATES): choice,
                vol.Optional(CONF_ERROR_STATES): choice,
            }
        )
        return self.async_show_form(
            step_id="connection_states",
            data_schema=self.add_suggested_values_to_schema(schema, user_input or self._current()),
            errors=errors,
            description_placeholders={"entity_id": entity_id},
        )

    async def async_step_tesla_wall_connector(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A Tesla Wall Connector (gen 3) on the local network."""
        return await self._async_step_http(SOURCE_TESLA_WALL_CONNECTOR, user_input)

    async def async_step_openevse(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """An OpenEVSE on the local network (with HTTP credentials if it has them)."""
        return await self._async_step_http(SOURCE_OPENEVSE, user_input)

    async def async_step_goe(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """A go-eCharger with its local HTTP API v2 enabled."""
        return await self._async_step_http(SOURCE_GOE, user_input)

    async def _async_probe(self, source: str, host: str, auth: AuthHeaders | None) -> str:
        """Ask the wallbox who it is: the unique id, or SourceError if it is not one."""
        kind = HTTP_WALLBOXES[source]
        answer = await async_get_json(async_get_clientsession(self.hass), host, kind.path, auth)
        serial = answer.get(kind.serial_key)
        if serial not in (None, ""):
            return f"{source}_{serial}"
        if kind.fallback_key is not None and kind.fallback_key in answer:
            # Old firmware without a serial: the address is all there is.
            return f"{source}_{host}"
        raise SourceError(f"{host}{kind.path}: no {kind.serial_key}")

    async def _async_step_http(
        self, source: str, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        """A wallbox with a local HTTP API: test the connection, and use its serial."""
        kind = HTTP_WALLBOXES[source]
        errors: dict[str, str] = {}
        if user_input is not None:
            host = user_input[CONF_HOST].strip()
            auth = credentials(user_input)
            try:
                unique_id = await self._async_probe(source, host, auth)
            except SourceAuthError:
                errors[CONF_PASSWORD] = "invalid_auth"
            except SourceError:
                errors[CONF_HOST] = "cannot_connect"
            else:
                if self.source == SOURCE_RECONFIGURE and not unique_id.endswith(f"_{host}"):
                    await self.async_set_unique_id(unique_id)
                    self._abort_if_unique_id_mismatch(reason="another_device")
                else:
                    await self._claim(unique_id)
                self._data = {CONF_SOURCE: source, CONF_HOST: host}
                if auth is not None:
                    self._data |= {
                        CONF_USERNAME: user_input[CONF_USERNAME],
                        CONF_PASSWORD: user_input.get(CONF_PASSWORD, ""),
                    }
                self._title = kind.title
                return self._finish()
        schema = vol.Schema({vol.Required(CONF_HOST): TextSelector()})
        if kind.with_auth:
            schema = schema.extend(_AUTH_SCHEMA.schema)
        return self.async_show_form(
            step_id=source,
            data_schema=self.add_suggested_values_to_schema(schema, user_input or self._current()),
            errors=errors,
        )

    async def async_step_zeroconf(self, discovery_info: ZeroconfServiceInfo) -> ConfigFlowResult:
        """An OpenEVSE announced itself (``_openevse._tcp``)."""
        return await self._async_discovered(SOURCE_OPENEVSE, discovery_info.host)

    async def async_step_dhcp(self, discovery_info: DhcpServiceInfo) -> ConfigFlowResult:
        """A Tesla Wall Connector asked for an address (host name ``teslawallconnector_*``)."""
        return await self._async_discovered(SOURCE_TESLA_WALL_CONNECTOR, discovery_info.ip)

    async def _async_discovered(self, source: str, host: str) -> ConfigFlowResult:
        """Identify a discovered wallbox; follow it to a new address if already set up."""
        kind = HTTP_WALLBOXES[source]
        self._async_abort_entries_match({CONF_HOST: host})
        self._title = kind.title
        self._data = {CONF_SOURCE: source, CONF_HOST: host}
        self.context["title_placeholders"] = {"name": kind.title, "host": host}
        try:
            unique_id = await self._async_probe(source, host, None)
        except SourceAuthError:
            # It wants its login before it says who it is: ask on its own form.
            return await self._async_step_http(source, None)
        except SourceError:
            return self.async_abort(reason="cannot_connect")
        await self.async_set_unique_id(unique_id)
        self._abort_if_unique_id_configured(updates={CONF_HOST: host})
        return await self.async_step_discovery_confirm()

    async def async_step_discovery_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Let the user accept a discovered wallbox."""
        return self._confirm("discovery_confirm", user_input, host=self._data[CONF_HOST])

    def _confirm(
        self, step_id: str, user_input: dict[str, Any] | None, **placeholders: str
    ) -> ConfigFlowResult:
        """Create the discovered entry once the user confirms it."""
        if user_input is not None:
            return self._finish()
        self._set_confirm_only()
        return self.async_show_form(
            step_id=step_id, description_placeholders={"name": self._title, **placeholders}
        )

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """The wallbox refused the stored credentials."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the new username and password."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            login = {
                CONF_USERNAME: user_input.get(CONF_USERNAME, ""),
                CONF_PASSWORD: user_input.get(CONF_PASSWORD, ""),
            }
            try:
                await async_get_json(
                    async_get_clientsession(self.hass),
                    entry.data[CONF_HOST],
                    HTTP_WALLBOXES[entry.data[CONF_SOURCE]].path,
                    credentials(login),
                )
            except SourceAuthError:
                errors[CONF_PASSWORD] = "invalid_auth"
            except SourceError:
                errors["base"] = "cannot_connect"
            else:
                return self.async_update_reload_and_abort(entry, data_updates=login)
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=self.add_suggested_values_to_schema(
                _AUTH_SCHEMA, {CONF_USERNAME: entry.data.get(CONF_USERNAME)}
            ),
            errors=errors,
            description_placeholders={"host": entry.data[CONF_HOST]},
        )

    async def async_step_ocpp(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """A charge point that will connect to Home Assistant as its OCPP central system."""
        errors: dict[str, str] = {}
        if user_input is not None:
            values = {k: v.strip() if isinstance(v, str) else v for k, v in user_input.items()}
            errors = await self._validate_ocpp(values)
            if not errors:
                charge_point_id = values[CONF_CHARGE_POINT_ID]
                await self._claim(f"{SOURCE_OCPP}_{charge_point_id}")
                self._data = {
                    CONF_SOURCE: SOURCE_OCPP,
                    CONF_CHARGE_POINT_ID: charge_point_id,
                    CONF_PORT: int(values[CONF_PORT]),
                } | {
                    key: values[key]
                    for key in (CONF_PASSWORD, CONF_SSL_CERTIFICATE, CONF_SSL_KEY)
                    if values.get(key)
                }
                self._title = charge_point_id
                return self._finish()
        return self.async_show_form(
            step_id="ocpp",
            data_schema=self.add_suggested_values_to_schema(
                OCPP_SCHEMA, user_input or self._current()
            ),
            errors=errors,
        )

    async def _validate_ocpp(self, values: Mapping[str, Any]) -> dict[str, str]:
        """Errors per field: id, certificate files and the port."""
        charge_point_id = values.get(CONF_CHARGE_POINT_ID, "")
        certificate = values.get(CONF_SSL_CERTIFICATE)
        key = values.get(CONF_SSL_KEY)
        port = int(values[CONF_PORT])
        if not charge_point_id or "/" in charge_point_id or " " in charge_point_id:
            return {CONF_CHARGE_POINT_ID: "invalid_charge_point_id"}
        if bool(certificate) != bool(key):
            return {CONF_SSL_KEY if certificate else CONF_SSL_CERTIFICATE: "certificate_and_key"}
        if certificate and key:
            try:
                await self.hass.async_add_executor_job(load_ssl_context, certificate, key)
            except (OSError, ssl.SSLError):
                return {CONF_SSL_CERTIFICATE: "invalid_certificate"}
        reconfigured = (
            self._get_reconfigure_entry().data.get(CONF_PORT)
            if self.source == SOURCE_RECONFIGURE
            else None
        )
        if (
            port not in self.hass.data.get(SERVERS, {})
            and port != reconfigured
            and not await self.hass.async_add_executor_job(_port_free, port)
        ):
            return {CONF_PORT: "port_in_use"}
        return {}

    async def async_step_integration_discovery(
        self, discovery_info: dict[str, Any]
    ) -> ConfigFlowResult:
        """An unknown charge point knocked on the central system."""
        charge_point_id = str(discovery_info[CONF_CHARGE_POINT_ID])
        await self.async_set_unique_id(f"{SOURCE_OCPP}_{charge_point_id}")
        self._abort_if_unique_id_configured()
        self._data = {
            CONF_SOURCE: SOURCE_OCPP,
            CONF_CHARGE_POINT_ID: charge_point_id,
            CONF_PORT: int(discovery_info[CONF_PORT]),
        }
        self._title = charge_point_id
        self.context["title_placeholders"] = {
            "name": charge_point_id,
            "host": f"OCPP, port {self._data[CONF_PORT]}",
        }
        return await self.async_step_ocpp_confirm()

    async def async_step_ocpp_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Let the user accept the charge point (a password can be added by reconfiguring)."""
        return self._confirm("ocpp_confirm", user_input, port=str(self._data[CONF_PORT]))

    async def async_step_simulator(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A simulated wallbox and car."""
        if user_input is not None:
            await self._claim(SOURCE_SIMULATOR)
            self._data = {
                CONF_SOURCE: SOURCE_SIMULATOR,
                CONF_MAX_POWER_KW: float(user_input[CONF_MAX_POWER_KW]),
                CONF_PHASES: int(user_input[CONF_PHASES]),
                CONF_BATTERY_CAPACITY_KWH: float(user_input[CONF_BATTERY_CAPACITY_KWH]),
            }
            self._title = "Simulated wallbox"
            return self._finish()
        current = dict(self._current())
        if CONF_PHASES in current:
            current[CONF_PHASES] = str(current[CONF_PHASES])
        return self.async_show_form(
            step_id="simulator",
            data_schema=self.add_suggested_values_to_schema(SIMULATOR_SCHEMA, current),
        )


class EvSessionsOptionsFlow(OptionsFlow):
    """Preferences, tariff and session detection."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Pick what to change."""
        menu = ["preferences", "tariff", "power"]
        if self.config_entry.data[CONF_SOURCE] == SOURCE_OCPP:
            menu.append("users")
        return self.async_show_menu(step_id="init", menu_options=menu)

    async def async_step_users(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Id tags (RFID cards) and the names of their users; whether unknown tags may charge."""
        errors: dict[str, str] = {}
        if user_input is not None:
            tags = parse_id_tags(user_input.get(CONF_ID_TAGS, ""))
            if tags is None:
                errors[CONF_ID_TAGS] = "invalid_id_tags"
            else:
                return self._save(
                    {
                        CONF_ID_TAGS: tags,
                        CONF_ACCEPT_UNKNOWN_TAGS: bool(user_input[CONF_ACCEPT_UNKNOWN_TAGS]),
                    },
                    (),
                )
        options = self.config_entry.options
        suggested = user_input or {
            CONF_ID_TAGS: "\n".join(
                f"{tag} = {name}" for tag, name in (options.get(CONF_ID_TAGS) or {}).items()
            ),
            CONF_ACCEPT_UNKNOWN_TAGS: options.get(CONF_ACCEPT_UNKNOWN_TAGS, True),
        }
        schema = vol.Schema(
            {
                vol.Optional(CONF_ID_TAGS): TextSelector(TextSelectorConfig(multiline=True)),
                vol.Required(CONF_ACCEPT_UNKNOWN_TAGS, default=True): BooleanSelector(),
            }
        )
        return self.async_show_form(
            step_id="users",
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            errors=errors,
        )

    def _save(self, values: Mapping[str, Any], keys: Iterable[str]) -> ConfigFlowResult:
        """Store values, dropping the given optional keys that were left empty."""
        options = {k: v for k, v in self.config_entry.options.items() if k not in keys}
        return self.async_create_entry(data={**options, **values})

    async def async_step_preferences(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Target, departure, mode, power limit and session detection."""
        entry = self.config_entry
        has_soc = entry.data.get(CONF_SOC_ENTITY) is not None
        errors: dict[str, str] = {}
        if user_input is not None:
            values = _flatten(user_input)
            if values.get(CONF_TARGET_SOC) is not None and not values.get(
                CONF_BATTERY_CAPACITY_KWH
            ):
                errors[CONF_BATTERY_CAPACITY_KWH] = "capacity_required"
            else:
                return self._save(values, _OPTIONAL_OPTIONS)
        schema: dict[Any, Any] = {
            # Left empty, the learned (or default) target and departure apply.
            vol.Optional(CONF_TARGET_ENERGY_KWH): _number(0, 200, 0.5, "kWh"),
            vol.Optional(CONF_DEPARTURE_TIME): TimeSelector(),
            vol.Required(CONF_CHARGING_MODE, default=MODE_IMMEDIATE): SelectSelector(
                SelectSelectorConfig(
                    options=list(CHARGING_MODES), translation_key=CONF_CHARGING_MODE
                )
            ),
            vol.Required(CONF_MAX_POWER_KW, default=DEFAULT_MAX_POWER_KW): _number(
                1, 50, 0.1, "kW"
            ),
        }
        if has_soc:
            schema[vol.Optional(CONF_TARGET_SOC)] = _number(1, 100, 1, PERCENTAGE)
            schema[vol.Optional(CONF_BATTERY_CAPACITY_KWH)] = _number(5, 250, 0.5, "kWh")
        schema[vol.Required(SECTION_SESSION_DETECTION)] = section(
            vol.Schema(
                {
                    vol.Required(
                        CONF_POWER_THRESHOLD_W, default=DEFAULT_POWER_THRESHOLD_W
                    ): _number(10, 2000, 10, "W"),
                    vol.Required(CONF_GRACE_PERIOD_MIN, default=DEFAULT_GRACE_PERIOD_MIN): _number(
                        0, 120, 1, "min"
                    ),
                }
            ),
            {"collapsed": True},
        )
        suggested = _nest(entry.options, {SECTION_SESSION_DETECTION: DETECTION_KEYS})
        return self.async_show_form(
            step_id="preferences",
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema(schema), user_input or suggested
            ),
            errors=errors,
        )

    async def async_step_tariff(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Price source, grid fees, taxes, time of use and power fee."""
        errors: dict[str, str] = {}
        placeholders = {"currency": self.hass.config.currency, "error": ""}
        if user_input is not None:
            values = _flatten(user_input)
            errors = _validate_tariff(self.hass, values, placeholders)
            if not errors:
                return self._save(values, TARIFF_KEYS)
        return self.async_show_form(
            step_id="tariff",
            data_schema=self.add_suggested_values_to_schema(
                _tariff_schema(self.hass.config.currency),
                user_input or _nest(self.config_entry.options, TARIFF_SECTIONS),
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_power(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Main fuse, phases and the household's meters, for the load guard."""
        errors: dict[str, str] = {}
        if user_input is not None:
            values = dict(user_input)
            values[CONF_PHASES] = int(values[CONF_PHASES])
            errors = _validate_power(self.hass, values)
            if not errors:
                return self._save(values, POWER_KEYS)
        suggested = dict(self.config_entry.options)
        if CONF_PHASES in suggested:
            suggested[CONF_PHASES] = str(suggested[CONF_PHASES])
        schema = vol.Schema(
            {
                vol.Optional(CONF_MAIN_FUSE_A): _number(6, 250, 1, "A"),
                vol.Required(CONF_PHASES, default="3"): SelectSelector(
                    SelectSelectorConfig(options=["1", "3"], translation_key=CONF_PHASES)
                ),
                vol.Optional(CONF_HOUSE_CURRENT_ENTITIES): EntitySelector(
                    EntitySelectorConfig(domain="sensor", multiple=True)
                ),
                vol.Optional(CONF_HOUSE_POWER_ENTITY): _entity("sensor"),
                vol.Required(CONF_SAFETY_MARGIN_A, default=DEFAULT_SAFETY_MARGIN_A): _number(
                    0, 20, 0.5, "A"
                ),
            }
        )
        return self.async_show_form(
            step_id="power",
            data_schema=self.add_suggested_values_to_schema(schema, user_input or suggested),
            errors=errors,
        )


OCPP_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_CHARGE_POINT_ID): TextSelector(),
        vol.Required(CONF_PORT, default=DEFAULT_OCPP_PORT): NumberSelector(
            NumberSelectorConfig(min=1, max=65535, step=1, mode=NumberSelectorMode.BOX)
        ),
        vol.Optional(CONF_PASSWORD): TextSelector(
            TextSelectorConfig(type=TextSelectorType.PASSWORD)
        ),
        vol.Optional(CONF_SSL_CERTIFICATE): TextSelector(),
        vol.Optional(CONF_SSL_KEY): TextSelector(),
    }
)


def _port_free(port: int) -> bool:
    """Whether nothing listens on a TCP port (blocking: run in the executor)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("", port))
        except OSError:
            return False
    return True


def parse_id_tags(text: str) -> dict[str, str] | None:
    """``TAG = Name`` per line (``:`` works too); None when a line is not like that."""
    tags: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        separator = "=" if "=" in line else ":"
        tag, found, name = line.partition(separator)
        tag, name = tag.strip(), name.strip()
        if not found or not tag or not name or tag in tags:
            return None
        tags[tag] = name
    return tags


POWER_KEYS = (
    CONF_MAIN_FUSE_A,
    CONF_PHASES,
    CONF_HOUSE_CURRENT_ENTITIES,
    CONF_HOUSE_POWER_ENTITY,
    CONF_SAFETY_MARGIN_A,
)
DETECTION_KEYS = (CONF_POWER_THRESHOLD_W, CONF_GRACE_PERIOD_MIN)


def _validate_power(hass: HomeAssistant, values: Mapping[str, Any]) -> dict[str, str]:
    """Errors per field for the household's meters."""
    errors: dict[str, str] = {}
    currents = values.get(CONF_HOUSE_CURRENT_ENTITIES) or []
    if len(currents) > values[CONF_PHASES]:
        errors[CONF_HOUSE_CURRENT_ENTITIES] = "too_many_current_sensors"
    for entity_id in currents:
        exists, unit = _unit(hass, entity_id)
        if not exists:
            errors[CONF_HOUSE_CURRENT_ENTITIES] = "entity_not_found"
        elif unit != "A":
            errors[CONF_HOUSE_CURRENT_ENTITIES] = "not_current"
    errors.update(_validate_house_power(hass, values))
    return errors


def _validate_house_power(hass: HomeAssistant, values: Mapping[str, Any]) -> dict[str, str]:
    """The household power sensor must exist and be a power."""
    if not (house := values.get(CONF_HOUSE_POWER_ENTITY)):
        return {}
    exists, unit = _unit(hass, house)
    if not exists:
        return {CONF_HOUSE_POWER_ENTITY: "entity_not_found"}
    if unit not in POWER_UNITS:
        return {CONF_HOUSE_POWER_ENTITY: "not_power"}
    return {}


_MONTHS = [str(month) for month in range(1, 13)]


def _flatten(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """Options are stored flat; the form nests some in sections."""
    values: dict[str, Any] = {}
    for key, value in user_input.items():
        if isinstance(value, dict):
            values.update(value)
        else:
            values[key] = value
    for key in (CONF_HIGH_LOAD_MONTHS, CONF_LOW_LOAD_MONTHS):
        if key in values:
            values[key] = [int(m) for m in values[key]]
    return values


def _nest(options: Mapping[str, Any], sections: Mapping[str, Iterable[str]]) -> dict[str, Any]:
    """The stored options in the form's shape, for suggested values."""
    nested: dict[str, Any] = dict(options)
    for name, keys in sections.items():
        nested[name] = {key: nested.pop(key) for key in keys if key in nested}
    time_of_use = nested.get(SECTION_TIME_OF_USE, {})
    for key in (CONF_HIGH_LOAD_MONTHS, CONF_LOW_LOAD_MONTHS):
        if key in time_of_use:
            time_of_use[key] = [str(m) for m in time_of_use[key]]
    return nested


def _money(unit: str) -> NumberSelector:
    return NumberSelector(
        NumberSelectorConfig(step="any", unit_of_measurement=unit, mode=NumberSelectorMode.BOX)
    )


def _window_fields(prefix: str, fee: str, per_kwh: str) -> dict[Any, Any]:
    """A time-of-use window's fields: its fee, months, weekdays, start and end."""
    return {
        vol.Optional(fee): _money(per_kwh),
        vol.Optional(f"{prefix}_months"): SelectSelector(
            SelectSelectorConfig(options=_MONTHS, multiple=True, translation_key="month")
        ),
        vol.Optional(f"{prefix}_weekdays"): SelectSelector(
            SelectSelectorConfig(options=list(WEEKDAYS), multiple=True, translation_key="weekday")
        ),
        vol.Optional(f"{prefix}_start"): TimeSelector(),
        vol.Optional(f"{prefix}_end"): TimeSelector(),
    }


def _tariff_schema(currency: str) -> vol.Schema:
    per_kwh = f"{currency}/kWh"
    return vol.Schema(
        {
            vol.Optional(CONF_PRICE_ENTITY): _entity("sensor"),
            vol.Required(CONF_PRICE_INCLUDES_VAT, default=False): BooleanSelector(),
            vol.Required(CONF_HOURLY_SETTLEMENT, default=False): BooleanSelector(),
            vol.Optional(CONF_FIXED_PRICE): _money(per_kwh),
            vol.Required(CONF_MARKUP, default=0): _money(per_kwh),
            vol.Required(CONF_VAT_PERCENT, default=0): _money(PERCENTAGE),
            vol.Required(SECTION_GRID): section(
                vol.Schema(
                    {
                        vol.Required(CONF_GRID_FEE, default=0): _money(per_kwh),
                        vol.Required(CONF_ENERGY_TAX, default=0): _money(per_kwh),
                        vol.Required(CONF_SESSION_FEE, default=0): _money(currency),
                    }
                ),
                {"collapsed": False},
            ),
            vol.Required(SECTION_TIME_OF_USE): section(
                vol.Schema(
                    {
                        **_window_fields("high_load", CONF_GRID_FEE_HIGH, per_kwh),
                        vol.Required(CONF_HIGH_LOAD_SKIP_HOLIDAYS, default=False): (
                            BooleanSelector()
                        ),
                        **_window_fields("low_load", CONF_GRID_FEE_LOW, per_kwh),
                    }
                ),
                {"collapsed": True},
            ),
            vol.Required(SECTION_POWER_FEE): section(
                vol.Schema(
                    {
                        vol.Optional(CONF_POWER_FEE_PER_KW): _money(f"{currency}/kW"),
                        vol.Required(CONF_POWER_FEE_PEAKS, default=3): _number(1, 10, 1, "h"),
                        vol.Required(CONF_POWER_FEE_ONE_PER_DAY, default=True): BooleanSelector(),
                        vol.Required(CONF_POWER_FEE_NIGHT_WEIGHT, default=1): _number(
                            0, 1, 0.05, "×"
                        ),
                        vol.Optional(CONF_HOUSE_POWER_ENTITY): _entity("sensor"),
                    }
                ),
                {"collapsed": True},
            ),
        }
    )


def _validate_tariff(
    hass: HomeAssistant, values: Mapping[str, Any], placeholders: dict[str, str]
) -> dict[str, str]:
    """Errors per field for a tariff that cannot be."""
    errors: dict[str, str] = {}
    if not 0 <= values.get(CONF_VAT_PERCENT, 0) <= 100:
        errors[CONF_VAT_PERCENT] = "invalid_vat"
    for key in (
        CONF_MARKUP,
        CONF_GRID_FEE,
        CONF_ENERGY_TAX,
        CONF_SESSION_FEE,
        CONF_GRID_FEE_HIGH,
        CONF_GRID_FEE_LOW,
        CONF_POWER_FEE_PER_KW,
    ):
        if (values.get(key) or 0) < 0:
            errors[key] = "negative_fee"
    for fee, start_key, end_key in (
        (CONF_GRID_FEE_HIGH, CONF_HIGH_LOAD_START, CONF_HIGH_LOAD_END),
        (CONF_GRID_FEE_LOW, CONF_LOW_LOAD_START, CONF_LOW_LOAD_END),
    ):
        start, end = values.get(start_key), values.get(end_key)
        if start and end and end != "00:00:00" and end <= start:
            errors[end_key] = "window_end_before_start"
        if values.get(fee) is not None and not (start and end):
            errors[start_key] = "window_required"
    errors.update(_validate_house_power(hass, values))
    if price := values.get(CONF_PRICE_ENTITY):
        if hass.states.get(price) is None and er.async_get(hass).async_get(price) is None:
            errors[CONF_PRICE_ENTITY] = "entity_not_found"
        elif action_platform(hass, price) is None:
            try:
                read_price_attributes(hass, price, dt_util.utcnow())
            except PriceShapeError as err:
                errors[CONF_PRICE_ENTITY] = "unknown_price_shape"
                placeholders["error"] = str(err)
    return errors
