from django_tasks import task

from chat import services
from chat.transcript import transcript_send


@task()
def send_transcript(*, session_id: int) -> None:
    transcript_send(session_id=session_id)


@task()
def chat_offer_expire(*, session_id: int, assigned_at: str) -> bool:
    return services.chat_offer_expire(session_id=session_id, assigned_at=assigned_at)
