"""The geometry of the console's SVG charts, from figures already computed by the use cases: where each point,
bar and line falls. The templates draw it (``console/charts.html``); nothing here reads or sums anything."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str  # what the point stands for, shown as its tooltip
    alert: bool


@dataclass(frozen=True)
class DriftChart:
    """One check's drift % over the runs, oldest first, against the alert line."""

    name: str
    width: int
    height: int
    points: list[Point]
    alert_y: float
    top_pct: Decimal  # the value at the top of the chart

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)

    @property
    def alerted(self) -> int:
        return sum(1 for p in self.points if p.alert)


def drift_chart(name: str, runs: list[tuple[str, Decimal, bool]], threshold_pct: Decimal, *, width: int = 240, height: int = 60) -> DriftChart:
    """``runs``: (when, drift %, alerted), oldest first. The scale reaches twice the alert line at least, so the line
    is always drawn inside the chart, and higher when a run drifted further."""
    pad = 4
    top = max([threshold_pct * 2, Decimal("0.01"), *(drift for _, drift, _ in runs)])
    step = (width - 2 * pad) / max(len(runs) - 1, 1)

    def y_of(value: Decimal) -> float:
        return round(height - pad - float(value / top) * (height - 2 * pad), 1)

    points = [Point(round(pad + i * step, 1), y_of(drift), f"{when}: {drift} %", alert) for i, (when, drift, alert) in enumerate(runs)]
    return DriftChart(name, width, height, points, y_of(threshold_pct), top)


@dataclass(frozen=True)
class Bar:
    label: str
    value: str
    y: int
    width: float


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    width: int
    height: int
    label_width: int
    bar_height: int


def bar_chart(items: list[tuple[str, Decimal, str]], *, width: int = 640, label_width: int = 200, bar_height: int = 22) -> BarChart:
    """``items``: (label, value, value as shown), one horizontal bar each, scaled to the largest."""
    largest = max([value for _, value, _ in items if value > 0], default=Decimal(1))
    room = width - label_width - 110
    bars = [Bar(label, shown, i * (bar_height + 6), round(float(max(value, Decimal(0)) / largest) * room, 1))
            for i, (label, value, shown) in enumerate(items)]
    return BarChart(bars, width, max(len(items), 1) * (bar_height + 6), label_width, bar_height)


@dataclass(frozen=True)
class Gauge:
    used: float  # 0..1
    width: int

    @property
    def used_width(self) -> float:
        return round(self.used * self.width, 1)

    @property
    def percent(self) -> str:
        return f"{self.used * 100:.1f}"


def gauge(used: Decimal | int, total: Decimal | int | None, *, width: int = 160) -> Gauge | None:
    """How much of ``total`` is used; no gauge for a total that is not set."""
    if total is None or total <= 0:
        return None
    return Gauge(min(max(float(Decimal(used) / Decimal(total)), 0.0), 1.0), width)
