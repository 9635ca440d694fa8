import datetime as dt
import zoneinfo

from rdv.dates import add_months
from stats.charts import BASELINE, PLOT_HEIGHT, bar_chart
from stats.figures import Figures
from stats.periods import Grain, Period


def figures(first: dt.date, count: int, *series: list[int], grain: Grain = Grain.MONTH) -> Figures:
    period = Period(first, add_months(first, count - 1))
    result = Figures(period.buckets(grain))
    for index, values in enumerate(series):
        result.add(f"s{index}", f"Série {index}", dict(zip(period.months, values, strict=True)))
    return result


def test_months_and_periods_in_the_organisations_time_zone():
    assert add_months(dt.date(2025, 1, 1), -1) == dt.date(2024, 12, 1)
    assert add_months(dt.date(2025, 11, 1), 14) == dt.date(2027, 1, 1)
    period = Period.last_months(12, dt.date(2026, 3, 31))
    assert (period.first_month, period.last_month, len(period.months)) == (dt.date(2025, 4, 1), dt.date(2026, 3, 1), 12)
    start, end = period.bounds(zoneinfo.ZoneInfo("Europe/Paris"))
    assert start == dt.datetime(2025, 3, 31, 22, 0, tzinfo=dt.UTC)  # summer time
    assert end == dt.datetime(2026, 3, 31, 22, 0, tzinfo=dt.UTC)


def test_long_periods_are_cut_in_quarters_then_years_never_more_than_24_bars():
    two_years = Period(dt.date(2024, 1, 1), dt.date(2025, 12, 1))
    assert two_years.default_grain() == Grain.MONTH
    five_years = Period(dt.date(2021, 2, 1), dt.date(2026, 1, 1))
    assert five_years.default_grain() == Grain.QUARTER
    quarters = five_years.buckets(Grain.QUARTER)
    assert len(quarters) == 21
    # Cut by the period's ends: February and March of the first, January of the last.
    assert (quarters[0].first, quarters[0].last, quarters[0].partial) == (
        dt.date(2021, 2, 1),
        dt.date(2021, 3, 1),
        True,
    )
    assert quarters[0].long == "1er trimestre 2021 (février à mars)"
    assert quarters[1].long == "2e trimestre 2021" and not quarters[1].partial
    assert quarters[-1].long == "1er trimestre 2026 (janvier)"
    assert [q.short for q in quarters[:4]] == ["T1", "T2", "T3", "T4"]
    years = five_years.buckets(Grain.YEAR)
    assert [(b.short, b.partial) for b in years] == [
        ("2021", True),
        ("2022", False),
        ("2023", False),
        ("2024", False),
        ("2025", False),
        ("2026", True),
    ]
    assert years[0].long == "2021 (février à décembre)"
    assert five_years.bars(Grain.MONTH) == 60


def test_bars_add_up_their_months():
    quarterly = figures(dt.date(2025, 2, 1), 5, [1, 2, 3, 4, 5], grain=Grain.QUARTER)
    assert [bucket.long for bucket in quarterly.buckets] == ["1er trimestre 2025 (février à mars)", "2e trimestre 2025"]
    assert quarterly.series[0].values == [3, 12]
    chart = bar_chart(quarterly)
    assert [(column.label, column.year) for column in chart.columns] == [("T1", "2025"), ("T2", "")]
    assert chart.columns[0].segments[0].title == "Série 0, 1er trimestre 2025 (février à mars) : 3"
    yearly = bar_chart(figures(dt.date(2024, 11, 1), 3, [1, 1, 1], grain=Grain.YEAR))
    assert [(column.label, column.year, column.total) for column in yearly.columns] == [
        ("2024", "", 2),
        ("2025", "", 1),
    ]


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


def test_the_svg_escapes_every_text_and_writes_numbers_the_same_in_every_language():
    result = figures(dt.date(2025, 12, 1), 2, [3, 0])
    result.series[0].label = '<b>"PMI" & co</b>'
    svg = bar_chart(result).svg
    assert svg.startswith('<g><rect x="10%" y="22" width="30%" height="180" fill="#000091">')
    assert "<title>&lt;b&gt;&quot;PMI&quot; &amp; co&lt;/b&gt;, décembre 2025 : 3</title>" in svg
    assert '<text class="rdv-chart__total" x="25%" y="16" text-anchor="middle">3</text>' in svg
    assert '<text class="rdv-chart__month" x="75%" y="218" text-anchor="middle">jan.</text>' in svg
    assert "<b>" not in svg
