"""The shared core every capability builds on: record kinds and their fields, rights and
visibility, records (create/read/update/delete), values and lookups, the search index's
documents, audit, settings, users and the acting identity."""
