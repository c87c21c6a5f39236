from django.apps import AppConfig


class ServiceConfig(AppConfig):
    name = "accord.service"
    label = "service"
    verbose_name = "Service"
