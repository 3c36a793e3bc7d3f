"""Pure text rules, one implementation each: phones, INN / e-mail / web addresses, names and
dates. No database, no UI: every module here imports only the standard library, small
parsing libraries (phonenumbers, dateutil) and `tui_crm.i18n`, so the services, the CLI,
the importer and `tui-crm find` all share them (tests/unit/test_text_purity.py checks)."""
