from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from apps.analysis import views as analysis_views
from apps.api import pages as api_pages
from apps.core import auth_views as core_auth
from apps.core import views as core_views
from apps.patients import views as patient_views
from apps.reports import views as report_views
from apps.review import views as review_views
from apps.smears import views as smear_views
from apps.workflow import views as workflow_views

urlpatterns = [
    path("", core_views.home, name="home"),
    path("health/", core_views.health, name="health"),
    path("accounts/login/", core_auth.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(),
         name="password_change_done"),
    path("accounts/tokens/", api_pages.token_list, name="api_tokens"),
    path("accounts/tokens/<int:token_id>/revoke/", api_pages.token_revoke,
         name="api_token_revoke"),
    path("i18n/setlang/", core_views.language_set, name="set_language"),
    path("patients/", patient_views.patient_list, name="patient_list"),
    path("patients/new/", patient_views.patient_create, name="patient_create"),
    path("patients/<str:pseudo_id>/", patient_views.patient_detail, name="patient_detail"),
    path("patients/<str:pseudo_id>/correct/", workflow_views.patient_correct,
         name="patient_correct"),
    path("specimens/", patient_views.specimen_list, name="specimen_list"),
    path("specimens/new/", patient_views.specimen_create, name="specimen_create"),
    path("specimens/<str:accession>/smear/", workflow_views.smear_upload, name="smear_upload"),
    path("specimens/<str:accession>/cbc/", workflow_views.cbc_upload, name="cbc_upload"),
    path("specimens/<str:accession>/progress/", analysis_views.analysis_progress,
         name="analysis_progress"),
    path("specimens/<str:accession>/reanalyse/", workflow_views.analysis_rerun,
         name="analysis_rerun"),
    path("specimens/<str:accession>/reports/", include("apps.reports.urls")),
    path("specimens/<str:accession>/", workflow_views.specimen_detail, name="specimen_detail"),
    path("worklist/", review_views.worklist, name="worklist"),
    path("review/<str:accession>/", review_views.case, name="review_case"),
    path("review/<str:accession>/cells/<int:cell_id>/", review_views.cell_detail,
         name="review_cell_detail"),
    path("review/<str:accession>/reclassify/", workflow_views.reclassify, name="review_reclassify"),
    path("review/<str:accession>/vacuoles/", workflow_views.vacuoles, name="review_vacuoles"),
    path("review/<str:accession>/scores/", review_views.case_scores, name="review_scores"),
    path("review/<str:accession>/sign/", workflow_views.sign, name="review_sign"),
    path("review/<str:accession>/amend/", workflow_views.amend, name="review_amend"),
    path("review/<str:accession>/cbc-held/<int:held_id>/attach/",
         workflow_views.cbc_held_attach, name="review_cbc_held_attach"),
    path("review/<str:accession>/cbc-held/<int:held_id>/leave-out/",
         workflow_views.cbc_held_leave_out, name="review_cbc_held_leave_out"),
    path("review/<str:accession>/reports/<int:version>/", report_views.report_language,
         name="review_report_language"),
    path("review/<str:accession>/rescan/", review_views.rescan, name="review_rescan"),
    path("cbc/import/", workflow_views.cbc_batch_import, name="cbc_import"),
    path("cells/<int:cell_id>/image/", smear_views.cell_image, name="cell_image"),
    path("cells/<int:cell_id>/cam/", analysis_views.cell_cam, name="cell_cam"),
    path("api/", include("apps.api.urls")),
    path("admin/", admin.site.urls),
]

handler404 = "apps.api.errors.not_found"
handler500 = "apps.api.errors.server_error"
