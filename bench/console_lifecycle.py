"""The console's lifecycle pages (客户阶段, 客户, SOP 规则, 公海) over the same generated corp as
bench/console.py (100,000 customers, 1,000,000 messages, 200 reps): same options, these pages.

    .venv/bin/python bench/console_lifecycle.py [--runs 20] [--scale 1.0] [--sqlite-file F --reuse]
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

PAGES = [  # (who, label, url)
    ("boss", "stages, week, admin", "/console/stages"),
    ("sup02", "stages, week, supervisor", "/console/stages"),
    ("boss", "customers, admin", "/console/customers"),
    ("boss", "customers, admin, 未互动", "/console/customers?tier=%E6%9C%AA%E4%BA%92%E5%8A%A8"),
    ("sup02", "customers, supervisor", "/console/customers"),
    ("boss", "customers, one rep", "/console/customers?rep=rep007"),
    ("boss", "SOP rules", "/console/sop"),
    ("boss", "pool, admin", "/console/pool"),
    ("sup02", "pool, supervisor", "/console/pool"),
]


def main() -> int:
    """Run bench/console.py's generator and measurement on these pages."""
    # Loaded by path: a plain import of bench/console.py would shadow the console package.
    spec = importlib.util.spec_from_file_location(
        "bench_console", Path(__file__).with_name("console.py")
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.PAGES[:] = PAGES
    return int(module.main())


if __name__ == "__main__":
    raise SystemExit(main())
