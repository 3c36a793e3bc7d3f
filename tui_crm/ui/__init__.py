"""The Textual user interface. It calls tui_crm.services only, never the models."""
