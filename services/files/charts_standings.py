"""The standings of one group as a horizontal bar chart: a bar per unit in rank order (first on
top), its total written at the end of the bar, coloured by tier (the colours of the report
workbook's tiers), with a legend of the plan's tiers.

Drawn with the CJK font of services.files.charts (every text passes it explicitly), with
matplotlib's object-oriented API, so that it can run in a worker thread off the event loop. The
texts (the title and the axis label) come from the caller; unit and tier names come from the data.
"""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure
from matplotlib.patches import Patch

from scoring import Plan
from scoring.explanation import UnitResult
from services.files.charts import DPI, Chart, cjk_font, cjk_font_path, render_png
from services.files.report import tier_colours
from templates.formatting import num

# At most this many bars: a photo must stay within Telegram's size limits (and readable).
MAX_BARS = 60
# Layout, in inches.
_WIDTH = 10.0
_BAR_HEIGHT = 0.34
_TOP = 0.8  # title
_BOTTOM = 1.0  # axis label and legend
_RIGHT = 0.3
_MIN_BARS = 3
_LABEL_INCH_PER_CHAR = 0.17
_LABEL_MIN, _LABEL_MAX = 1.2, 3.8
_OTHER_TIER = "#9e9e9e"


def tier_bar_colours(plan: Plan) -> dict[str, str]:
    """The bar colour of each of the plan's tiers, best first (as in the report workbook)."""
    bands = plan.tiers.bands
    return {band.name: tier_colours(k, len(bands))[1] for k, band in enumerate(bands)}


def bar_label(result: UnitResult) -> str:
    """A bar's label on the axis: rank and name."""
    return f"{result.rank}. {result.name}"


def standings_chart(
    results: Sequence[UnitResult], plan: Plan, title: str, axis_label: str
) -> Chart:
    """The bar chart of one group's results (in rank order; the first MAX_BARS of them)."""
    font = cjk_font()
    shown = list(results[:MAX_BARS])
    colours = tier_bar_colours(plan)
    longest = max((len(bar_label(r)) for r in shown), default=0)
    label = min(_LABEL_MAX, max(_LABEL_MIN, 0.4 + _LABEL_INCH_PER_CHAR * longest))
    count = max(len(shown), _MIN_BARS)
    height = _TOP + _BOTTOM + _BAR_HEIGHT * count
    figure = Figure(figsize=(_WIDTH, height), dpi=DPI)
    axes = figure.add_axes(
        (
            label / _WIDTH,
            _BOTTOM / height,
            (_WIDTH - label - _RIGHT) / _WIDTH,
            (height - _TOP - _BOTTOM) / height,
        )
    )
    positions = list(range(len(shown)))
    totals = [r.total for r in shown]
    axes.barh(
        positions,
        totals,
        height=0.7,
        color=[colours.get(r.tier, _OTHER_TIER) for r in shown],
    )
    top = max([*totals, 1.0])
    axes.set_xlim(0, top * 1.15)
    axes.set_ylim(count - 0.5, -0.5)  # first rank on top
    axes.set_yticks(positions)
    axes.set_yticklabels([bar_label(r) for r in shown], fontproperties=font, fontsize=10)
    for position, total in zip(positions, totals, strict=True):
        axes.text(
            total + top * 0.01,
            position,
            num(total),
            va="center",
            ha="left",
            fontproperties=font,
            fontsize=9,
        )
    # Fixed ticks drawn with the font object itself: a family name would be looked up again
    # by matplotlib, which picks a system copy of the same family when one is installed.
    ticks = [t for t in axes.get_xticks() if 0 <= t <= top * 1.15]
    axes.set_xticks(ticks, [num(t) for t in ticks], fontproperties=font, fontsize=9)
    axes.set_xlabel(axis_label, fontproperties=font, fontsize=10)
    axes.tick_params(axis="y", length=0)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.grid(axis="x", color="#e0e0e0", linewidth=0.8)
    axes.set_axisbelow(True)
    figure.suptitle(title, fontproperties=font, fontsize=14, y=1 - 0.2 / height)
    used = {r.tier for r in shown}
    handles = [
        Patch(facecolor=colour, label=name) for name, colour in colours.items() if name in used
    ]
    if handles:
        figure.legend(
            handles=handles,
            loc="lower center",
            ncol=len(handles),
            frameon=False,
            prop=font,
            bbox_to_anchor=(0.5, 0.05 / height),
        )
    png = render_png(figure)
    return Chart(png, round(_WIDTH * DPI), round(height * DPI), str(cjk_font_path()))
