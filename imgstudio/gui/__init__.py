"""PySide6 views and controllers. The only package that imports Qt."""
