"""The staff web app's URLs: the shell's own pages, then every domain's declared pages
(see ``accord.web.pages``)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from accord.web import dashboards, views
from accord.web.pages import site

app_name = "web"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.home, name="home"),
    path("login", views.login, name="login"),
    path("login/verify", views.login_verify, name="login-verify"),
    path("logout", views.logout, name="logout"),
    path("forgot-password", views.forgot_password, name="forgot-password"),
    # The address the password reset mails link to (identity.passwords).
    path("reset-password", views.reset_password, name="reset-password"),
    path("account/mfa", views.mfa_setup, name="mfa-setup"),
    path("search", views.search, name="search"),
    path("assets/plotly.min.js", dashboards.plotly_asset, {"kind": "js"}, name="plotly-js"),
    path("assets/plotly.css", dashboards.plotly_asset, {"kind": "css"}, name="plotly-css"),
    path("settings/", views.settings_index, name="settings"),
    path("sales/", views.workspace, {"key": "sales"}, name="workspace-sales"),
    path("marketing/", views.workspace, {"key": "marketing"}, name="workspace-marketing"),
    path("service/", views.workspace, {"key": "service"}, name="workspace-service"),
    path("back-office/", views.workspace, {"key": "back_office"}, name="workspace-back_office"),
]

#: Pages the domains declared, each in its own namespace (``identity:users``).
domain_urlpatterns = site.urls
