"""Background work for identity: ids in, idempotent."""

from django_tasks import task

from identity import services


@task()
def deliver_challenge(*, challenge_id: int) -> None:
    services.challenge_deliver(challenge_id=challenge_id)
