"""Web surfaces: FastAPI routers (notifications, credit check, reports API) and the app that mounts them."""
