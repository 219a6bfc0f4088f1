from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from policy.loader import get_policy


def support_policy(request: HttpRequest) -> HttpResponse:
    return render(request, "policy/support_policy.html", {"policy": get_policy()})
