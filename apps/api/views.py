"""REST API: thin views over the same services and selectors as the web pages."""

from __future__ import annotations

from dataclasses import asdict

from django.http import Http404, HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from apps.analysis import services as analysis_services
from apps.core.errors import ImportRefusedError
from apps.hemograms import services as cbc_services
from apps.patients import selectors, services
from apps.reports import selectors as report_selectors
from apps.reports.views import result_message_response
from apps.smears import services as smear_services

from . import serializers as s


def _refused(exc: Exception) -> Response:
    return Response({"detail": f"Refused, nothing was imported: {exc}"},
                    status=status.HTTP_422_UNPROCESSABLE_ENTITY)


class PatientViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                     viewsets.GenericViewSet):
    serializer_class = s.PatientSerializer
    lookup_field = "pseudo_id"

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.patient_search(self.request.query_params.get("q", ""))

    @extend_schema(request=s.PatientCreateSerializer, responses=s.PatientSerializer)
    def create(self, request: Request) -> Response:
        form = s.PatientCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        patient = services.patient_create(actor=request.user, **form.validated_data)
        return Response(s.PatientSerializer(patient).data, status=status.HTTP_201_CREATED)


class SpecimenViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                      viewsets.GenericViewSet):
    serializer_class = s.SpecimenSerializer
    lookup_field = "accession"
    lookup_value_regex = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.specimen_search(self.request.query_params.get("q", ""))

    @extend_schema(request=s.SpecimenCreateSerializer, responses=s.SpecimenSerializer)
    def create(self, request: Request) -> Response:
        form = s.SpecimenCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        specimen = services.specimen_create(actor=request.user, **form.validated_data)
        return Response(s.SpecimenSerializer(specimen).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: dict})
    @action(detail=True, methods=["get"])
    def document(self, request: Request, accession: str) -> Response:
        """The same JSON document as `manage.py export_specimen`."""
        return Response(report_selectors.specimen_document(self.get_object()))

    @extend_schema(
        responses={(200, "x-application/hl7-v2+er7"): str},
        description="The HL7 v2.5 ORU^R01 result message of the latest signed version (or of "
                    "`?version=N`), exactly as stored and written to the outbox at signing; "
                    "its sha256 in the X-Content-SHA256 header. 404 until one is produced.")
    @action(detail=True, methods=["get"])
    def hl7(self, request: Request, accession: str) -> HttpResponse:
        specimen = self.get_object()
        version = request.query_params.get("version")
        if version is not None and not version.isdigit():
            return Response({"detail": "version must be a positive integer."},
                            status=status.HTTP_400_BAD_REQUEST)
        message = report_selectors.result_message_find(
            accession=specimen.accession, version=int(version) if version else None)
        if message is None:
            raise Http404
        return result_message_response(message)

    @extend_schema(request={"multipart/form-data": s.FileUploadSerializer}, responses={201: dict})
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser])
    def uploads(self, request: Request, accession: str) -> Response:
        specimen = self.get_object()
        files = request.FILES.getlist("files")
        if not files:
            return Response({"detail": "Send one or more files in the 'files' field."},
                            status=status.HTTP_400_BAD_REQUEST)
        try:
            outcome = smear_services.smear_upload(actor=request.user, specimen=specimen,
                                                  files=files)
        except ImportRefusedError as exc:
            return _refused(exc)
        return Response(outcome.as_dict(), status=status.HTTP_201_CREATED)

    @extend_schema(request={"multipart/form-data": s.CBCUploadSerializer}, responses={201: dict})
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser])
    def cbc(self, request: Request, accession: str) -> Response:
        specimen = self.get_object()
        form = s.CBCUploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        upload = form.validated_data["file"]
        try:
            outcome = cbc_services.cbc_import(
                actor=request.user, data=upload.read(), file_name=upload.name,
                format=form.validated_data.get("format"), specimen=specimen)
        except ImportRefusedError as exc:
            return _refused(exc)
        return Response(asdict(outcome), status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=s.AnalysisRunSerializer(many=True))
    @action(detail=True, methods=["get", "post"])
    def analysis(self, request: Request, accession: str) -> Response:
        """GET: the specimen's analysis runs, newest first. POST: queue a new run."""
        specimen = self.get_object()
        if request.method == "POST":
            run = analysis_services.analysis_request(actor=request.user, specimen=specimen)
            return Response(s.AnalysisRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)
        return Response(s.AnalysisRunSerializer(specimen.analysis_runs.all(), many=True).data)


class CBCImportViewSet(viewsets.ViewSet):
    parser_classes = [MultiPartParser]

    @extend_schema(request={"multipart/form-data": s.CBCUploadSerializer}, responses={201: dict})
    def create(self, request: Request) -> Response:
        """Import a CBC file holding any number of samples; specimens are created as needed."""
        form = s.CBCUploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        upload = form.validated_data["file"]
        try:
            outcome = cbc_services.cbc_import(
                actor=request.user, data=upload.read(), file_name=upload.name,
                format=form.validated_data.get("format"))
        except ImportRefusedError as exc:
            return _refused(exc)
        return Response(asdict(outcome), status=status.HTTP_201_CREATED)

