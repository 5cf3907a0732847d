"""Thin Falcon resources: validate at the edge, call one use case, set `resp.media`.

The pattern every resource follows (see `brx_app.http.io`): path parameters arrive typed and
bounded (`schemas.PathParams`, checked by the auth middleware), the query string is
`query(req, SomeQuery)` and the body `await read_json(req, SomeBody)`; the body model turns
itself into the domain's value (`ItemUpdate.to_patch()`, `PurchaseRequest.units`). Every bound
comes from `brx_domain.limits`; the route's `Op` in `app.py` names the same models, so the
OpenAPI document describes exactly what is accepted."""
