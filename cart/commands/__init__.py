"""One module per area adds its ``cart`` subcommands; see ``cart.cli``."""
