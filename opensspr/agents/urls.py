from django.urls import path

from opensspr.agents import views

app_name = "agents"
urlpatterns = [
    path("enrol", views.enrol, name="enrol"),
    path("heartbeat", views.heartbeat, name="heartbeat"),
    path("jobs/next", views.next_job, name="next_job"),
    path("jobs/<uuid:job_id>/part", views.job_part, name="job_part"),
    path("jobs/<uuid:job_id>/result", views.job_result, name="job_result"),
]
