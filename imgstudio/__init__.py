"""imgstudio: a desktop image editor over a registry of typed image operations.

Importing this package is cheap: it loads neither Qt nor any heavy image library.
"""

__version__ = "0.1.0"
