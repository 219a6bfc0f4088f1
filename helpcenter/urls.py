from django.contrib.sitemaps.views import sitemap
from django.urls import path

from helpcenter import views
from helpcenter.sitemaps import SITEMAPS

app_name = "helpcenter"

# Fixed paths first: section slugs can never take these (RESERVED_SECTION_SLUGS).
urlpatterns = [
    path("", views.home, name="home"),
    path("search", views.search, name="search"),
    path("suggest", views.suggest, name="suggest"),
    path("sitemap.xml", sitemap, {"sitemaps": SITEMAPS}, name="sitemap"),
    path("api/suggestions", views.api_suggestions, name="api_suggestions"),
    path("api/deflections", views.api_deflection, name="api_deflection"),
    path("articles/<int:article_id>/feedback", views.article_feedback, name="feedback"),
    path("images/<int:image_id>", views.image, name="image"),
    path("report", views.report, name="report"),
    path("<slug:section_slug>/", views.section, name="section"),
    path("<slug:section_slug>/<slug:article_slug>", views.article, name="article"),
]
