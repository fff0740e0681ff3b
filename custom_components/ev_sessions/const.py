"""Constants of EV Sessions: the keys of the public contract."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

DOMAIN: Final = "ev_sessions"

# Config entry data
CONF_SOURCE: Final = "source"
SOURCE_ENTITIES: Final = "entities"
SOURCE_SIMULATOR: Final = "simulator"
SOURCE_TESLA_WALL_CONNECTOR: Final = "tesla_wall_connector"
SOURCE_GOE: Final = "goe"
SOURCE_OPENEVSE: Final = "openevse"
SOURCE_OCPP: Final = "ocpp"
SOURCES: Final = (
    SOURCE_ENTITIES,
    SOURCE_SIMULATOR,
    SOURCE_OCPP,
    SOURCE_GOE,
    SOURCE_OPENEVSE,
    SOURCE_TESLA_WALL_CONNECTOR,
)

CONF_POWER_ENTITY: Final = "power_entity"
CONF_ENERGY_ENTITY: Final = "energy_entity"
CONF_CONNECTED_ENTITY: Final = "connected_entity"
CONF_CHARGING_SWITCH_ENTITY: Final = "charging_switch_entity"
CONF_CURRENT_LIMIT_ENTITY: Final = "current_limit_entity"
CONF_SOC_ENTITY: Final = "soc_entity"
CONF_CONNECTED_STATES: Final = "connected_states"
CONF_CHARGING_STATES: Final = "charging_states"
CONF_ERROR_STATES: Final = "error_states"

# OCPP: the charge point connects to Home Assistant as its central system.
CONF_CHARGE_POINT_ID: Final = "charge_point_id"
CONF_SSL_CERTIFICATE: Final = "ssl_certificate"
CONF_SSL_KEY: Final = "ssl_key"
CONF_LISTEN_ADDRESS: Final = "listen_address"  # OCPP: one local address, or all
DEFAULT_OCPP_PORT: Final = 9000
# Options: users of a shared charger (OCPP id tags).
CONF_ID_TAGS: Final = "id_tags"
CONF_ACCEPT_UNKNOWN_TAGS: Final = "accept_unknown_tags"
CONF_MAX_CURRENT_A: Final = "max_current_a"  # OCPP: never send a limit above this
CONF_CONNECTOR: Final = "connector"  # OCPP: the connector (EVSE) to follow; 0 or none: automatic

CONF_MAX_POWER_KW: Final = "max_power_kw"
CONF_PHASES: Final = "phases"
CONF_BATTERY_CAPACITY_KWH: Final = "battery_capacity_kwh"

# Options: preferences
CONF_TARGET_ENERGY_KWH: Final = "target_energy_kwh"
CONF_DEPARTURE_TIME: Final = "departure_time"
CONF_CHARGING_MODE: Final = "charging_mode"
CONF_TARGET_SOC: Final = "target_soc"
CONF_SMART_CHARGING: Final = "smart_charging"
CONF_NEXT_DEPARTURE: Final = "next_departure"
SOURCE_SET: Final = "set"
SOURCE_LEARNED: Final = "learned"
SOURCE_DEFAULT: Final = "default"
SOURCE_CAR: Final = "car"
MODE_IMMEDIATE: Final = "immediate"
MODE_CHEAPEST: Final = "cheapest"
CHARGING_MODES: Final = (MODE_IMMEDIATE, MODE_CHEAPEST)

# Options: session detection
CONF_POWER_THRESHOLD_W: Final = "power_threshold_w"
CONF_GRACE_PERIOD_MIN: Final = "grace_period_min"
SECTION_SESSION_DETECTION: Final = "session_detection"

# Options: tariff (amounts per kWh excl. VAT in Home Assistant's currency)
CONF_PRICE_ENTITY: Final = "price_entity"
CONF_PRICE_INCLUDES_VAT: Final = "price_includes_vat"
CONF_HOURLY_SETTLEMENT: Final = "hourly_settlement"
CONF_FIXED_PRICE: Final = "fixed_price"
CONF_MARKUP: Final = "markup"
CONF_GRID_FEE: Final = "grid_fee"
CONF_ENERGY_TAX: Final = "energy_tax"
CONF_VAT_PERCENT: Final = "vat_percent"
CONF_SESSION_FEE: Final = "session_fee"
CONF_GRID_FEE_HIGH: Final = "grid_fee_high"
CONF_HIGH_LOAD_MONTHS: Final = "high_load_months"
CONF_HIGH_LOAD_WEEKDAYS: Final = "high_load_weekdays"
CONF_HIGH_LOAD_START: Final = "high_load_start"
CONF_HIGH_LOAD_END: Final = "high_load_end"
CONF_HIGH_LOAD_SKIP_HOLIDAYS: Final = "high_load_skip_holidays"
CONF_HIGH_LOAD_UTC_OFFSET: Final = "high_load_utc_offset"  # hours; none: local time
CONF_GRID_FEE_LOW: Final = "grid_fee_low"
CONF_LOW_LOAD_MONTHS: Final = "low_load_months"
CONF_LOW_LOAD_WEEKDAYS: Final = "low_load_weekdays"
CONF_LOW_LOAD_START: Final = "low_load_start"
CONF_LOW_LOAD_END: Final = "low_load_end"
CONF_LOW_LOAD_UTC_OFFSET: Final = "low_load_utc_offset"
CONF_POWER_FEE_PER_KW: Final = "power_fee_per_kw"
CONF_POWER_FEE_PEAKS: Final = "power_fee_peaks"
CONF_POWER_FEE_ONE_PER_DAY: Final = "power_fee_one_per_day"
CONF_POWER_FEE_NIGHT_WEIGHT: Final = "power_fee_night_weight"
# The hours that count for the power fee (all, unless set) and a price for a season.
CONF_POWER_FEE_MONTHS: Final = "power_fee_months"
CONF_POWER_FEE_WEEKDAYS: Final = "power_fee_weekdays"
CONF_POWER_FEE_START: Final = "power_fee_start"
CONF_POWER_FEE_END: Final = "power_fee_end"
CONF_POWER_FEE_SKIP_HOLIDAYS: Final = "power_fee_skip_holidays"
CONF_POWER_FEE_UTC_OFFSET: Final = "power_fee_utc_offset"
CONF_POWER_FEE_SEASON_MONTHS: Final = "power_fee_season_months"
CONF_POWER_FEE_SEASON_PER_KW: Final = "power_fee_season_per_kw"
# A monthly price by step of load (Norway): lines "lower bound in kW = price per month".
CONF_CAPACITY_STEPS: Final = "capacity_steps"
# A yearly price per kW on the rolling mean of 12 monthly 15-minute peaks (Flanders).
CONF_CAPACITY_YEARLY_PER_KW: Final = "capacity_yearly_per_kw"
CONF_CAPACITY_FLOOR_KW: Final = "capacity_floor_kw"
CONF_HOUSE_POWER_ENTITY: Final = "house_power_entity"
SECTION_GRID: Final = "grid"
SECTION_TIME_OF_USE: Final = "time_of_use"
SECTION_POWER_FEE: Final = "power_fee"
TARIFF_SECTIONS: Final = {
    SECTION_GRID: (CONF_GRID_FEE, CONF_ENERGY_TAX, CONF_SESSION_FEE),
    SECTION_TIME_OF_USE: (
        CONF_GRID_FEE_HIGH,
        CONF_HIGH_LOAD_MONTHS,
        CONF_HIGH_LOAD_WEEKDAYS,
        CONF_HIGH_LOAD_START,
        CONF_HIGH_LOAD_END,
        CONF_HIGH_LOAD_SKIP_HOLIDAYS,
        CONF_HIGH_LOAD_UTC_OFFSET,
        CONF_GRID_FEE_LOW,
        CONF_LOW_LOAD_MONTHS,
        CONF_LOW_LOAD_WEEKDAYS,
        CONF_LOW_LOAD_START,
        CONF_LOW_LOAD_END,
        CONF_LOW_LOAD_UTC_OFFSET,
    ),
    SECTION_POWER_FEE: (
        CONF_POWER_FEE_PER_KW,
        CONF_POWER_FEE_PEAKS,
        CONF_POWER_FEE_ONE_PER_DAY,
        CONF_POWER_FEE_NIGHT_WEIGHT,
        CONF_POWER_FEE_MONTHS,
        CONF_POWER_FEE_WEEKDAYS,
        CONF_POWER_FEE_START,
        CONF_POWER_FEE_END,
        CONF_POWER_FEE_SKIP_HOLIDAYS,
        CONF_POWER_FEE_UTC_OFFSET,
        CONF_POWER_FEE_SEASON_MONTHS,
        CONF_POWER_FEE_SEASON_PER_KW,
        CONF_CAPACITY_STEPS,
        CONF_CAPACITY_YEARLY_PER_KW,
        CONF_CAPACITY_FLOOR_KW,
        CONF_HOUSE_POWER_ENTITY,
    ),
}
TARIFF_TOP_KEYS: Final = (
    CONF_PRICE_ENTITY,
    CONF_PRICE_INCLUDES_VAT,
    CONF_HOURLY_SETTLEMENT,
    CONF_FIXED_PRICE,
    CONF_MARKUP,
    CONF_VAT_PERCENT,
)
TARIFF_KEYS: Final = frozenset(
    {*TARIFF_TOP_KEYS, *(key for keys in TARIFF_SECTIONS.values() for key in keys)}
)
ISSUE_PRICE_SHAPE: Final = "price_shape_unknown"

# Options: power (load guard); the household's phases share the key "phases"
CONF_MAIN_FUSE_A: Final = "main_fuse_a"
CONF_HOUSE_CURRENT_ENTITIES: Final = "house_current_entities"
CONF_SAFETY_MARGIN_A: Final = "safety_margin_a"
DEFAULT_SAFETY_MARGIN_A: Final = 1.0
ISSUE_FUSE_MISSING: Final = "fuse_missing"
ISSUE_FUSE_INCONSISTENT: Final = "fuse_inconsistent"
ISSUE_STORAGE_WRITE: Final = "storage_write_failed"
ISSUE_STORAGE_DAMAGED: Final = "storage_damaged"
UNDER_DELIVERY_REASONS: Final = ("fewer_phases", "battery_nearly_full", "car_or_cable_limit")

PREFERENCE_KEYS: Final = frozenset(
    {
        CONF_TARGET_ENERGY_KWH,
        CONF_DEPARTURE_TIME,
        CONF_CHARGING_MODE,
        CONF_MAX_POWER_KW,
        CONF_TARGET_SOC,
        CONF_BATTERY_CAPACITY_KWH,
        CONF_SMART_CHARGING,
        CONF_NEXT_DEPARTURE,
    }
)

DEFAULT_TARGET_ENERGY_KWH: Final = 20.0
DEFAULT_DEPARTURE_TIME: Final = "07:00:00"
DEFAULT_MAX_POWER_KW: Final = 11.0
DEFAULT_PHASES: Final = 3
DEFAULT_BATTERY_CAPACITY_KWH: Final = 60.0
DEFAULT_POWER_THRESHOLD_W: Final = 100.0
DEFAULT_GRACE_PERIOD_MIN: Final = 10.0

# Events
EVENT_SESSION_STARTED: Final = f"{DOMAIN}_session_started"
EVENT_SESSION_ENDED: Final = f"{DOMAIN}_session_ended"

# Actions
SERVICE_GET_SESSIONS: Final = "get_sessions"
SERVICE_EXPORT_SESSIONS: Final = "export_sessions"
SERVICE_PLAN_CHARGING: Final = "plan_charging"
SERVICE_OCPP_COMMAND: Final = "ocpp_command"
ATTR_COMMAND: Final = "command"
ATTR_ID_TAG: Final = "id_tag"
ATTR_REPORT: Final = "report"
REPORT_SESSIONS: Final = "sessions"
REPORT_USER_MONTH: Final = "user_month"
ATTR_ENERGY_KWH: Final = "energy_kwh"
ATTR_DEPARTURE: Final = "departure"
ATTR_MAX_POWER_KW: Final = "max_power_kw"
ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"
ATTR_START: Final = "start"
ATTR_END: Final = "end"
ATTR_USER: Final = "user"
ATTR_PATH: Final = "path"

# Status sensor
STATUS_DISCONNECTED: Final = "disconnected"
STATUS_CONNECTED: Final = "connected"
STATUS_CHARGING: Final = "charging"
STATUS_SUSPENDED: Final = "suspended"
STATUS_ERROR: Final = "error"
STATUSES: Final = (
    STATUS_DISCONNECTED,
    STATUS_CONNECTED,
    STATUS_CHARGING,
    STATUS_SUSPENDED,
    STATUS_ERROR,
)

STORAGE_VERSION: Final = 1
STATE_SAVE_DELAY: Final = 30.0
TICK_INTERVAL: Final = timedelta(seconds=30)
