"""Migration scripts of the registry database."""
