"""A reconciliation report as CSV, for the API's export and the console's: one line per check, then one per
discrepancy."""

from __future__ import annotations

import csv
import io
from typing import Any

HEADER = ["kind", "name_or_entity", "id", "field", "expected", "actual", "drift", "drift_pct", "alert"]


def run_csv(report: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for check in report["checks"]:
        writer.writerow(["check", check["name"], "", "", check["expected"], check["actual"], check["drift"], check["drift_pct"], check["alert"]])
    for item in report["discrepancies"]:
        writer.writerow(["discrepancy", item["entity"], item["id"], item["field"], item["expected"], item["actual"], "", "", ""])
    return out.getvalue()
