"""`python -m tui_crm` runs the same command line as `tui-crm`."""

from tui_crm.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
