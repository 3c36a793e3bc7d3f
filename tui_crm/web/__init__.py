"""The browser door (`tui-crm serve`): a login per person, origin and host checks, the
terminal UI per session through textual-serve, files delivered to the browser.

Layers as everywhere: this is a UI; passwords and audit live in tui_crm.services.
"""
