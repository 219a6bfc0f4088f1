from django.contrib import admin

from feedback.models import Rating, RatingRequest


@admin.register(Rating)
class RatingAdmin(admin.ModelAdmin):
    list_display = ("id", "ticket", "interaction", "channel", "category", "agent", "score")
    list_filter = ("score", "channel", "category")
    raw_id_fields = ("ticket", "agent")
    # Ratings are the customer's words: recorded through feedback_record only.
    readonly_fields = ("ticket", "interaction", "channel", "category", "agent", "score", "comment")


@admin.register(RatingRequest)
class RatingRequestAdmin(admin.ModelAdmin):
    list_display = ("id", "ticket", "interaction", "email", "sent_at")
    raw_id_fields = ("ticket",)
    readonly_fields = ("sent_at", "last_error")
