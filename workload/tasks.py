"""Background work for reassignment: ids in, safe to run late or twice."""

from django_tasks import task

from accounts.models import User
from workload import services
from workload.models import Reason


# Queued by chat presence before shifts existed; kept so such tasks still run.
@task()
def reassign_from_agent(*, agent_id: int, reason: str) -> None:
    agent = User.objects.filter(pk=agent_id).first()
    if agent is not None:
        services.tickets_reassign_from(agent=agent, reason=Reason(reason))


@task()
def presence_check(*, agent_id: int, expected_due: str) -> None:
    services.presence_check(agent_id=agent_id, expected_due=expected_due)


@task()
def shift_absence_check(*, shift_id: int, expected_due: str) -> None:
    from workload import shifts

    shifts.shift_absence_check(shift_id=shift_id, expected_due=expected_due)
