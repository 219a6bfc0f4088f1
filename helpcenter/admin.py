"""Editing in the Django admin: Markdown with a rendered preview, revisions, publishing.

Saves go through ``services.article_save`` so every edit is validated (placeholders), kept
as a revision and reflected in the search index.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from accounts.decorators import current_user
from helpcenter import services
from helpcenter.models import (
    RESERVED_SECTION_SLUGS,
    Article,
    ArticleFeedback,
    ArticleImage,
    ArticleRevision,
    Deflection,
    SearchGap,
    Section,
)
from helpcenter.placeholders import policy_facts
from helpcenter.rendering import render_markdown
from policy.loader import get_policy


class SectionForm(forms.ModelForm):
    class Meta:
        model = Section
        fields = ["name", "slug", "locale", "description", "policy_category", "position"]

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"]
        if slug in RESERVED_SECTION_SLUGS:
            raise ValidationError("This address is a Help Center page of its own.")
        return slug


@admin.register(Section)
class SectionAdmin(admin.ModelAdmin):
    form = SectionForm
    list_display = ["name", "slug", "policy_category", "locale", "position"]
    list_editable = ["position"]
    prepopulated_fields = {"slug": ["name"]}


class RevisionInline(admin.TabularInline):
    model = ArticleRevision
    extra = 0
    can_delete = False
    fields = ["number", "status", "title", "author", "note", "created_at"]
    readonly_fields = ["number", "status", "title", "author", "note", "created_at"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ImageInline(admin.TabularInline):
    model = ArticleImage
    extra = 1
    fields = ["image", "alt", "markdown"]
    readonly_fields = ["markdown"]

    @admin.display(description="Paste into the text")
    def markdown(self, obj: ArticleImage) -> str:
        return format_html("<code>{}</code>", obj.markdown) if obj.pk else "Save first."


class ArticleForm(forms.ModelForm):
    class Meta:
        model = Article
        fields = [
            "title", "slug", "section", "kind", "status", "locale", "summary", "body",
            "related", "position",
        ]  # fmt: skip
        widgets = {"body": forms.Textarea(attrs={"rows": 24, "style": "font-family: monospace"})}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            # The services' rules (known placeholders, section language) shown on the form.
            article = self.instance
            if "section" in data:
                services.article_validate(article=article)
        except ValidationError as exc:
            self.add_error(None, exc)
        return data


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    form = ArticleForm
    list_display = ["title", "section", "kind", "status", "locale", "updated_at", "view_count"]
    list_filter = ["status", "kind", "section", "locale"]
    search_fields = ["title", "summary", "body"]
    prepopulated_fields = {"slug": ["title"]}
    filter_horizontal = ["related"]
    readonly_fields = ["preview", "placeholders", "published_at", "updated_at", "view_count"]
    fieldsets = [
        (None, {"fields": ["title", "slug", "section", "kind", "status", "locale", "summary"]}),
        ("Text (Markdown)", {"fields": ["body", "placeholders", "preview"]}),
        ("More", {"fields": ["related", "position", "published_at", "updated_at", "view_count"]}),
    ]
    inlines = [ImageInline, RevisionInline]
    actions = ["publish", "unpublish"]

    @admin.display(description="Preview (as last saved)")
    def preview(self, obj: Article) -> str:
        if not obj.pk:
            return "Save to see the preview."
        return format_html(
            '<div class="helpcenter-preview" style="max-width:48rem">{}</div>',
            mark_safe(render_markdown(obj.body, policy=get_policy())),
        )

    @admin.display(description="Policy facts you can use")
    def placeholders(self, obj: Article) -> str:
        rows = format_html_join(
            "",
            "<li><code>{{{{ policy.{} }}}}</code> → {}</li>",
            sorted(policy_facts(get_policy()).items()),
        )
        return format_html("<ul>{}</ul>", rows)

    def save_model(self, request: HttpRequest, obj: Article, form: Any, change: bool) -> None:
        services.article_save(
            article=obj,
            author=current_user(request),
            note="edited in the admin",
        )

    def delete_model(self, request: HttpRequest, obj: Article) -> None:
        services.article_delete(article=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Article]) -> None:
        for article in queryset:
            services.article_delete(article=article)

    @admin.action(description="Publish the selected articles")
    def publish(self, request: HttpRequest, queryset: QuerySet[Article]) -> None:
        for article in queryset:
            services.article_publish(article=article, actor=current_user(request))
        messages.success(request, f"Published {queryset.count()} article(s).")

    @admin.action(description="Unpublish the selected articles")
    def unpublish(self, request: HttpRequest, queryset: QuerySet[Article]) -> None:
        for article in queryset:
            services.article_unpublish(article=article, actor=current_user(request))
        messages.success(request, f"Unpublished {queryset.count()} article(s).")


@admin.register(ArticleFeedback)
class ArticleFeedbackAdmin(admin.ModelAdmin):
    list_display = ["article", "helpful", "comment", "created_at"]
    list_filter = ["helpful"]


@admin.register(SearchGap)
class SearchGapAdmin(admin.ModelAdmin):
    list_display = ["query", "count", "locale", "last_seen_at"]


@admin.register(Deflection)
class DeflectionAdmin(admin.ModelAdmin):
    list_display = ["article", "source", "query", "created_at"]
    list_filter = ["source"]
