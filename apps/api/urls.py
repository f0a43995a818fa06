from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("patients", views.PatientViewSet, basename="patient")
router.register("specimens", views.SpecimenViewSet, basename="specimen")
router.register("cbc-imports", views.CBCImportViewSet, basename="cbc-import")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("auth/token/", views.TokenObtainView.as_view(), name="api-token-obtain"),
    path("auth/token/revoke/", views.TokenRevokeView.as_view(), name="api-token-revoke"),
    path("", include(router.urls)),
    re_path(r"^(?P<path>.*)$", views.not_found),
]
