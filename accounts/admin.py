from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.models import ApiToken, User
from dataprotection.admin import erase_customer_data, export_customer_data


@admin.register(User)
class IzonieUserAdmin(UserAdmin):
    list_display = ("username", "email", "display_name", "role", "is_active")
    list_filter = ("role", "is_active")
    # Data-protection requests (NDPA, GDPR): a customer's data as one archive, or erased.
    actions = (export_customer_data, erase_customer_data)
    fieldsets = (
        *(UserAdmin.fieldsets or ()),
        ("Izonie", {"fields": ("role", "display_name", "teams")}),
    )


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "created_at", "last_used_at", "revoked")
    readonly_fields = ("key", "created_at", "last_used_at")
