from django.urls import path

from . import views

app_name = "privacy"

urlpatterns = [
    path("settings/privacy/", views.privacy_page, name="settings"),
    path("privacy/contacts/<int:contact_id>/export", views.export_contact, name="export"),
    path("privacy/contacts/<int:contact_id>/erase", views.erase_contact, name="erase"),
]
