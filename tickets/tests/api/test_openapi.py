import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_openapi_document_describes_every_operation_and_the_error_shape():
    schema = Client().get("/api/v1/openapi.json").json()
    operations = {
        (path, method): operation
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    }
    assert {key: op["operationId"] for key, op in operations.items()} == {
        ("/api/v1/tickets", "post"): "ticket_create",
        ("/api/v1/tickets/create_many", "post"): "ticket_create_many",
        ("/api/v1/tickets", "get"): "ticket_list",
        ("/api/v1/tickets/{ticket_id}", "get"): "ticket_detail",
        ("/api/v1/tickets/{ticket_id}", "patch"): "ticket_update",
        ("/api/v1/tickets/{ticket_id}/replies", "post"): "reply_create",
        ("/api/v1/tickets/{ticket_id}/notes", "post"): "note_create",
        ("/api/v1/tickets/{ticket_id}/rating", "post"): "rating_record",
    }
    replies = operations[("/api/v1/tickets/{ticket_id}/replies", "post")]["responses"]
    assert set(replies) == {"201", "400", "401", "403", "404", "409", "422"}
    problem = schema["components"]["schemas"]["ProblemOut"]
    assert set(problem["properties"]) == {"code", "detail", "fields"}
    schemes = schema["components"]["securitySchemes"]
    assert {scheme["type"] for scheme in schemes.values()} == {"http", "apiKey"}


def test_interactive_docs_are_served():
    response = Client().get("/api/v1/docs")
    assert response.status_code == 200
    assert b"/api/v1/openapi.json" in response.content
