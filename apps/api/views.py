"""REST API: thin views over the same services and selectors as the web pages."""

from __future__ import annotations

from dataclasses import asdict

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.auth_views import client_ip
from apps.core.errors import ImportRefusedError
from apps.core.permissions import HasReviewRole
from apps.hemograms.services import CBCImportOutcome
from apps.patients import selectors, services
from apps.reports import selectors as report_selectors
from apps.reports import services as report_services
from apps.reports.views import result_message_response
from apps.workflow import services as workflow

from . import errors, tokens
from . import serializers as s
from .models import ApiToken
from .schema import ApiAutoSchema, error

SIGNED = error("The case is signed: only an amendment changes it (code \"signed\").")
REFUSED = error("The upload is refused as a whole; nothing was imported.")
CBC_REFUSED = error("Nothing was imported: the file refused as a whole, or every row of it "
                    "refused (code nothing_imported, with the import's fields beside: each "
                    "row's reason in errors).")


def _nothing_imported(reason: object) -> str:
    return _("Refused, nothing was imported: %(reason)s") % {"reason": reason}


def _refused(exc: Exception) -> Response:
    if isinstance(exc, workflow.SpecimenSignedError):
        return _signed(exc)
    return Response({"detail": _nothing_imported(exc)},
                    status=status.HTTP_422_UNPROCESSABLE_ENTITY)


def _cbc_answer(outcome: CBCImportOutcome) -> Response:
    """201 with what a CBC file gave: results, rows held for a signed case, or rows already
    stored. When every row was refused (another patient, another sample) nothing was attached:
    422 with the same body, so that a client reading the status alone does not take it for an
    import."""
    body = asdict(outcome)
    if outcome.results_created or outcome.held or outcome.duplicates:
        return Response(body, status=status.HTTP_201_CREATED)
    return Response({**body, "code": "nothing_imported",
                     "detail": _nothing_imported(_("no row of the file could be attached; each "
                                                   "row's reason is in errors."))},
                    status=status.HTTP_422_UNPROCESSABLE_ENTITY)


def _signed(exc: workflow.SpecimenSignedError) -> Response:
    # 409: the request is valid but conflicts with the case's state (signed); an amendment
    # resolves it.
    return Response({"detail": str(exc), "code": exc.code}, status=status.HTTP_409_CONFLICT)


