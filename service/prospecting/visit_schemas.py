"""Request and response models of liaisons' visit days and their routes."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from service.wire import JsonInt, StorableText, TrimmedBody, trimmed_at_least

__all__ = [
    "AddressPlace",
    "Place",
    "PlacePublic",
    "PointPlace",
    "RoutePublic",
    "RouteStopPublic",
    "SitePlace",
    "UnassignedStopPublic",
    "VisitDayUpdate",
    "VisitListPublic",
    "VisitListSummary",
    "VisitStopPublic",
    "VisitStopUpdate",
]


def _local(value: dt.time) -> dt.time:
    if value.tzinfo is not None:  # the day's zone is the start's: an offset here would disagree
        raise ValueError("a local time without an offset (the day's zone applies)")
    return value


def _written_as_local_time(value: object) -> object:
    # JSON carries a time as text; request bodies are strict, so the text is checked here
    if isinstance(value, dt.time) or (isinstance(value, str) and _LOCAL_TIME.fullmatch(value)):
        return value
    raise ValueError("Input should be a local time as HH:MM or HH:MM:SS, without an offset")


_LOCAL_TIME = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?")

#: A wall-clock time of the day, read in the day's time zone.
LocalTime = Annotated[
    dt.time,
    Field(strict=False),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$",
            "description": "A local time of the day, HH:MM or HH:MM:SS, without an offset.",
        }
    ),
    BeforeValidator(_written_as_local_time),
    AfterValidator(_local),
]


class AddressPlace(TrimmedBody):
    """A street address, placed offline on the loaded road network (refused if it cannot be)."""

    kind: Literal["address"]
    address: str = Field(
        min_length=1, max_length=200, pattern=trimmed_at_least(1), examples=["1500 N High St"]
    )
    postal_code: str = Field(pattern=r"^[0-9]{5}$", examples=["43201"])


class SitePlace(TrimmedBody):
    """A clinic site, by its code."""

    kind: Literal["site"]
    site_code: str = Field(
        min_length=1, max_length=40, pattern=trimmed_at_least(1), examples=["COL-NE"]
    )


class PointPlace(TrimmedBody):
    """A point picked on the map."""

    kind: Literal["point"]
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


Place = Annotated[AddressPlace | SitePlace | PointPlace, Field(discriminator="kind")]


class VisitDayUpdate(StorableText):
    """Where and when the day starts and ends (local time of the start's zone)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "start": {"kind": "site", "site_code": "COL-NE"},
                    "end": {"kind": "address", "address": "1500 N High St", "postal_code": "43201"},
                    "day_start": "08:30",
                    "day_end": "17:30",
                }
            ]
        },
    )
    start: Place
    end: Place | None = Field(None, description="Where the day ends; the start when omitted.")
    day_start: LocalTime = Field(dt.time(8, 0), description="Earliest departure (local time).")
    day_end: LocalTime | None = Field(None, description="Latest arrival at the end (local time).")


class VisitStopUpdate(StorableText):
    """A provider's visit on the day: its length and an optional window for its start."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"duration_min": 30, "window_start": "09:00", "window_end": "11:00"}]
        },
    )
    duration_min: JsonInt = Field(30, ge=1, le=600)
    window_start: LocalTime | None = Field(
        None, description="The visit begins at or after (local)."
    )
    window_end: LocalTime | None = Field(None, description="The visit begins at or before (local).")


class PlacePublic(BaseModel):
    kind: Literal["address", "site", "point"]
    label: str
    lat: float
    lon: float


class VisitStopPublic(BaseModel):
    provider_id: int
    display_name: str | None
    duration_min: int
    window_start: LocalTime | None
    window_end: LocalTime | None


class VisitListPublic(BaseModel):
    day: dt.date
    time_zone: str = Field(description="IANA zone of the start, where the day's times are read.")
    day_start: LocalTime
    day_end: LocalTime | None
    start: PlacePublic | None
    end: PlacePublic | None
    stops: list[VisitStopPublic]


class VisitListSummary(BaseModel):
    day: dt.date
    stops: int
    start: str | None = Field(description="The start's label, if set.")


class RouteStopPublic(BaseModel):
    seq: int = Field(description="1 for the first visit.")
    provider_id: int
    display_name: str | None
    address: str | None
    lat: float
    lon: float
    drive_min: float = Field(description="From the previous point.")
    arrival: dt.datetime
    wait_min: float = Field(description="Waiting for the stop's window to open.")
    visit_start: dt.datetime
    departure: dt.datetime
    estimated: bool = Field(description="The drive here is a straight-line estimate.")


class UnassignedStopPublic(BaseModel):
    provider_id: int
    display_name: str | None
    reason: str


class RoutePublic(BaseModel):
    day: dt.date
    time_zone: str
    start: PlacePublic
    end: PlacePublic
    departure: dt.datetime
    end_arrival: dt.datetime
    drive_min: float
    stops: list[RouteStopPublic]
    unassigned: list[UnassignedStopPublic] = Field(
        description="Stops that cannot be visited this day, each with the reason."
    )
    estimated: bool = Field(description="Some drive time is a straight-line estimate.")
