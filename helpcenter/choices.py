from django.db import models


class ArticleKind(models.TextChoices):
    FAQ = "faq", "FAQ"
    HOWTO = "howto", "How-to guide"


class ArticleStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"


class DeflectionSource(models.TextChoices):
    """Where a customer was shown the article that answered the question."""

    CONTACT_FORM = "contact_form", "Contact form"
    CHAT_OFFLINE = "chat_offline", "Chat (offline mode)"
    PRE_CHAT = "pre_chat", "Pre-chat form"
    HELP_CENTER = "help_center", "Help Center"
