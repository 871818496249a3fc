"""Network architectures of the models imgstudio trains (one module per kind). Each module
imports torch when it is imported, through :func:`imgstudio.models.loading.torch`: import them
inside an operation, never at the top of an ops module."""
