"""Customer data: reading exports, cleaning and validating them, personal columns, generated customers."""
