"""Accord's benchmarks (issue 3): ``python -m benchmarks --help``.

Modules: ``options`` (command line), ``servers`` (fresh databases, Accord's granian server, the
floor, cleanup), ``datasets`` (schema, API token, demo loads, request paths; ``sample`` runs
inside Django), ``load`` (wrk and its Lua scripts in ``lua/``, a JSON client), ``figures``
(JSON lines and targets), and one module per benchmark: ``create``, ``bulk``, ``reads``,
``demo``. See docs/operations/benchmarks.md.
"""
