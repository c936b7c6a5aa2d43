"""HTTP ingest gateway: JSON events from department systems to the hub's raw topics.

``create_app(publisher, departments, registry=...)`` builds the FastAPI app (in-process for
tests); ``hub gateway serve`` runs it under uvicorn; ``hub gateway token DEPARTMENT`` mints a
token and prints the hash to put into ``catalog/departments.yaml``.
"""
