from django.apps import AppConfig


class WorkloadConfig(AppConfig):
    name = "workload"
    verbose_name = "Workload: shifts, and reassignment when a shift ends or an agent is overloaded"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out

        from workload.signals import shift_end_on_sign_out

        user_logged_out.connect(shift_end_on_sign_out, dispatch_uid="workload_shift_sign_out")
