from django.urls import path

from . import timing_views, views

app_name = "insights"

urlpatterns = [
    path("insights/", views.dashboard, name="dashboard"),
    path("insights/conversations/", views.drill_down, name="drill_down"),
    path("insights/export/<slug:table>.csv", views.export, name="export"),
    path("insights/chart/<slug:name>.json", views.chart, name="chart"),
    path("insights/weekly.pdf", views.weekly_pdf, name="weekly_pdf"),
    path("insights/trends/", views.trends_page, name="trends"),
    path("insights/trends/term/", views.trend_term, name="trend_term"),
    path("insights/trends/day/<str:day>/", views.trend_day, name="trend_day"),
    path("insights/community/", views.community, name="community"),
    path("insights/goals/", views.goals, name="goals"),
    path("insights/goals/new/", views.goal_edit, name="goal_new"),
    path("insights/goals/<int:pk>/", views.goal_edit, name="goal_edit"),
    path("insights/goals/<int:pk>/delete/", views.goal_delete, name="goal_delete"),
]
urlpatterns += [
    path("insights/personas/", views.personas, name="personas"),
    path("insights/personas/new/", views.persona_edit, name="persona_new"),
    path("insights/personas/accept/", views.persona_accept, name="persona_accept"),
    path("insights/personas/<int:pk>/", views.persona_detail, name="persona"),
    path("insights/personas/<int:pk>/edit/", views.persona_edit, name="persona_edit"),
    path("insights/personas/<int:pk>/delete/", views.persona_delete, name="persona_delete"),
]
urlpatterns += [
    path("insights/when/", timing_views.timing, name="timing"),
]
urlpatterns += [
    path("insights/members/", timing_views.members, name="members"),
]
