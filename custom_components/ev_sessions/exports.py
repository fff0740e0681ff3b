"""Where exports may be written: CSV files in one folder of EV Sessions' own, and nowhere else.

An export never touches Home Assistant's files: it is written only inside
``<config>/ev_sessions/``, only as ``.csv``, never through a symbolic link out of that folder,
and never over a file EV Sessions did not write (or that was changed since it wrote it). The
files written are remembered, with a digest of what was written, in Home Assistant's storage.
All file system work runs off the event loop.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
import hashlib
import os
from pathlib import Path
import tempfile

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.storage import Store
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN

EXPORT_FOLDER = DOMAIN
STORAGE_VERSION = 1
EXPORTS: HassKey[Exports] = HassKey(f"{DOMAIN}_exports")


class ExportRefusedError(Exception):
    """A path exports may not be written to; the reason is a translation key."""

    def __init__(self, reason: str) -> None:
        """Keep the reason."""
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True)
class Written:
    """A file written, by its path inside the export folder."""

    target: Path
    key: str
    digest: str


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _candidate(config_dir: Path, folder: Path, path: str) -> Path:
    raw = Path(path)
    if raw.is_absolute():
        return raw
    if raw.parts and raw.parts[0] == EXPORT_FOLDER:
        return config_dir / raw  # relative to the configuration folder, as before
    return folder / raw


def write_export(config_dir: str, path: str, text: str, written: dict[str, str]) -> Written:
    """Check the path and write the file (in the executor). Raises ExportRefusedError."""
    config = Path(config_dir).resolve()
    folder = config / EXPORT_FOLDER
    candidate = _candidate(config, folder, path)
    if candidate.suffix != ".csv":
        raise ExportRefusedError("export_not_csv")
    if folder.is_symlink():
        raise ExportRefusedError("export_outside_folder")
    folder.mkdir(exist_ok=True)
    target = candidate.resolve()
    if not target.is_relative_to(folder) or target.suffix != ".csv":
        raise ExportRefusedError("export_outside_folder")
    key = target.relative_to(folder).as_posix()
    if os.path.lexists(target) and (
        not target.is_file() or written.get(key) != _digest(target.read_bytes())
    ):
        raise ExportRefusedError("export_not_ours")
    data = text.encode("utf-8")
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        Path(temporary).replace(target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return Written(target, key, _digest(data))


class Exports:
    """The export folder and the files EV Sessions wrote in it."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Nothing loaded yet."""
        self._hass = hass
        self._store: Store[dict[str, dict[str, str]]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.exports"
        )
        self._written: dict[str, str] | None = None
        self._lock = asyncio.Lock()

    @property
    def folder(self) -> str:
        """The folder exports go to."""
        return self._hass.config.path(EXPORT_FOLDER)

    async def async_write(self, path: str, text: str) -> Path:
        """Write an export; a refused path is a translated ServiceValidationError."""
        async with self._lock:
            if self._written is None:
                stored = await self._store.async_load() or {}
                self._written = dict(stored.get("files") or {})
            try:
                written = await self._hass.async_add_executor_job(
                    write_export, self._hass.config.config_dir, path, text, dict(self._written)
                )
            except ExportRefusedError as err:
                raise ServiceValidationError(
                    translation_domain=DOMAIN,
                    translation_key=err.reason,
                    translation_placeholders={"path": path, "folder": self.folder},
                ) from err
            except OSError as err:
                raise HomeAssistantError(
                    translation_domain=DOMAIN,
                    translation_key="export_failed",
                    translation_placeholders={
                        "path": path,
                        "error": err.strerror or type(err).__name__,
                    },
                ) from err
            self._written[written.key] = written.digest
            await self._store.async_save({"files": self._written})
            return written.target


def exports(hass: HomeAssistant) -> Exports:
    """The one Exports of this Home Assistant."""
    if (found := hass.data.get(EXPORTS)) is None:
        found = hass.data[EXPORTS] = Exports(hass)
    return found
