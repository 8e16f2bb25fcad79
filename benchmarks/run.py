"""`make bench`: every benchmark in one run (delivery, the criteria engines when present, the
experiment statistics, then two gunicorn instances behind nginx)."""

from __future__ import annotations

import importlib.util
import os
import sys
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.settings"


def main() -> int:
    failures = 0
    from benchmarks import delivery

    summary = {}
    try:
        summary = delivery.main()
    except Exception:
        traceback.print_exc()
        failures += 1
    if importlib.util.find_spec("benchmarks.criteria_engines") is not None:
        module = importlib.import_module("benchmarks.criteria_engines")
        if hasattr(module, "main"):
            print()
            try:
                module.main([])
            except Exception:
                traceback.print_exc()
                failures += 1
    print()
    try:
        importlib.import_module("benchmarks.experiment_stats").main()
    except Exception:
        traceback.print_exc()
        failures += 1
    print()
    try:
        importlib.import_module("benchmarks.load_multi").main()
    except Exception:
        traceback.print_exc()
        failures += 1
    if summary:
        ip, http, ev = summary["inprocess"], summary["http"], summary["events"]
        print("\n== Summary (delivery) ==")
        print(
            f"in-process decide median: {ip['engine_median_us']:.1f} µs (target ≤ 150 µs: "
            f"{ip['engine_median_us'] / 150:.2f}x of budget)"
        )
        print(
            f"HTTP decide {http['decide']['rps']:.0f} req/s vs bare {http['bare']['rps']:.0f} req/s "  # noqa: E501
            f"= {http['ratio']['value']:.0%} (target ≥ 50 %; a 3-placement page: "
            f"{http['decide3']['rps']:.0f} req/s = {http['ratio']['page']:.0%}); p50/p99 decide "
            f"{http['decide']['p50_ms']:.2f}/{http['decide']['p99_ms']:.2f} ms, bare "
            f"{http['bare']['p50_ms']:.2f}/{http['bare']['p99_ms']:.2f} ms"
        )
        print(f"events ingested: {ev['events_per_s']:,.0f} events/s into PostgreSQL")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
