"""tui-crm's benchmark: `python -m benchmarks [--quick] [--json]`."""
