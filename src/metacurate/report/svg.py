"""Small inline-SVG charts for the report: line charts (linear or log axes) and bar charts.

Written by hand instead of matplotlib: importing matplotlib and rendering three PNGs took about
2 s of CPU, most of a report's cost (docs/performance.md); these take milliseconds, have no
dependency, stay sharp at any zoom, and keep the page self-contained (no external reference).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

W, H = 640, 390  # the viewBox; the figure scales to its container
LEFT, RIGHT, TOP, BOTTOM = 72, 16, 14, 52
FONT = 'font-family="system-ui,sans-serif" font-size="12"'


@dataclass(frozen=True)
class Axis:
    """One axis: range, log or linear, label, and optional fixed ticks ``(value, text)``."""

    lo: float
    hi: float
    label: str
    log: bool = False
    ticks: tuple[tuple[float, str], ...] | None = None


@dataclass(frozen=True)
class Label:
    """A note's anchor (its last line's baseline), alignment and lines, in viewBox pixels."""

    x: float
    y: float
    align: str  # "left": text starts at x; "right": text ends at x
    lines: tuple[str, ...]

    def box(self, char_width: float = 7.0, line_height: float = 14.0) -> tuple[float, ...]:
        """``(x0, y0, x1, y1)`` of the text, from a generous estimate of 12 px glyphs."""
        width = max(len(line) for line in self.lines) * char_width
        x0 = self.x if self.align == "left" else self.x - width
        return x0, self.y - line_height * len(self.lines), x0 + width, self.y + 4


@dataclass
class Chart:
    """A plot area with two axes; add lines and marks, then :meth:`svg`."""

    x: Axis
    y: Axis
    alt: str
    parts: list[str] = field(default_factory=list)
    legend: list[tuple[str, str, bool]] = field(default_factory=list)  # label, color, dashed

    def _map(self, v: np.ndarray, axis: Axis, a: float, b: float) -> np.ndarray:
        lo, hi, v = (
            (math.log10(axis.lo), math.log10(axis.hi), np.log10(np.maximum(v, axis.lo)))
            if axis.log
            else (axis.lo, axis.hi, np.asarray(v, dtype=np.float64))
        )
        span = hi - lo or 1.0
        return a + (v - lo) / span * (b - a)

    def px(self, x: Sequence[float] | np.ndarray) -> np.ndarray:
        return self._map(np.asarray(x, dtype=np.float64), self.x, LEFT, W - RIGHT)

    def py(self, y: Sequence[float] | np.ndarray) -> np.ndarray:
        return self._map(np.asarray(y, dtype=np.float64), self.y, H - BOTTOM, TOP)

    def line(self, x, y, color: str, label: str | None = None, width: float = 1.8) -> None:
        if len(x) == 0:
            return
        pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(self.px(x), self.py(y), strict=True))
        self.parts.append(
            f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="{width}"/>'
        )
        if label:
            self.legend.append((label, color, False))

    def hline(self, y: float, color: str, label: str | None = None) -> None:
        v = float(self.py([y])[0])
        self.parts.append(_dashed(LEFT, v, W - RIGHT, v, color))
        if label:
            self.legend.append((label, color, True))

    def vline(self, x: float, color: str, label: str | None = None) -> None:
        u = float(self.px([x])[0])
        self.parts.append(_dashed(u, TOP, u, H - BOTTOM, color))
        if label:
            self.legend.append((label, color, True))

    def shade(self, x0: float, x1: float, color: str, opacity: float = 0.06) -> None:
        a, b = (float(v) for v in self.px([x0, x1]))
        self.parts.append(
            f'<rect x="{a:.1f}" y="{TOP}" width="{b - a:.1f}" height="{H - BOTTOM - TOP}" '
            f'fill="{color}" fill-opacity="{opacity}"/>'
        )

    def point(
        self,
        x: float,
        y: float,
        color: str,
        note: str = "",
        offset: tuple[float, float] = (-10.0, 30.0),
        align: str = "right",
    ) -> Label | None:
        """A dot at ``(x, y)`` and a note ``offset`` pixels away (y up), its lines aligned
        ``left`` or ``right`` to that spot; returns the note's box."""
        u, v = float(self.px([x])[0]), float(self.py([y])[0])
        self.parts.append(f'<circle cx="{u:.1f}" cy="{v:.1f}" r="4" fill="{color}"/>')
        if not note:
            return None
        label = Label(u + offset[0], v - offset[1], align, tuple(note.splitlines()))
        anchor = "start" if align == "left" else "end"
        self.parts.append(
            f'<line x1="{u:.1f}" y1="{v:.1f}" x2="{label.x:.1f}" y2="{label.y + 3:.1f}" '
            'stroke="#888" stroke-width="1"/>'
        )
        for i, text in enumerate(label.lines):
            self.parts.append(
                f'<text x="{label.x:.1f}" y="{label.y - 14 * (len(label.lines) - 1 - i):.1f}" '
                f'text-anchor="{anchor}" {FONT}>{_e(text)}</text>'
            )
        return label

    def bars(self, values: Sequence[float], colors: Sequence[str]) -> None:
        step = (W - RIGHT - LEFT) / max(len(values), 1)
        base = float(self.py([self.y.lo])[0])
        for i, (v, c) in enumerate(zip(values, colors, strict=True)):
            top = float(self.py([v])[0])
            self.parts.append(
                f'<rect x="{LEFT + i * step + step * 0.1:.1f}" y="{top:.1f}" '
                f'width="{step * 0.8:.1f}" height="{base - top:.1f}" fill="{c}"/>'
            )

    def svg(self, legend_at: str = "right") -> str:
        """The chart as an ``<svg>`` element."""
        frame = (
            f'<rect x="{LEFT}" y="{TOP}" width="{W - LEFT - RIGHT}" height="{H - TOP - BOTTOM}" '
            'fill="none" stroke="#888" stroke-width="1"/>'
        )
        body = [*self._grid(), *self.parts, frame, *self._legend(legend_at)]
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" role="img" '
            f'aria-label="{_e(self.alt)}">{"".join(body)}</svg>'
        )

    def _grid(self) -> list[str]:
        out = []
        for v, text in self.x.ticks or ticks(self.x):
            u = float(self.px([v])[0])
            out.append(f'<line x1="{u:.1f}" y1="{TOP}" x2="{u:.1f}" y2="{H - BOTTOM}" {_GRID}/>')
            out.append(
                f'<text x="{u:.1f}" y="{H - BOTTOM + 16}" text-anchor="middle" {FONT}>'
                f"{_e(text)}</text>"
            )
        for v, text in self.y.ticks or ticks(self.y):
            w = float(self.py([v])[0])
            out.append(f'<line x1="{LEFT}" y1="{w:.1f}" x2="{W - RIGHT}" y2="{w:.1f}" {_GRID}/>')
            out.append(
                f'<text x="{LEFT - 6}" y="{w + 4:.1f}" text-anchor="end" {FONT}>{_e(text)}</text>'
            )
        cx, cy = (LEFT + W - RIGHT) / 2, (TOP + H - BOTTOM) / 2
        out.append(
            f'<text x="{cx:.0f}" y="{H - 12}" text-anchor="middle" {FONT}>{_e(self.x.label)}</text>'
        )
        out.append(
            f'<text x="16" y="{cy:.0f}" text-anchor="middle" transform="rotate(-90 16 {cy:.0f})" '
            f"{FONT}>{_e(self.y.label)}</text>"
        )
        return out

    def _legend(self, where: str) -> list[str]:
        out = []
        x0 = W - RIGHT - 190 if where == "right" else LEFT + 10
        for i, (label, color, dashed) in enumerate(self.legend):
            y = TOP + 16 + 17 * i
            dash = ' stroke-dasharray="5,4"' if dashed else ""
            out.append(
                f'<line x1="{x0}" y1="{y - 4}" x2="{x0 + 22}" y2="{y - 4}" stroke="{color}" '
                f'stroke-width="2"{dash}/>'
                f'<text x="{x0 + 28}" y="{y}" {FONT}>{_e(label)}</text>'
            )
        return out


