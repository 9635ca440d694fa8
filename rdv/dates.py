"""Calendar arithmetic that several apps share, and the dates any page accepts."""

import datetime as dt

# The dates a form, a URL or a query string may carry: any birth, any history, any plan. Beyond,
# it is a typo or a probe, and the arithmetic of a far date overflows (the day after 31/12/9999,
# 01/01/0001 at midnight in Paris is still year 0 in UTC).
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(2100, 12, 31)


def within_bounds(day: dt.date) -> bool:
    """Whether `day` (or a datetime's day) is between EARLIEST_DATE and LATEST_DATE."""
    if isinstance(day, dt.datetime):
        day = day.date()
    return EARLIEST_DATE <= day <= LATEST_DATE


def add_months(day: dt.date, months: int) -> dt.date:
    """The first day of the month `months` after (or before, when negative) the month of `day`."""
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)
