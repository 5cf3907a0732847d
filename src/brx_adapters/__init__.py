"""Adapters: one sub-package per outside system, each implementing ports of `brx_domain`."""
