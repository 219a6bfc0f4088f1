"""``PlainSelect`` writes the same ``<select>`` as Django's ``Select``, in one pass."""

from __future__ import annotations

import pytest
from django import forms
from django.test.html import parse_html

from core.forms import PlainSelect

CHOICES = [
    ("", "Unassigned"),
    ("7", "Ada"),
    ("12", 'Tunde <b>"the fixer"</b> & co'),  # a display name is typed by its owner
    ("30", "Ngozi"),
]


@pytest.mark.parametrize(
    ("value", "attrs"),
    [
        (None, {"id": "id_assignee"}),
        ("12", {"id": "id_assignee", "required": True}),
        ("30", {"id": "id_assignee", "aria-invalid": "true", "disabled": False}),
        ("", {}),
    ],
)
def test_it_renders_what_djangos_select_renders(value, attrs):
    django_select = forms.Select(choices=CHOICES, attrs={"class": "wide"})
    plain = PlainSelect(choices=CHOICES, attrs={"class": "wide"})
    ours = plain.render("assignee", value, attrs=dict(attrs))
    assert parse_html(ours) == parse_html(
        django_select.render("assignee", value, attrs=dict(attrs))
    )
    assert "<b>" not in ours  # escaped, not markup


def test_the_ticket_pages_form_selects_the_assignee_among_every_agent(db):
    from accounts.tests.factories import AgentFactory, SupervisorFactory
    from console.forms import TicketUpdateForm

    agents = [AgentFactory(display_name=f"Agent {n}") for n in range(3)]
    supervisor = SupervisorFactory(display_name="Sade <Supervisor>")
    form = TicketUpdateForm(initial={"assignee": str(agents[1].pk), "status": "open"})
    html = str(form["assignee"])
    assert html.count("<option") == 1 + 4  # "Unassigned" and every staff member
    assert f'<option value="{agents[1].pk}" selected>Agent 1</option>' in html
    assert f'<option value="{supervisor.pk}">Sade &lt;Supervisor&gt;</option>' in html


def test_the_assignee_list_is_read_once_and_follows_every_account_change(db):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.tests.factories import AgentFactory
    from console.forms import TicketUpdateForm

    ada = AgentFactory(display_name="Ada")
    assert "Ada</option>" in str(TicketUpdateForm()["assignee"])
    with CaptureQueriesContext(connection) as queries:
        html = str(TicketUpdateForm()["assignee"])
    assert "Ada</option>" in html and queries.captured_queries == []  # cached

    ada.display_name = "Ada Obi"
    ada.save()
    tunde = AgentFactory(display_name="Tunde")
    html = str(TicketUpdateForm()["assignee"])
    assert "Ada Obi</option>" in html and "Tunde</option>" in html
    tunde.is_active = False
    tunde.save()
    assert "Tunde" not in str(TicketUpdateForm()["assignee"])
