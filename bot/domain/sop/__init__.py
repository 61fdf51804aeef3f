"""SOP automation: rules as data (rules), set-based run creation (triggers), the due-step
executor (runs) and the actions a step takes (actions). See docs/lifecycle.md."""
