"""Background work for feedback: ids in, safe to run late or twice."""

from django_tasks import task

from feedback.requests import rating_email_send


@task()
def send_rating_email(*, request_id: int) -> None:
    rating_email_send(request_id=request_id)
