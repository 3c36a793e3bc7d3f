"""Services: the only way the UI and the command line read and change data.

Plain Python (no Textual), grouped by capability: `core` (kinds, rights, records, values,
lookups, the search index's documents, audit, settings, users) underneath, and above it
`search`, `duplicates`, `planning`, `analytics`, `transfer`, `mail` and `ops`. Each write
runs in its own transaction, rights are checked here, and results are plain dataclasses.
The layering is checked by import-linter (see pyproject.toml).
"""
