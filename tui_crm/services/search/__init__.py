"""Quick search across sections and the command palette's finder (ranking included)."""
