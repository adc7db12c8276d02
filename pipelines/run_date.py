"""The run's ``as_of`` date: every rule is evaluated as of it (DESIGN: results must be reproducible).

It travels as the run tag ``refunds/as_of`` (ISO date), set by the schedule (its scheduled date), the landing
sensor and the command line; a run without the tag uses today's date in the pipeline's time zone.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

AS_OF_TAG = "refunds/as_of"
TIME_ZONE = "America/New_York"


def today() -> dt.date:
    return dt.datetime.now(ZoneInfo(TIME_ZONE)).date()


def parse_as_of(value: str | None) -> dt.date:
    if not value:
        return today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"as_of must be an ISO date YYYY-MM-DD, got {value!r}") from exc


def as_of_from_tags(tags: dict[str, str]) -> dt.date:
    return parse_as_of(tags.get(AS_OF_TAG))
