from django.http import HttpRequest, HttpResponse


def inbox(request: HttpRequest) -> HttpResponse:
    return HttpResponse("todo")


def ticket_detail(request: HttpRequest, ticket_id: int) -> HttpResponse:
    return HttpResponse("todo")
