"""REST API v1: one NinjaAPI, a router per domain app."""

from ninja import NinjaAPI

api = NinjaAPI(title="Izonie Support API", version="1", urls_namespace="api-v1")
