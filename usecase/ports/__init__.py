"""Ports: what the use cases need from the outside world, as async Protocols, one module per
concern, each with the data it carries.

Implementations subclass these explicitly so mypy checks conformance where they are written.
Ports take and return domain objects or the data declared beside them, never rows, Pydantic
models or paths.
"""
