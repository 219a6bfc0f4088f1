from django.http import HttpRequest, HttpResponse


def contact(request: HttpRequest) -> HttpResponse:
    return HttpResponse("todo")


def requests_list(request: HttpRequest) -> HttpResponse:
    return HttpResponse("todo")


def request_detail(request: HttpRequest, ticket_id: int) -> HttpResponse:
    return HttpResponse("todo")
