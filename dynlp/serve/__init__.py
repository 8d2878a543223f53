"""`dynlp serve`: the ASGI app and its request checks (app, protocol: no DyNet), the pool of
worker processes that batches requests (pool), the worker that computes them (worker), and
`run`, which puts them together behind a socket."""
