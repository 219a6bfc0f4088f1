"""Background work for disputes: ids in, idempotent."""

from django_tasks import task

from disputes import services


@task()
def deliver_seller_notice(*, notice_id: int) -> None:
    services.seller_notice_attempt(notice_id=notice_id)
