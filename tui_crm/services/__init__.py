"""Services: the only way the UI and the command line read and change data.

Plain Python (no Textual), one module per capability; each write runs in its own
transaction, rights are checked here, and results are plain dataclasses.
"""
