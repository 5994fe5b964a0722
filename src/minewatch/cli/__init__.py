"""The `minewatch` command: parses, calls, renders. Only this package talks to people."""
