from django.urls import path

from chat import views

app_name = "chat"

urlpatterns = [
    path("chat/status", views.status, name="status"),
    path("chat/status/pulse", views.pulse, name="pulse"),
    path("chat/offline-message", views.offline_message, name="offline_message"),
    path("chat/sessions/<uuid:public_id>/history", views.history, name="history"),
    path("chat/sessions/<uuid:public_id>/uploads", views.upload, name="upload"),
    path(
        "chat/sessions/<uuid:public_id>/attachments/<int:attachment_id>",
        views.attachment,
        name="attachment",
    ),
    path("demo/product/izonie-x12-pro", views.demo_product, name="demo_product"),
    path("console/chat/", views.desk, name="desk"),
    path("console/chat/sessions/<uuid:public_id>/visitor", views.visitor, name="visitor"),
    path("console/chat/sessions/<uuid:public_id>/macros", views.macros, name="macros"),
    path("console/chat/macros/<int:macro_id>/used", views.macro_used, name="macro_used"),
    path(
        "console/chat/sessions/<uuid:public_id>/uploads",
        views.agent_upload,
        name="agent_upload",
    ),
]
