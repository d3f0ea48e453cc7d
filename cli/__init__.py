"""Command groups of the `kaohe` command, one module per area; each has `register(app)`."""
