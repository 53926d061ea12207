from django.urls import path

from . import views

app_name = "listening"

urlpatterns = [
    path("listening/", views.index, name="index"),
    path("listening/new/", views.edit, name="new"),
    path("listening/<int:pk>/", views.detail, name="detail"),
    path("listening/<int:pk>/edit/", views.edit, name="edit"),
    path("listening/mentions/<int:pk>/promote/", views.promote, name="promote"),
]
