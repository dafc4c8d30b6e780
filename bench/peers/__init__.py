"""The Python peers chatstore is measured against, each served by uvicorn like chatstore."""
