import factory
from factory.django import DjangoModelFactory

from accounts.tests.factories import BuyerFactory
from tickets.choices import Channel, Direction, MessageKind, PartyRole, TicketStatus
from tickets.models import Message, Party, Ticket


class TicketFactory(DjangoModelFactory):
    class Meta:
        model = Ticket
        skip_postgeneration_save = True

    subject = factory.Faker("sentence", nb_words=6)
    requester = factory.SubFactory(BuyerFactory)
    channel = Channel.WEB_FORM
    category = "order_status"
    team = "customer_care"
    status = TicketStatus.NEW
    message_count = 1

    @factory.post_generation
    def first_message(obj, create, extracted, **kwargs):
        if not create:
            return
        Party.objects.create(
            ticket=obj,
            user=obj.requester,
            role=PartyRole.REQUESTER,
            name=str(obj.requester),
            email=obj.requester.email,
        )
        Message.objects.create(
            ticket=obj,
            direction=Direction.INBOUND,
            kind=MessageKind.REPLY,
            author=obj.requester,
            author_name=str(obj.requester),
            channel=obj.channel,
            body_text=extracted or "Where is my order?",
        )


class MessageFactory(DjangoModelFactory):
    class Meta:
        model = Message

    ticket = factory.SubFactory(TicketFactory)
    direction = Direction.INBOUND
    kind = MessageKind.REPLY
    channel = Channel.WEB_FORM
    body_text = factory.Faker("paragraph")
