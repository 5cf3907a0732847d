"""The application: configuration, composition root, HTTP API, worker and command line."""

__version__ = "0.1.0"
