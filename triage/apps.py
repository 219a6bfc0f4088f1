from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


def _account_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    """A saved or deleted account may change who is in a team (role, teams, active)."""
    from triage.routing import team_agents_forget

    update_fields = kwargs.get("update_fields")
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return  # signing in changes no team
    # A process that reads the lists between now and the commit caches the old list:
    # ``TEAM_AGENTS_SECONDS`` bounds that.
    team_agents_forget()


class TriageConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "triage"
    verbose_name = "Triage"

    def ready(self) -> None:
        from accounts.models import User

        post_save.connect(_account_changed, sender=User, dispatch_uid="triage_account_saved")
        post_delete.connect(_account_changed, sender=User, dispatch_uid="triage_account_deleted")
