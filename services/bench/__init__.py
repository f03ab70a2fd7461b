"""``richness bench``: each stage measured against its own limit, side by side, in one run."""
