"""tui-crm: a keyboard-driven client-base organizer and small-team CRM for the terminal."""

__version__ = "0.1.0"
