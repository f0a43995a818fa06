"""The one place that chains the stages: upload -> import -> analysis -> scores -> flags, CBC
import -> flags -> scores, reclassification -> scores, signature -> report.

Domain services (smears, hemograms, analysis, review, reports) do their own app's work and
return; the functions of `services` call them in order. Views, API views and commands that start
a chain call this layer, so they live here or above it (apps.api).
"""
