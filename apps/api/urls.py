from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("patients", views.PatientViewSet, basename="patient")
router.register("specimens", views.SpecimenViewSet, basename="specimen")
router.register("cbc-imports", views.CBCImportViewSet, basename="cbc-import")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI with its start-up script as a request of its own (?script) and its page rules
    # in static/css/swagger.css: nothing inline, which the Content-Security-Policy refuses.
    path("docs/", SpectacularSwaggerSplitView.as_view(
        url_name="api-schema", template_name="api/swagger_ui.html"), name="api-docs"),
    path("auth/token/", views.TokenObtainView.as_view(), name="api-token-obtain"),
    path("auth/token/revoke/", views.TokenRevokeView.as_view(), name="api-token-revoke"),
    path("", include(router.urls)),
    re_path(r"^(?P<path>.*)$", views.not_found),
]
