"""The ``richness`` command."""
