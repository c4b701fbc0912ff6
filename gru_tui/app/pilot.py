"""Driving the app headless (tests, the screenshot script, measurements): wait until it is idle."""

from __future__ import annotations

from textual.pilot import Pilot


async def settle(pilot: Pilot) -> None:
    """Wait until no device run is pending or under way and every message it posted is handled.

    A wait, not a timing assertion: it returns when the app is idle, however long that takes.
    """
    app = pilot.app
    while True:
        await pilot.pause()
        if not app.busy:
            await pilot.pause()  # the last answer was posted before the run stopped being busy: let it land
            return
        await pilot.pause(0.05)
