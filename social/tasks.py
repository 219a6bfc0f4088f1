"""Background work for the social channels; tasks take ids and are safe to run twice."""

from django_tasks import task

from social import services


@task()
def process_delivery(*, delivery_id: int) -> None:
    services.delivery_process(delivery_id=delivery_id)


@task()
def process_received_deliveries() -> None:
    services.deliveries_process_received()
