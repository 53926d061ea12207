from django.urls import path

from . import views

app_name = "insights"

urlpatterns = [
    path("insights/", views.dashboard, name="dashboard"),
    path("insights/conversations/", views.drill_down, name="drill_down"),
    path("insights/export/<slug:table>.csv", views.export, name="export"),
]
