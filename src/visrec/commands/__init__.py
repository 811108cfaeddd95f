"""Subcommands of the visrec CLI, one module each (see visrec.cli)."""
