"""The date a command judges on: the one reading of the clock in playbook."""

from __future__ import annotations

import datetime
import os
from collections.abc import Mapping
from zoneinfo import ZoneInfo

from playbook_builder.errors import PlaybookError


def resolve_today(
    given: datetime.date | None, zone: str, environ: Mapping[str, str] = os.environ
) -> datetime.date:
    """`--today`, else SOURCE_DATE_EPOCH, else the clock; both read in the playbook's zone."""
    if given is not None:
        return given
    tz = ZoneInfo(zone)
    epoch = environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        try:
            return datetime.datetime.fromtimestamp(int(epoch), tz).date()
        except (ValueError, OverflowError, OSError) as err:
            raise PlaybookError(
                f"SOURCE_DATE_EPOCH={epoch!r} is not a number of seconds since 1970"
            ) from err
    return datetime.datetime.now(tz).date()  # the one reading of the clock
