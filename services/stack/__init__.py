"""The embedded local stack: a supervisor that starts, checks and stops every component."""
