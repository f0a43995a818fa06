"""Training, export and cards of the patient-level score models (CBC MDS, fused MDS)."""
