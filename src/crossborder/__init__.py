"""crossborder: cross-border finance blockchain service platform (SDK and CLI)."""

__version__ = "0.1.0"
