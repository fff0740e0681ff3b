"""JSON over HTTP for the wallboxes with a local API."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from . import SourceError

TIMEOUT = aiohttp.ClientTimeout(total=10)


async def async_get_json(session: aiohttp.ClientSession, host: str, path: str) -> dict[str, Any]:
    """GET a JSON object from a wallbox; SourceError for anything else."""
    try:
        async with session.get(f"http://{host}{path}", timeout=TIMEOUT) as response:
            response.raise_for_status()
            text = await response.text()
    except (aiohttp.ClientError, TimeoutError) as err:
        raise SourceError(f"{host}{path}: {err}") from err
    try:
        data = json.loads(text, parse_constant=_reject)
    except ValueError as err:
        raise SourceError(f"{host}{path}: invalid JSON ({err})") from err
    if not isinstance(data, dict):
        raise SourceError(f"{host}{path}: not a JSON object")
    return data


def _reject(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")
