"""Outbox transports for Facebook Messenger, Instagram and TikTok: an agent's reply (or a
system question with quick replies) leaves through the platform's send API.

A ``DeliveryError`` marked permanent fails the outbox row at once, with the reason the
agent sees on the ticket (an expired token, a blocked user, a closed window); anything
else is retried by the outbox with back-off.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from social import clients
from social.models import (
    CommentReply,
    ConversationKind,
    EventKind,
    Platform,
    PublicComment,
    QuickReplyOffer,
    ReplyVisibility,
    SentPart,
    SocialConversation,
)
from social.windows import WindowState, messaging_window
from tickets.delivery import DeliveryError
from tickets.models import OutboundMessage

# Messenger and Instagram allow up to 13 quick replies, each title up to 20 characters.
MAX_QUICK_REPLIES = 13


def _conversation(outbound: OutboundMessage) -> SocialConversation:
    conversation = (
        SocialConversation.objects.select_related("contact__account", "ticket__requester")
        .filter(ticket_id=outbound.message.ticket_id)
        .first()
    )
    if conversation is None:
        raise DeliveryError(
            "This conversation did not come in through a connected social account, so "
            "there is nobody to send the reply to.",
            permanent=True,
        )
    if not conversation.contact.account.active or not conversation.contact.account.access_token:
        raise DeliveryError(
            f"The account {conversation.contact.account.name} is switched off or has no access "
            "token; an admin must reconnect it.",
            permanent=True,
        )
    return conversation


def _window_closed(conversation: SocialConversation) -> DeliveryError:
    platform = Platform(conversation.contact.account.platform).label
    email = conversation.ticket.requester.email
    offer = (
        f" The customer gave the address {email}: reply by email instead."
        if email
        else " The customer has given no email address; the reply can go out once they write again."
    )
    return DeliveryError(
        f"The {platform} messaging window has closed (the customer last wrote more than the "
        f"platform allows), so {platform} will not deliver this reply.{offer}",
        permanent=True,
    )


def _quick_replies(outbound: OutboundMessage) -> list[dict[str, str]]:
    offer = QuickReplyOffer.objects.filter(message_id=outbound.message_id).first()
    return list(offer.options[:MAX_QUICK_REPLIES]) if offer else []


def _comment_transport(outbound: OutboundMessage, conversation: SocialConversation) -> None:
    """A reply on a public-comment conversation: under the comment (public reply) or as
    Meta's one private reply to it, as the agent chose (``CommentReply``). An agent's
    reply without a choice (the API) is public; automatic messages (escalation notices,
    reminders) are never posted under a public comment."""
    account = conversation.contact.account
    message = outbound.message
    route = CommentReply.objects.select_related("comment").filter(message=message).first()
    if route is not None:
        comment, visibility = route.comment, route.visibility
    else:
        if message.author_id is None:
            raise DeliveryError(
                "Automatic messages are not posted under public comments: this one stays on "
                "the ticket for the team only.",
                permanent=True,
            )
        latest = conversation.comments.order_by("-commented_at", "-pk").first()
        if latest is None:
            raise DeliveryError("There is no comment on this ticket to answer.", permanent=True)
        comment, visibility = latest, ReplyVisibility.PUBLIC
    if SentPart.objects.filter(outbound=outbound, part="comment-reply").exists():
        return
    try:
        if visibility == ReplyVisibility.PRIVATE:
            sent_id = clients.comment_private_reply(
                account=account, comment_id=comment.comment_id, text=message.body_text[:2000]
            )
            PublicComment.objects.filter(pk=comment.pk).update(private_reply_at=timezone.now())
        else:
            sent_id = clients.comment_public_reply(
                account=account,
                comment_id=comment.comment_id,
                text=message.body_text[:2000],
                mention_media_id=comment.post_id if comment.kind == EventKind.MENTION else "",
            )
    except clients.PlatformError as exc:
        raise DeliveryError(exc.reason, permanent=exc.permanent) from exc
    SentPart.objects.create(outbound=outbound, part="comment-reply", platform_message_id=sent_id)


def meta_transport(outbound: OutboundMessage) -> None:
    conversation = _conversation(outbound)
    if conversation.kind == ConversationKind.COMMENTS:
        _comment_transport(outbound, conversation)
        return
    contact = conversation.contact
    window = messaging_window(
        platform=contact.account.platform,
        last_inbound_at=contact.last_inbound_at,
        now=timezone.now(),
    )
    if window.state == WindowState.CLOSED:
        raise _window_closed(conversation)
    fields: dict[str, Any] = {"recipient": {"id": contact.sender_id}}
    if window.state == WindowState.OPEN:
        fields["messaging_type"] = "RESPONSE"
    else:
        fields["messaging_type"] = "MESSAGE_TAG"
        fields["tag"] = "HUMAN_AGENT"
    sent = set(SentPart.objects.filter(outbound=outbound).values_list("part", flat=True))
    try:
        text = outbound.message.body_text
        if text and "text" not in sent:
            message: dict[str, Any] = {"text": text[:2000]}
            options = _quick_replies(outbound)
            if options:
                message["quick_replies"] = [
                    {"content_type": "text", "title": o["title"][:20], "payload": o["payload"]}
                    for o in options
                ]
            message_id = clients.meta_send(
                account=contact.account, body={**fields, "message": message}
            )
            SentPart.objects.create(outbound=outbound, part="text", platform_message_id=message_id)
        for attachment in outbound.message.attachments.filter(kept=True).order_by("pk"):
            part = f"attachment:{attachment.pk}"
            if part in sent or not attachment.file:
                continue
            with attachment.file.open("rb") as handle:
                content = handle.read()
            message_id = clients.meta_send_file(
                account=contact.account,
                fields=fields,
                attachment_type="image" if attachment.is_image else "file",
                filename=attachment.filename,
                content=content,
                content_type=attachment.content_type,
            )
            SentPart.objects.create(outbound=outbound, part=part, platform_message_id=message_id)
    except clients.PlatformError as exc:
        raise DeliveryError(exc.reason, permanent=exc.permanent) from exc


def tiktok_transport(outbound: OutboundMessage) -> None:
    conversation = _conversation(outbound)
    contact = conversation.contact
    window = messaging_window(
        platform=Platform.TIKTOK, last_inbound_at=contact.last_inbound_at, now=timezone.now()
    )
    if window.state == WindowState.CLOSED:
        raise _window_closed(conversation)
    text = outbound.message.body_text
    options = _quick_replies(outbound)
    # No quick-reply buttons in TikTok's send API: the choices are numbered in the text
    # (already, for the category question) and a typed number or name answers.
    if options and not any(line.startswith("1.") for line in text.splitlines()):
        text += "\n" + " / ".join(o["title"] for o in options)
    if not SentPart.objects.filter(outbound=outbound, part="text").exists():
        try:
            message_id = clients.tiktok_send(
                account=contact.account, conversation_id=contact.conversation_id, text=text[:6000]
            )
        except clients.PlatformError as exc:
            raise DeliveryError(exc.reason, permanent=exc.permanent) from exc
        SentPart.objects.create(outbound=outbound, part="text", platform_message_id=message_id)
    # TikTok documents image messages sent from an uploaded media id, but not (in anything
    # we could check) the upload call itself; rather than guess, files are not sent, and
    # the agent is told so instead of believing the customer has them.
    unsent = [a.filename for a in outbound.message.attachments.filter(kept=True).order_by("pk")]
    if unsent:
        raise DeliveryError(
            "The text reached the customer on TikTok, but not "
            + ", ".join(unsent)
            + ": replies to TikTok from Izonie Support carry text only. Describe what the "
            "file shows, or ask the customer for an email address and send it there.",
            permanent=True,
        )
