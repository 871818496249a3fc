"""Dialogs: one module per dialog, each built on the narrowest model it needs.

- :mod:`.search` — ``SearchDialog(jobs, image_source)``: index a folder, find the source of an
  image among its files (the index and query ops the search declares), shown as thumbnails.

Import the dialog modules directly; this package imports nothing heavy.
"""
