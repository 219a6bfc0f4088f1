from django_tasks import task

from chat.transcript import transcript_send


@task()
def send_transcript(*, session_id: int) -> None:
    transcript_send(session_id=session_id)
