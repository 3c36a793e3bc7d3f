"""Running the base: backups and restores, the demo database."""
