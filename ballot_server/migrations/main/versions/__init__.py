"""Migration scripts of the main database."""
