"""Stacked bar charts drawn on the server as inline SVG: no JavaScript library, nothing fetched.

Horizontal positions are percentages of the chart's width and vertical ones pixels, so the chart
fills its column at any screen width while its texts keep their size. The SVG is hidden from
screen readers: the table printed with it gives the same figures (stats/_chart.html).
"""

import datetime as dt
from dataclasses import dataclass

from django.utils.dates import MONTHS, MONTHS_AP

from stats.figures import MonthlyFigures

# Dark enough to stand out on white (DSFR "sun" tones), told apart by hue; segments are also
# separated by a white line.
PALETTE = ["#000091", "#b34000", "#18753c", "#6e445a", "#0063cb", "#716043", "#a94645", "#3558a2"]
TOP = 22  # room for the totals above the bars
PLOT_HEIGHT = 180
LABELS_HEIGHT = 38
HEIGHT = TOP + PLOT_HEIGHT + LABELS_HEIGHT
BASELINE = TOP + PLOT_HEIGHT


def month_label(month: dt.date) -> str:
    """« février 2026 »."""
    return f"{MONTHS[month.month]} {month.year}"


def month_abbreviation(month: dt.date) -> str:
    """« fév. »."""
    return str(MONTHS_AP[month.month])


@dataclass
class Segment:
    x: float
    y: float
    width: float
    height: float
    color: str
    title: str


@dataclass
class Column:
    label: str  # empty when there is no room for it
    year: str
    minor: bool  # its labels hidden on narrow screens, where every other one fits
    label_x: float
    total: int
    total_y: float
    segments: list[Segment]


@dataclass
class LegendItem:
    label: str
    color: str
    total: int


@dataclass
class BarChart:
    height: int
    baseline: int
    columns: list[Column]
    legend: list[LegendItem]
    dense: bool


def bar_chart(figures: MonthlyFigures) -> BarChart:
    count = len(figures.months)
    column_width = 100 / count
    bar_width = column_width * 0.6
    totals = figures.month_totals
    # The highest bar takes the whole height: the totals printed above the bars give the scale.
    scale = PLOT_HEIGHT / max(*totals, 1)
    colors = [PALETTE[index % len(PALETTE)] for index in range(len(figures.series))]
    # Labels every `step` months (every 2 × step on narrow screens), Januarys always among them.
    step = 1 if count <= 12 else 2
    anchor = next((index for index, month in enumerate(figures.months) if month.month == 1), 0)
    columns = []
    for index, month in enumerate(figures.months):
        x = index * column_width + (column_width - bar_width) / 2
        y = float(BASELINE)
        segments = []
        for series, color in zip(figures.series, colors, strict=True):
            value = series.values[index]
            if not value:
                continue
            height = value * scale
            y -= height
            segments.append(
                Segment(
                    x=round(x, 3),
                    y=round(y, 2),
                    width=round(bar_width, 3),
                    height=round(height, 2),
                    color=color,
                    title=f"{series.label}, {month_label(month)} : {value}",
                )
            )
        shown = (index - anchor) % step == 0
        columns.append(
            Column(
                label=month_abbreviation(month) if shown else "",
                year=str(month.year) if shown and (index == 0 or month.month == 1) else "",
                minor=(index - anchor) % (2 * step) != 0,
                label_x=round(index * column_width + column_width / 2, 3),
                total=totals[index],
                total_y=round(y - 6, 2),
                segments=segments,
            )
        )
    return BarChart(
        height=HEIGHT,
        baseline=BASELINE,
        columns=columns,
        legend=[
            LegendItem(str(series.label), color, series.total)
            for series, color in zip(figures.series, colors, strict=True)
        ],
        dense=count > 12,
    )
