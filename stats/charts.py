"""Stacked bar charts drawn on the server as inline SVG: no JavaScript library, nothing fetched.

Horizontal positions are percentages of the chart's width and vertical ones pixels, so the chart
fills its column at any screen width while its texts keep their size. The SVG is hidden from
screen readers: the table printed with it gives the same figures (stats/_chart.html).
"""

from dataclasses import dataclass

from django.utils.html import format_html

from stats.figures import Figures
from stats.periods import Grain

# Dark enough to stand out on white (DSFR "sun" tones), told apart by hue; segments are also
# separated by a white line.
PALETTE = ["#000091", "#b34000", "#18753c", "#6e445a", "#0063cb", "#716043", "#a94645", "#3558a2"]
TOP = 22  # room for the totals above the bars
PLOT_HEIGHT = 180
LABELS_HEIGHT = 38
HEIGHT = TOP + PLOT_HEIGHT + LABELS_HEIGHT
BASELINE = TOP + PLOT_HEIGHT


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

    @property
    def svg(self) -> str:
        return svg_columns(self)


def bar_chart(figures: Figures) -> BarChart:
    """One bar per month, quarter or year (`figures.buckets`), its series stacked."""
    count = len(figures.buckets)
    column_width = 100 / count
    bar_width = column_width * 0.6
    totals = figures.bucket_totals
    # The highest bar takes the whole height: the totals printed above the bars give the scale.
    scale = PLOT_HEIGHT / max(*totals, 1)
    colors = [PALETTE[index % len(PALETTE)] for index in range(len(figures.series))]
    # Labels every `step` bars (every 2 × step on narrow screens), the starts of years always
    # among them; the year under the first bar and under each bar that starts one.
    step = 1 if count <= 12 else 2
    buckets = figures.buckets
    starts_year = [index == 0 or bucket.year != buckets[index - 1].year for index, bucket in enumerate(buckets)]
    anchor = next((index for index, bucket in enumerate(buckets) if bucket.first.month == 1), 0)
    columns = []
    for index, bucket in enumerate(figures.buckets):
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
                    title=f"{series.label}, {bucket.long} : {value}",
                )
            )
        shown = (index - anchor) % step == 0
        columns.append(
            Column(
                label=bucket.short if shown else "",
                year=str(bucket.year) if shown and starts_year[index] and bucket.grain != Grain.YEAR else "",
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


def svg_columns(chart: BarChart) -> str:
    """The bars and their labels. Built here rather than in the template: a 5-year page draws
    hundreds of elements, which cost the template engine (or one format_html per element) tens of
    milliseconds. One format_html per chart: the numbers this module computed are written into its
    format string (digits, dots and signs only), every text goes in as an argument and is escaped
    as a template would escape it."""
    parts: list[str] = []
    texts: list[str] = []
    for column in chart.columns:
        parts.append("<g>")
        for segment in column.segments:
            parts.append(
                f'<rect x="{_number(segment.x)}%" y="{_number(segment.y)}" width="{_number(segment.width)}%" '
                f'height="{_number(segment.height)}" fill="{{}}"><title>{{}}</title></rect>'
            )
            texts += [segment.color, segment.title]
        x = _number(column.label_x)
        if column.total:
            parts.append(
                f'<text class="rdv-chart__total" x="{x}%" y="{_number(column.total_y)}" text-anchor="middle">'
                f"{int(column.total)}</text>"
            )
        minor = " rdv-chart__month--minor" if column.minor else ""
        for text, css, offset in ((column.label, "rdv-chart__month", 16), (column.year, "rdv-chart__year", 32)):
            if text:
                parts.append(
                    f'<text class="{css}{minor}" x="{x}%" y="{_number(chart.baseline + offset)}" '
                    'text-anchor="middle">{}</text>'
                )
                texts.append(text)
        parts.append("</g>")
    # The last placeholder, always filled, keeps format_html from being called without arguments.
    return format_html("".join(parts) + "{}", *texts, "")


def _number(value: float) -> str:
    """A coordinate as SVG reads it, whatever the language: « 12.5 », never « 12,5 »; only
    digits, a dot and a sign, so it may sit in a format string."""
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


def number_cells(values: list[int], *, strong: bool = False) -> str:
    """A table row's figures, `<td>` after `<td>`, built at once for the same reason as the bars:
    integers only, written into the format string; no text."""
    cell = '<td class="fr-cell--right"><strong>{}</strong></td>' if strong else '<td class="fr-cell--right">{}</td>'
    return format_html("".join(cell.format(int(value)) for value in values) + "{}", "")
