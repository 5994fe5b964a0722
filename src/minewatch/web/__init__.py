"""The FastAPI service: the HTTP API for sensors and tools, the console for people, and
the public tip-off page."""
