"""Recording ratings. Every channel (the rating email's links, the chat widget, social
quick replies) records through ``feedback_record``, so validation, the one-rating-per-
interaction rule, the change window, the RATED event and the low-score follow-up are
the same everywhere."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from feedback.exceptions import InvalidRating, RatingLocked
from feedback.models import Rating
from policy.loader import get_policy
from tickets import events
from tickets.models import Ticket

MAX_COMMENT_CHARS = 2000


@dataclass(frozen=True)
class RatingResult:
    rating: Rating
    created: bool
    # False when the same score (and no new comment) came again: nothing was recorded.
    changed: bool


def score_check(score: object) -> int:
    feedback = get_policy().feedback
    if isinstance(score, str) and score.strip().isdigit():
        score = int(score.strip())
    if not isinstance(score, int) or isinstance(score, bool):
        raise InvalidRating(
            f"The score must be a whole number from {feedback.scale_min} to {feedback.scale_max}.",
            field="score",
        )
    if not feedback.scale_min <= score <= feedback.scale_max:
        raise InvalidRating(
            f"{score} is not a score: choose from {feedback.scale_min} to {feedback.scale_max}.",
            field="score",
        )
    return score


def feedback_record(
    *,
    ticket: Ticket,
    channel: str,
    score: object,
    comment: str = "",
    interaction: str = "",
    actor: User | None = None,
) -> RatingResult:
    """Record or change the rating of one interaction on ``ticket``.

    A blank ``comment`` keeps the comment already given (the rating email records the
    score first and the optional comment afterwards).
    """
    value = score_check(score)
    comment = (comment or "").replace("\x00", "").strip()[:MAX_COMMENT_CHARS]
    interaction = (interaction or f"ticket:{ticket.pk}")[:100]
    try:
        return _record(
            ticket=ticket,
            channel=channel,
            score=value,
            comment=comment,
            interaction=interaction,
            actor=actor,
        )
    except IntegrityError:
        # Two first ratings of one interaction at once: the other one was stored; this
        # one is applied as a change of it.
        return _record(
            ticket=ticket,
            channel=channel,
            score=value,
            comment=comment,
            interaction=interaction,
            actor=actor,
        )


@transaction.atomic
def _record(
    *, ticket: Ticket, channel: str, score: int, comment: str, interaction: str, actor: User | None
) -> RatingResult:
    policy = get_policy().feedback
    now = timezone.now()
    rating = (
        Rating.objects.select_for_update(no_key=True)
        .filter(ticket=ticket, interaction=interaction)
        .first()
    )
    previous: int | None = None
    created = rating is None
    if rating is None:
        # Read now, not from the caller's copy: the agent and category as they are.
        current = Ticket.objects.only("assignee_id", "category").get(pk=ticket.pk)
        with transaction.atomic():
            rating = Rating.objects.create(
                ticket=ticket,
                interaction=interaction,
                channel=channel,
                category=current.category,
                agent_id=current.assignee_id,
                score=score,
                comment=comment,
                created_at=now,
                updated_at=now,
            )
    else:
        if now - rating.created_at > policy.rating_window.timedelta:
            raise RatingLocked(
                f"This rating can no longer be changed: ratings can be changed for "
                f"{policy.rating_window} after they are given.",
                field="score",
            )
        if rating.score == score and (not comment or comment == rating.comment):
            return RatingResult(rating=rating, created=False, changed=False)
        previous = rating.score
        rating.score = score
        if comment:
            rating.comment = comment
        rating.updated_at = now
        rating.save(update_fields=["score", "comment", "updated_at"])
    events.rated(
        ticket=ticket,
        actor=actor,
        channel=channel,
        score=score,
        comment=rating.comment,
        interaction=interaction,
        rating_id=rating.pk,
        agent_id=rating.agent_id,
        category=rating.category,
        previous_score=previous,
    )
    _follow_up_if_low(rating=rating)
    return RatingResult(rating=rating, created=created, changed=True)


def _follow_up_if_low(*, rating: Rating) -> None:
    """A low score tells the supervisors (once per rating): a notification that links
    to the ticket, where the rating and its comment are shown."""
    from notifications.services import notify_supervisors

    threshold = get_policy().feedback.follow_up_at_or_below
    if threshold is None or rating.score > threshold or rating.follow_up_at is not None:
        return
    Rating.objects.filter(pk=rating.pk).update(follow_up_at=timezone.now())
    rating.follow_up_at = timezone.now()
    text = (
        f"Low rating {rating.score}/{get_policy().feedback.scale_max} on {rating.ticket.reference}"
    )
    if rating.comment:
        text += f": {rating.comment}"
    notify_supervisors(ticket=rating.ticket, kind="low_rating", text=text)
