"""Background work for tickets. Tasks take ids and re-read rows; they survive running
late or twice."""

from django_tasks import task

from tickets import services


@task()
def deliver_outbound(*, outbound_id: int) -> None:
    services.outbound_attempt(outbound_id=outbound_id)
