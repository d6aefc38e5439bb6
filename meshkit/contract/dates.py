"""Dates for deprecation and staleness, in UTC: registry timestamps are UTC, so "today" must be too."""

from __future__ import annotations

from datetime import date, datetime, timezone


def utc_today() -> date:
    return datetime.now(timezone.utc).date()
