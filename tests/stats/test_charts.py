import datetime as dt
import zoneinfo

from rdv.dates import add_months
from stats.charts import BASELINE, PLOT_HEIGHT, bar_chart
from stats.figures import MonthlyFigures, Period


def figures(first: dt.date, count: int, *series: list[int]) -> MonthlyFigures:
    result = MonthlyFigures([add_months(first, index) for index in range(count)])
    for index, values in enumerate(series):
        result.add(f"s{index}", f"Série {index}", dict(zip(result.months, values, strict=True)))
    return result


def test_months_and_periods_in_the_organisations_time_zone():
    assert add_months(dt.date(2025, 1, 1), -1) == dt.date(2024, 12, 1)
    assert add_months(dt.date(2025, 11, 1), 14) == dt.date(2027, 1, 1)
    period = Period.last_months(12, dt.date(2026, 3, 31))
    assert (period.first_month, period.last_month, len(period.months)) == (dt.date(2025, 4, 1), dt.date(2026, 3, 1), 12)
    start, end = period.bounds(zoneinfo.ZoneInfo("Europe/Paris"))
    assert start == dt.datetime(2025, 3, 31, 22, 0, tzinfo=dt.UTC)  # summer time
    assert end == dt.datetime(2026, 3, 31, 22, 0, tzinfo=dt.UTC)


def test_bars_are_stacked_and_the_highest_takes_the_whole_height():
    chart = bar_chart(figures(dt.date(2025, 12, 1), 3, [2, 0, 4], [2, 0, 0]))
    first, empty, last = chart.columns
    assert [segment.height for segment in first.segments] == [PLOT_HEIGHT / 2, PLOT_HEIGHT / 2]
    assert first.segments[1].y == BASELINE - PLOT_HEIGHT  # the second series on top of the first
    assert empty.segments == [] and empty.total == 0
    assert [segment.height for segment in last.segments] == [PLOT_HEIGHT]
    assert last.segments[0].title == "Série 0, février 2026 : 4"
    assert [item.total for item in chart.legend] == [6, 2]
    assert [column.label_x for column in chart.columns] == [16.667, 50.0, 83.333]


def test_month_labels_leave_room_and_always_name_january():
    twelve = bar_chart(figures(dt.date(2025, 12, 1), 12, [1] * 12))
    assert [column.label for column in twelve.columns][:3] == ["déc.", "jan.", "fév."]
    assert [column.year for column in twelve.columns][:3] == ["2025", "2026", ""]
    # Narrow screens keep every other label, January's among them.
    assert [column.minor for column in twelve.columns][:4] == [True, False, True, False]
    twenty_four = bar_chart(figures(dt.date(2024, 6, 1), 24, [1] * 24))
    labels = [column.label for column in twenty_four.columns]
    assert labels[7] == "jan." and labels[6] == "" and labels[8] == ""
    assert twenty_four.dense
