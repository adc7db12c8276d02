"""The run's ``as_of`` date: every rule is evaluated as of it (DESIGN: results must be reproducible).

It travels as the run tag ``refunds/as_of`` (ISO date), set by the schedule (its scheduled date), the landing
sensor and the command line; a run without the tag uses today's date in the settings' time zone (``time_zone``,
the schedule's).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

AS_OF_TAG = "refunds/as_of"


def today(time_zone: str | None = None) -> dt.date:
    """Today's date in ``time_zone``, by default the settings' (the day a filer in that zone is living)."""
    if time_zone is None:
        from pipelines.settings import load_settings

        time_zone = load_settings().time_zone
    return dt.datetime.now(ZoneInfo(time_zone)).date()


def parse_as_of(value: str | None) -> dt.date:
    if not value:
        return today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"as_of must be an ISO date YYYY-MM-DD, got {value!r}") from exc


def refuse_future(as_of: dt.date, time_zone: str) -> None:
    """A date after today would write CAPE files dated in the future: refused unless the caller forces it."""
    now = today(time_zone)
    if as_of > now:
        raise ValueError(
            f"--as-of {as_of} is after today ({now} in {time_zone}): the run would file as of a day that has not "
            "come and write an export folder dated in the future. Give --force-future-as-of to run it anyway "
            "(a test, a rehearsal)."
        )


def as_of_from_tags(tags: dict[str, str]) -> dt.date:
    return parse_as_of(tags.get(AS_OF_TAG))
