"""`python -m minewatch.cli`: the same as the `minewatch` command."""

from minewatch.cli.main import run

run()
