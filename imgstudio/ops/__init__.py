"""Built-in operations, one module per family. Heavy libraries are imported inside functions."""
