"""Dialogs: one module per dialog, each built on the narrowest model it needs.

- :mod:`.search` — ``SearchDialog(jobs, image_source)``: index a folder, find the source of an
  image among its files (the index and query ops the search declares), shown as thumbnails.
- :mod:`.models` — ``ModelsDialog(jobs)``: the model store's models and their status; import
  a weights file, reveal the model folder, verify checksums (Tools → Models…).

Import the dialog modules directly; this package imports nothing heavy.
"""
