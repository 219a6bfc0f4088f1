"""PlannedRun: one queued run per burst, a new one once it may have started."""

from __future__ import annotations

import datetime as dt
import time

from core.coalesce import PlannedRun


def test_a_burst_shares_the_run_queued_first_and_a_later_change_plans_a_new_one():
    planned = PlannedRun()
    delay = dt.timedelta(milliseconds=200)

    first = planned.plan(delay=delay)
    assert first is not None
    assert planned.plan(delay=delay) is None  # the queued run has yet to start
    assert planned.plan(delay=delay) is None

    time.sleep(0.15)  # less than half the delay is left: it may start before our commit
    second = planned.plan(delay=delay)
    assert second is not None and second > first


def test_with_no_delay_every_change_plans_a_run():
    planned = PlannedRun()
    assert planned.plan(delay=dt.timedelta(0)) is not None
    assert planned.plan(delay=dt.timedelta(0)) is not None
