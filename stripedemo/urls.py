from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularSwaggerSplitView

from stripedemo import health, schema, views

api_patterns: list[URLPattern | URLResolver] = [
    # Also answered by stripedemo.health.HealthCheckMiddleware, before host validation.
    path("health/", health.health, name="health"),
    path("", include("accounts.urls")),
    path("", include("catalog.urls")),
    path("", include("orders.urls")),
    # The OpenAPI description (YAML; ?format=json for JSON) and a page to try it. The split
    # view serves Swagger UI's start-up script as a file (docs/?script=), not inline: the
    # Content-Security-Policy (stripedemo/csp.py) runs no inline script.
    path("schema/", schema.SchemaView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
]

urlpatterns = [
    path("api/", include(api_patterns)),
    path("admin/", admin.site.urls),
    path("config.json", views.frontend_config, name="frontend-config"),
]

handler400 = views.bad_request
handler403 = views.permission_denied
handler404 = views.not_found
handler500 = views.server_error
