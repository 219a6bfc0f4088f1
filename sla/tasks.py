from django_tasks import task

from sla import services


@task()
def sla_clock_fire(*, clock_id: int, moment: str, expected_at: str) -> str:
    return services.clock_fire(clock_id=clock_id, moment=moment, expected_at=expected_at)
