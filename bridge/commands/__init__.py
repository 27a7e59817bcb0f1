"""One module per ``bridge`` subcommand; each exposes ``register(subparsers)``."""
