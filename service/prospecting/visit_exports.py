"""A solved visit day as files: CSV, an ICS calendar and a printable day sheet with the briefs.

Every file is built from one :class:`~service.prospecting.visit_schemas.RoutePublic`
(:func:`service.prospecting.visits.solve_day`), so the three say the same.
Stops that cannot be visited are listed with their reason in the CSV and the
day sheet (a calendar holds only what happens). CSV text that a spreadsheet
would run as a formula is prefixed with a quote
(:func:`core.spreadsheet.neutralise_formula`).
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Callable

import icalendar

from core.spreadsheet import neutralise_formula
from service.context import AppContext
from service.prospecting.brief import BRIEF_STYLE, brief, brief_section
from service.prospecting.segments import ExportFile
from service.prospecting.visit_schemas import RoutePublic

__all__ = ["CSV_FIELDS", "day_csv", "day_ics", "day_sheet_html"]

CSV_FIELDS = (
    "seq",
    "provider_id",
    "display_name",
    "address",
    "arrival",
    "visit_start",
    "departure",
    "drive_min",
    "wait_min",
    "estimated",
    "unassigned_reason",
)


def day_csv(route: RoutePublic) -> ExportFile:
    """One row per stop in visiting order, then the stops that cannot be made (no ``seq``)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(CSV_FIELDS)
    for s in route.stops:
        w.writerow(
            [
                s.seq,
                s.provider_id,
                neutralise_formula(s.display_name or ""),
                neutralise_formula(s.address or ""),
                s.arrival.isoformat(),
                s.visit_start.isoformat(),
                s.departure.isoformat(),
                s.drive_min,
                s.wait_min,
                s.estimated,
                "",
            ]
        )
    for u in route.unassigned:
        row = ["", u.provider_id, neutralise_formula(u.display_name or "")]
        w.writerow([*row, "", "", "", "", "", "", "", u.reason])
    return ExportFile(out.getvalue().encode("utf-8"), len(route.stops) + len(route.unassigned))


def day_ics(route: RoutePublic, *, brief_url: Callable[[int], str]) -> ExportFile:
    """An iCalendar file: one VEVENT per visit, its times with the day's ``TZID``.

    The zone's VTIMEZONE is included (``icalendar``'s ``add_missing_timezones``)
    so calendars read the times as local ones.
    """
    cal = icalendar.Calendar()
    cal.add("prodid", "-//prm//visit day//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-timezone", route.time_zone)
    for s in route.stops:
        event = icalendar.Event()
        event.add("uid", f"prm-visit-{route.day.isoformat()}-{s.provider_id}@prm")
        event.add("dtstamp", s.arrival)
        event.add("dtstart", s.visit_start)
        event.add("dtend", s.departure)
        event.add("summary", f"Visit: {s.display_name or s.provider_id}")
        if s.address:
            event.add("location", s.address)
        link = brief_url(s.provider_id)
        event.add("url", link)
        event.add("description", f"Stop {s.seq} of the day. Brief: {link}")
        event.add("geo", (s.lat, s.lon))
        cal.add_component(event)
    cal.add_missing_timezones()
    return ExportFile(cal.to_ical(), len(route.stops))


def _e(value: object) -> str:
    return "" if value is None else html.escape(str(value))


def day_sheet_html(ctx: AppContext, route: RoutePublic, *, brief_url: Callable[[int], str]) -> str:
    """A printable page: the day's plan, the stops that cannot be made, then each stop's brief."""
    rows = "".join(
        f"<tr><td>{s.seq}</td><td>{s.arrival:%H:%M}</td><td>{s.visit_start:%H:%M}</td>"
        f"<td>{s.departure:%H:%M}</td><td><a href='{_e(brief_url(s.provider_id))}'>"
        f"{_e(s.display_name)}</a></td><td>{_e(s.address)}</td>"
        f"<td>{s.drive_min:.0f}{' (est.)' if s.estimated else ''}</td></tr>"
        for s in route.stops
    )
    parts = [
        f"<h1>Visits of {route.day.isoformat()}</h1>",
        f"<p>From {_e(route.start.label)} at {route.departure:%H:%M} to {_e(route.end.label)}, "
        f"arriving {route.end_arrival:%H:%M} ({_e(route.time_zone)}) · "
        f"{route.drive_min:.0f} minutes of driving</p>",
        "<table><thead><tr><th>#</th><th>arrive</th><th>visit</th><th>leave</th>"
        "<th>provider</th><th>address</th><th>drive (min)</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>",
    ]
    if route.unassigned:
        items = "".join(
            f"<li>{_e(u.display_name)} ({u.provider_id}): {_e(u.reason)}</li>"
            for u in route.unassigned
        )
        parts.append(f"<h2>Cannot be visited this day</h2><ul>{items}</ul>")
    for s in route.stops:
        parts.append(
            f"<section style='break-before:page'><p>Stop {s.seq} · {s.visit_start:%H:%M}</p>"
            f"{brief_section(brief(ctx, s.provider_id))}</section>"
        )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Visits of {route.day.isoformat()}</title><style>{BRIEF_STYLE}</style></head>"
        f"<body>{''.join(parts)}</body></html>"
    )