@csrf_exempt  # it changes nothing; a POST gets the same JSON 404
@login_not_required  # as the API's views: a token, not the session's login page
def not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Any other URL under /api/: a JSON 404 as from the API's views, not the site's HTML page
    (an identifier outside its documented pattern matches no route)."""
    return errors.not_found(request)


class PatientViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                     viewsets.GenericViewSet):
    schema = ApiAutoSchema()
    serializer_class = s.PatientSerializer
    lookup_field = "pseudo_id"
    lookup_value_regex = r"[A-Za-z0-9_-]{1,16}"  # "P-" and 10 hex digits (new_pseudo_id)

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.patient_search(self.request.query_params.get("q", ""))

    @extend_schema(request=s.PatientCreateSerializer, responses=s.PatientSerializer)
    def create(self, request: Request) -> Response:
        form = s.PatientCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        patient = services.patient_create(actor=request.user, **form.validated_data)
        return Response(s.PatientSerializer(patient).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.PatientCorrectSerializer,
                   responses={200: s.PatientCorrectionSerializer})
    @action(detail=True, methods=["post"])
    def correct(self, request: Request, pseudo_id: str) -> Response:
        """Correct the patient's name, birth date or sex (audited with `reason`); the blood
        counts and scores of the cases not signed are read again, as on the patient page."""
        patient = self.get_object()
        form = s.PatientCorrectSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = dict(form.validated_data)
        try:
            done = workflow.patient_correct(actor=request.user, patient=patient,
                                            reason=data.pop("reason"), **data)
        except ValidationError as exc:
            return Response({"detail": " ".join(exc.messages)},
                            status=status.HTTP_400_BAD_REQUEST)
        patient.refresh_from_db()
        return Response({"patient": s.PatientSerializer(patient).data, "fields": done.fields,
                         "read_again": done.read_again, "signed": done.signed})


class SpecimenViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                      viewsets.GenericViewSet):
    schema = ApiAutoSchema()
    serializer_class = s.SpecimenSerializer
    lookup_field = "accession"
    lookup_value_regex = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.specimen_search(self.request.query_params.get("q", ""))

    def get_serializer_class(self):  # type: ignore[no-untyped-def]
        # One specimen carries its domain verdict; the list does not (a query per row).
        return s.SpecimenDetailSerializer if self.action == "retrieve" else s.SpecimenSerializer

    @extend_schema(request=s.SpecimenCreateSerializer, responses=s.SpecimenSerializer)
    def create(self, request: Request) -> Response:
        form = s.SpecimenCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        specimen = services.specimen_create(actor=request.user, **form.validated_data)
        return Response(s.SpecimenSerializer(specimen).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    def document(self, request: Request, accession: str) -> Response:
        """The same JSON document as `manage.py export_specimen`."""
        return Response(report_selectors.specimen_document(self.get_object()))

    @extend_schema(
        responses={(200, "x-application/hl7-v2+er7"): OpenApiTypes.STR,
                   400: error("version is not a positive integer."),
                   403: error("Not a biologist: the result message is a biologist's read."),
                   404: error("No such specimen, or no result message (of that version).")},
        parameters=[OpenApiParameter("version", int, description="A signed version; by "
                                     "default the latest.")],
        description="The HL7 v2.5 ORU^R01 result message of the latest signed version (or of "
                    "`?version=N`), exactly as stored and written to the outbox at signing; "
                    "its sha256 in the X-Content-SHA256 header. 404 until one is produced. "
                    "For a biologist (or an admin), as its download from the case page.")
    @action(detail=True, methods=["get"], permission_classes=[HasReviewRole])
    def hl7(self, request: Request, accession: str) -> HttpResponse:
        specimen = self.get_object()
        version = request.query_params.get("version")
        if version is not None and not version.isdigit():
            return Response({"detail": _("version must be a positive integer.")},
                            status=status.HTTP_400_BAD_REQUEST)
        message = report_selectors.result_message_find(
            accession=specimen.accession, version=int(version) if version else None)
        if message is None:
            raise Http404
        report_services.copy_taken_record(actor=request.user, obj=message, via="api")
        return result_message_response(message)

    @extend_schema(request={"multipart/form-data": s.FileUploadSerializer},
                   responses={201: s.SmearImportOutcomeSerializer, 409: SIGNED, 422: REFUSED})
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser])
    def uploads(self, request: Request, accession: str) -> Response:
        specimen = self.get_object()
        files = request.FILES.getlist("files")
        if not files:
            return Response({"detail": "Send one or more files in the 'files' field."},
                            status=status.HTTP_400_BAD_REQUEST)
        try:
            outcome = workflow.smear_upload(actor=request.user, specimen=specimen, files=files)
        except ImportRefusedError as exc:
            return _refused(exc)
        return Response(outcome.as_dict(), status=status.HTTP_201_CREATED)

    @extend_schema(request={"multipart/form-data": s.CBCUploadSerializer},
                   responses={201: s.CBCImportOutcomeSerializer, 409: SIGNED, 422: CBC_REFUSED})
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser])
    def cbc(self, request: Request, accession: str) -> Response:
        specimen = self.get_object()
        form = s.CBCUploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        upload = form.validated_data["file"]
        try:
            outcome = workflow.cbc_import(
                actor=request.user, data=upload.read(), file_name=upload.name,
                format=form.validated_data.get("format"), specimen=specimen)
        except ImportRefusedError as exc:
            return _refused(exc)
        return _cbc_answer(outcome)

    @extend_schema(methods=["GET"], responses={200: s.AnalysisRunSerializer(many=True)})
    @extend_schema(methods=["POST"], request=None,
                   responses={202: s.AnalysisRunSerializer, 409: SIGNED})
    # Every run of the specimen, unpaginated (a specimen has a handful).
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def analysis(self, request: Request, accession: str) -> Response:
        """GET: the specimen's analysis runs, newest first. POST: queue a new run (409 when the
        case is signed)."""
        specimen = self.get_object()
        if request.method == "POST":
            try:
                run = workflow.analysis_rerun(actor=request.user, specimen=specimen)
            except workflow.SpecimenSignedError as exc:
                return _signed(exc)
            return Response(s.AnalysisRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)
        return Response(s.AnalysisRunSerializer(specimen.analysis_runs.all(), many=True).data)


class CBCImportViewSet(viewsets.ViewSet):
    schema = ApiAutoSchema()
    parser_classes = [MultiPartParser]

    @extend_schema(request={"multipart/form-data": s.CBCUploadSerializer},
                   responses={201: s.CBCImportOutcomeSerializer, 422: CBC_REFUSED})
    def create(self, request: Request) -> Response:
        """Import a CBC file holding any number of samples; specimens are created as needed."""
        form = s.CBCUploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        upload = form.validated_data["file"]
        try:
            outcome = workflow.cbc_import(
                actor=request.user, data=upload.read(), file_name=upload.name,
                format=form.validated_data.get("format"))
        except ImportRefusedError as exc:
            return _refused(exc)
        return _cbc_answer(outcome)


class TokenObtainView(APIView):
    """Obtain an API token with a user name and password (throttled as the login page)."""

    schema = ApiAutoSchema()
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(request=s.TokenObtainSerializer,
                   responses={201: s.TokenIssuedSerializer,
                              403: error("The account has no role in the laboratory."),
                              429: error("Too many attempts: wait the Retry-After header's "
                                         "seconds.")},
                   description="The token is in the answer this once: only its hash is stored. "
                               "Wrong credentials: 400. Too many attempts for this user or "
                               "address: 429 with Retry-After (the login page's counters).")
    def post(self, request: Request) -> Response:
        form = s.TokenObtainSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        try:
            issued = tokens.api_token_obtain(
                username=data["username"], password=data["password"], ip=client_ip(request),
                name=data["name"], lifetime_days=data["expires_in_days"])
        except tokens.TokenRefusedError as exc:
            if exc.code == "invalid":
                return Response({"detail": _("Unable to log in with these credentials.")},
                                status=status.HTTP_400_BAD_REQUEST)
            if exc.code == "no_role":
                return Response({"detail": _("This account has no role in the laboratory: "
                                             "no token is issued. Ask an administrator.")},
                                status=status.HTTP_403_FORBIDDEN)
            return Response({"detail": _("Too many failed attempts: try again later.")},
                            status=status.HTTP_429_TOO_MANY_REQUESTS,
                            headers={"Retry-After": str(exc.retry_after)})
        token = issued.token
        return Response(s.TokenIssuedSerializer({
            "token": issued.secret, "prefix": token.prefix, "name": token.name,
            "created_at": token.created_at, "expires_at": token.expires_at}).data,
            status=status.HTTP_201_CREATED)


class TokenRevokeView(APIView):
    """Revoke the token authenticating this request, or another of yours by its prefix."""

    schema = ApiAutoSchema()
    permission_classes = [IsAuthenticated]

    @extend_schema(request=s.TokenRevokeSerializer,
                   responses={200: s.TokenRevokedSerializer,
                              404: error("You have no token with this prefix.")})
    def post(self, request: Request) -> Response:
        form = s.TokenRevokeSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        prefix = form.validated_data.get("prefix")
        if prefix:
            token = get_object_or_404(ApiToken, user=request.user, prefix=prefix)
        elif isinstance(request.auth, ApiToken):
            token = request.auth
        else:
            return Response({"detail": _("Name the token to revoke by its prefix.")},
                            status=status.HTTP_400_BAD_REQUEST)
        token = tokens.api_token_revoke(actor=request.user, token=token)
        return Response(s.TokenRevokedSerializer(token).data)
