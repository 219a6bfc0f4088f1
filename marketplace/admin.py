from django.contrib import admin

from marketplace.models import Order, Seller

admin.site.register(Seller)


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("number", "buyer", "seller", "status", "placed_at")
    search_fields = ("number",)
    list_filter = ("status",)
