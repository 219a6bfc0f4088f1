from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts.forms import SetPasswordByEmailForm
from config.api import api

urlpatterns = [
    path("", include("core.urls")),
    path("", include("monitoring.urls")),
    path("", include("policy.urls")),
    path("", include("portal.urls")),
    path("", include("chat.urls")),
    path("", include("identity.urls")),
    path("console/", include("console.urls")),
    path("", include("mail.urls")),
    path("help/", include("helpcenter.urls")),
    path("", include("social.urls")),
    path("reports/", include("reports.urls")),
    path("api/v1/", api.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # The support team's second factor (accounts.two_factor).
    path("accounts/", include("accounts.urls")),
    # Forgotten passwords, and customer accounts that never had one (see accounts.forms).
    path(
        "accounts/password/",
        auth_views.PasswordResetView.as_view(form_class=SetPasswordByEmailForm),
        name="password_reset",
    ),
    path(
        "accounts/password/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/password/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("admin/", admin.site.urls),
    path("console/conduct/", include("conduct.urls")),
    path("feedback/", include("feedback.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# A database outage answers 503 with Retry-After, never a 500 page (core.outage).
handler500 = "core.outage.server_error"
