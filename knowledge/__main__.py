"""python -m knowledge: import, export, ask, eval."""

from knowledge.cli import main

raise SystemExit(main())
