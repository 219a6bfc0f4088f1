from django.apps import AppConfig


class WorkloadConfig(AppConfig):
    name = "workload"
    verbose_name = "Workload: reassignment when agents go offline or are overloaded"
