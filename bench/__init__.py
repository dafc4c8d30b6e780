"""`make bench`: chatstore measured beside nginx, Jupyter Server, Starlette and FastAPI."""
