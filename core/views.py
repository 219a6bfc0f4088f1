from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render


def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    if user.is_authenticated and getattr(user, "is_agent", False):
        return redirect("console:inbox")
    return render(request, "core/home.html")


def health(request: HttpRequest) -> JsonResponse:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
