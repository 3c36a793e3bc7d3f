"""The command line: `main` parses and dispatches; one module per command group (mail,
planning, reports, transfer), `pinned` for the SSH forced command and `stdout` for writing
files to standard output. Every line a command prints goes through `output.say`/`warn`."""
