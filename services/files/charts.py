"""Pictures the bot sends (matplotlib, Agg backend): the font setup and the reporting matrix.

Chinese unit names need a CJK font, and a clean machine (CI, a fresh server) has none: the font
comes from the `mplfonts` package, which ships Noto Sans CJK SC, so every machine that installs
kaohe renders the same glyphs. `cjk_font()` gives it as FontProperties, `configure_matplotlib()`
makes it the default family; every chart passes it explicitly as well, so nothing falls back to
DejaVu Sans (which would draw boxes and warn "Glyph … missing from font").

Charts use the object-oriented API (Figure + FigureCanvasAgg, never pyplot), so that they can be
rendered in a worker thread, off the event loop, without pyplot's global figure manager. The
texts come from the caller (rendered from the catalogs); this module holds no prose.
"""

from __future__ import annotations

import functools
import importlib.util
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

# Imported after choosing the backend.
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

# The font file of mplfonts used for every chart: Simplified Chinese, with Latin and digits.
CJK_FONT_PACKAGE = "mplfonts"
CJK_FONT_FILE = "NotoSansCJKsc-Regular.otf"
DPI = 100

# Matrix cell colours by report state (services.reports.MonthState values); "none" is a
# month the unit owes no report for (no task yet).
STATE_COLOURS: dict[str, str] = {
    "on_time": "#4caf50",
    "late": "#ffc107",
    "overdue": "#e53935",
    "missing": "#b71c1c",
    "not_due_yet": "#bdbdbd",
    "none": "#ffffff",
}

# Matrix layout, in inches.
_MATRIX_WIDTH = 12.0
_ROW_HEIGHT = 0.3
_TOP = 0.8  # title
_BOTTOM = 0.7  # legend
_RIGHT = 0.3
_MIN_ROWS = 1
# A wider left margin for longer names; capped so the month columns keep most of the width.
_LABEL_INCH_PER_CHAR = 0.15
_LABEL_MIN, _LABEL_MAX = 1.2, 3.6


class FontUnavailable(RuntimeError):
    """The CJK font package is not installed (it is a dependency of kaohe)."""


@functools.cache
def cjk_font_path() -> Path:
    """The file of the CJK font every chart uses (Noto Sans CJK SC from mplfonts)."""
    # find_spec locates the package without importing it (its __init__ pulls in a CLI).
    spec = importlib.util.find_spec(CJK_FONT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FontUnavailable(CJK_FONT_PACKAGE)
    path = Path(next(iter(spec.submodule_search_locations))) / "fonts" / CJK_FONT_FILE
    if not path.is_file():
        raise FontUnavailable(str(path))
    return path


@functools.cache
def cjk_font() -> font_manager.FontProperties:
    """The CJK font as FontProperties (registered with matplotlib's font manager once)."""
    path = cjk_font_path()
    font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(path))


def configure_matplotlib() -> str:
    """Make the CJK font matplotlib's default family (rcParams, for text drawn without explicit
    font properties); its family name."""
    name = cjk_font().get_name()
    matplotlib.rcParams["font.family"] = [name]
    # The CJK font has a hyphen-minus everywhere; the Unicode minus is not worth a fallback.
    matplotlib.rcParams["axes.unicode_minus"] = False
    return name


@dataclass(frozen=True)
class Chart:
    """A rendered picture: PNG bytes, its size in pixels, and the font file it was drawn with."""

    png: bytes
    width: int
    height: int
    font_file: str


@dataclass(frozen=True)
class MatrixRow:
    """One unit's line of the matrix: its name and a state per month (None: owes none)."""

    name: str
    states: tuple[str | None, ...]


def render_png(figure: Figure) -> bytes:
    """The figure as PNG bytes at its own size (no tight bounding box: the size is known)."""
    buffer = io.BytesIO()
    FigureCanvasAgg(figure)  # attaches the Agg canvas to the figure
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def matrix_size(rows: int, longest_name: int = 8) -> tuple[int, int]:
    """The size in pixels of a matrix picture of `rows` units."""
    width, height = _matrix_inches(rows, longest_name)[:2]
    return round(width * DPI), round(height * DPI)


def _matrix_inches(rows: int, longest_name: int) -> tuple[float, float, float]:
    height = _TOP + _BOTTOM + _ROW_HEIGHT * max(rows, _MIN_ROWS)
    label = min(_LABEL_MAX, max(_LABEL_MIN, 0.3 + _LABEL_INCH_PER_CHAR * longest_name))
    return _MATRIX_WIDTH, height, label


def render_matrix(
    title: str,
    rows: Sequence[MatrixRow],
    month_labels: Sequence[str],
    legend: Mapping[str, str],
    highlight: int | None = None,
) -> Chart:
    """The year's reporting matrix: units down, months across, a coloured cell per unit and
    month (`STATE_COLOURS`); `legend` names the states shown (state -> label); `highlight`
    (1-12) frames one month's column."""
    font = cjk_font()
    longest = max((len(r.name) for r in rows), default=0)
    width, height, label = _matrix_inches(len(rows), longest)
    months = len(month_labels)
    figure = Figure(figsize=(width, height), dpi=DPI)
    axes = figure.add_axes(
        (
            label / width,
            _BOTTOM / height,
            (width - label - _RIGHT) / width,
            (height - _TOP - _BOTTOM) / height,
        )
    )
    count = max(len(rows), _MIN_ROWS)
    for i, row in enumerate(rows):
        for j, state in enumerate(row.states[:months]):
            axes.add_patch(
                Rectangle(
                    (j, i),
                    1,
                    1,
                    facecolor=STATE_COLOURS.get(state or "none", STATE_COLOURS["none"]),
                    edgecolor="#ffffff" if state else "#e0e0e0",
                    linewidth=1.5,
                )
            )
    if highlight is not None and 1 <= highlight <= months and rows:
        axes.add_patch(
            Rectangle(
                (highlight - 1, 0),
                1,
                len(rows),
                fill=False,
                edgecolor="#1a237e",
                linewidth=2.5,
            )
        )
    axes.set_xlim(0, months)
    axes.set_ylim(count, 0)  # first unit on top
    axes.set_xticks([j + 0.5 for j in range(months)])
    axes.set_xticklabels(list(month_labels), fontproperties=font, fontsize=10)
    axes.xaxis.tick_top()
    axes.set_yticks([i + 0.5 for i in range(len(rows))])
    axes.set_yticklabels([r.name for r in rows], fontproperties=font, fontsize=10)
    axes.tick_params(length=0)
    for spine in axes.spines.values():
        spine.set_visible(False)
    figure.suptitle(title, fontproperties=font, fontsize=14, y=1 - 0.2 / height)
    if legend:
        handles = [
            Patch(facecolor=STATE_COLOURS[state], edgecolor="#9e9e9e", label=text)
            for state, text in legend.items()
        ]
        figure.legend(
            handles=handles,
            loc="lower center",
            ncol=len(handles),
            frameon=False,
            prop=font,
            bbox_to_anchor=(0.5, 0.1 / height),
        )
    png = render_png(figure)
    pixels = matrix_size(len(rows), longest)
    return Chart(png, pixels[0], pixels[1], str(cjk_font_path()))
