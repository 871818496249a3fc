"""Model store: where weights live, checksums, safe loading.

:mod:`imgstudio.models.store` finds and checks model files; :mod:`imgstudio.models.loading`
imports torch (configured) and reads weights without unpickling; :mod:`imgstudio.models.labels`
holds the label sets. Importing this package imports neither torch nor any model library.
"""

from imgstudio.core.errors import MissingExtraError, ModelNotFoundError

__all__ = ["MissingExtraError", "ModelNotFoundError"]
