"""Files in and out: import of tables and vCards, exports (tables, vCard, iCalendar) and
generated documents."""
