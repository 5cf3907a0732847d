"""Thin Falcon resources: validate at the edge, call one use case, set `resp.media`."""
