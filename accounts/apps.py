from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from accounts.staff_sessions import activity_start

        user_logged_in.connect(activity_start, dispatch_uid="accounts.staff_activity_start")
