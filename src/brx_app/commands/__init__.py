"""One module per `brx-sync` subcommand, each with `run(args) -> int`."""