_GRID = 'stroke="#ddd" stroke-width="1"'


def _dashed(x1: float, y1: float, x2: float, y2: float, color: str) -> str:
    return (
        f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{color}" '
        'stroke-width="1.2" stroke-dasharray="5,4"/>'
    )


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def compact(v: float) -> str:
    """1, 10, 100, 1k, 10k, 1M; other values with at most 3 significant digits."""
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= scale:
            return f"{v / scale:.3g}{suffix}"
    return f"{v:.3g}"


def ticks(axis: Axis) -> list[tuple[float, str]]:
    """Decades on a log axis; 1-2-5 steps (about 5 ticks) on a linear one."""
    if axis.log:
        lo, hi = math.floor(math.log10(axis.lo)), math.ceil(math.log10(axis.hi))
        step = max(1, (hi - lo + 7) // 8)
        return [(10.0**k, compact(10.0**k)) for k in range(lo, hi + 1, step)]
    span = axis.hi - axis.lo
    if span <= 0:
        return [(axis.lo, compact(axis.lo))]
    raw = span / 5
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.ceil(axis.lo / step) * step
    n = int(math.floor((axis.hi - first) / step + 1e-9)) + 1
    return [(first + i * step, compact(first + i * step)) for i in range(n)]


def log_range(*arrays: np.ndarray) -> tuple[float, float]:
    """Whole decades around the positive values of ``arrays`` (1..10 when there are none)."""
    vals = [a[a > 0] for a in arrays if len(a)]
    vals = [v for v in vals if len(v)]
    if not vals:
        return 1.0, 10.0
    lo = min(float(v.min()) for v in vals)
    hi = max(float(v.max()) for v in vals)
    lo, hi = 10.0 ** math.floor(math.log10(lo)), 10.0 ** math.ceil(math.log10(hi))
    return lo, hi if hi > lo else lo * 10
