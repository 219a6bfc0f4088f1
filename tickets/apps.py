from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


def _account_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    """A saved or deleted account may change who tickets can be assigned to, and by what
    name (``tickets.selectors.agent_choices`` is cached)."""
    from tickets.selectors import agent_choices_forget

    update_fields = kwargs.get("update_fields")
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return  # signing in changes neither
    agent_choices_forget()


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Conversations"

    def ready(self) -> None:
        from accounts.models import User
        from tickets import delivery

        delivery.register_builtin_transports()
        post_save.connect(_account_changed, sender=User, dispatch_uid="tickets_account_saved")
        post_delete.connect(_account_changed, sender=User, dispatch_uid="tickets_account_deleted")
