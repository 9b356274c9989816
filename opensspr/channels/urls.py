from django.urls import path

from opensspr.channels import views

app_name = "channels"
urlpatterns = [
    path("outbox/", views.outbox_page, name="outbox"),
]
