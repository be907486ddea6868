from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config.health import LivenessApi, ReadinessApi
from config.spa import api_not_found, spa_index
from ops.apis import metrics_view

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/health/", ReadinessApi.as_view()),
    path("api/health/live/", LivenessApi.as_view()),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema")),
    path("api/", include("accounts.urls")),
    path("api/", include("feed.urls")),
    # Anything else under /api/ is a JSON 404, like every other API error.
    re_path(r"^api/", api_not_found),
    path("metrics", metrics_view),
    # The browser app's routes; each loads directly from its URL.
    re_path(r"^(?:posts/\d+|users/[^/]+)?/?$", spa_index),
]
