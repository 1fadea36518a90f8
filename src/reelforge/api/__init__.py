"""The REST service: FastAPI app, auth, errors, pagination and the /v1 routers."""
