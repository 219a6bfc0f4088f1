"""Background work for the social channels; tasks take ids and are safe to run twice."""

from django.conf import settings
from django_tasks import task

from social import services


@task()
def process_delivery(*, delivery_id: int) -> None:
    services.delivery_process(delivery_id=delivery_id)


@task()
def process_received_deliveries() -> None:
    # A bounded run, then a fresh one for the rest: a backlog of thousands would otherwise
    # keep this task running for minutes, and the worker could not stop until it ended.
    drained = services.deliveries_process_received(
        max_seconds=settings.IZONIE_SOCIAL_DRAIN_MAX_SECONDS
    )
    if not drained.finished:
        process_received_deliveries.enqueue()


@task()
def retry_attachment_download(*, attachment_id: int) -> None:
    from tickets.models import Attachment

    attachment = Attachment.objects.filter(pk=attachment_id).first()
    if attachment is not None:  # deleted since: nothing to do
        services.social_attachment_retry(attachment=attachment)
