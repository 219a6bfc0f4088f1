from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


def _account_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    """A saved or deleted account may change who is in a team (role, teams, active)."""
    from workload.routing import team_agents_forget

    update_fields = kwargs.get("update_fields")
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return  # signing in changes no team
    # A process that reads the lists between now and the commit caches the old list:
    # ``TEAM_AGENTS_SECONDS`` bounds that.
    team_agents_forget()


class WorkloadConfig(AppConfig):
    name = "workload"
    verbose_name = "Workload: shifts, and reassignment when a shift ends or an agent is overloaded"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out

        from accounts.models import User
        from workload.signals import shift_end_on_sign_out

        user_logged_out.connect(shift_end_on_sign_out, dispatch_uid="workload_shift_sign_out")
        # Who is in a team is cached for routing (``workload.routing.team_agents``).
        post_save.connect(_account_changed, sender=User, dispatch_uid="routing_account_saved")
        post_delete.connect(_account_changed, sender=User, dispatch_uid="routing_account_deleted")
