"""The straight-line drive-time estimate where the roads give no answer.

:class:`Fallback` estimates a trip from its great-circle distance
(``km * circuity / speed_kph * 60``) when an end is off the network, no road
joins the ends, or there is no road network at all; its speed is also that of
a point's walk to its road node (the access leg, :mod:`geo.drive_times`). The
defaults are the settings' (:class:`core.settings.Settings`), read from there,
not restated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from core.checks import finite_number
from core.errors import GeoError, Problem
from core.settings import Settings

__all__ = ["Fallback"]

_SETTINGS = Settings.model_fields


@dataclass(frozen=True, slots=True)
class Fallback:
    """Straight-line drive-time estimate: ``minutes = km * circuity / speed_kph * 60``.

    Also the speed of a point's walk to its road node (the access leg).
    Defaults are the settings' ``fallback_circuity`` and ``fallback_speed_kph``.

    Attributes
    ----------
    circuity
        Road distance over great-circle distance (about 1.2-1.4 in cities).
    speed_kph
        Average door-to-door speed.
    """

    circuity: float = float(_SETTINGS["fallback_circuity"].default)
    speed_kph: float = float(_SETTINGS["fallback_speed_kph"].default)

    def __post_init__(self) -> None:
        problems: list[Problem] = []
        finite_number(self.circuity, field="circuity", problems=problems, ge=1)
        finite_number(self.speed_kph, field="speed_kph", problems=problems, gt=0)
        if problems:
            raise GeoError("invalid fallback parameters", problems=problems)

    def minutes(self, km: Any) -> npt.NDArray[np.float64]:
        """Estimated drive minutes for great-circle kilometres."""
        return np.asarray(km, dtype="float64") * self.circuity / self.speed_kph * 60.0

    def km(self, minutes: float) -> float:
        """Great-circle reach of ``minutes`` of driving."""
        return minutes / 60.0 * self.speed_kph / self.circuity
