"""The REST gateway (``crossborder serve``): one per institution, signing with its operators' keys.

``create_app`` builds the FastAPI application over a ``Gateway`` (platform, keys, tokens);
``openapi.json`` beside this file is its checked-in OpenAPI document.
"""

from .app import create_app
from .gateway import Gateway, Principal

__all__ = ["Gateway", "Principal", "create_app"]
