"""Patient-level scores built on cell-model outputs and blood counts. Imports no Django.

Public API:
``apps.ml.scores.vexas.vexas_score`` (rule-based VEXAS suspicion),
``apps.ml.scores.mds_image.mds_image_evidence`` (fraction of dysplastic-looking neutrophils),
``apps.ml.scores.mds_cbc.predict`` / ``load_default`` (CBC logistic model, ONNX),
``apps.ml.scores.fused.load_fused`` (fused image + CBC model; None until a real one exists),
``apps.ml.scores.card.verify`` (sha256 check of a score-model folder).

Fitting, cross-validation and cohort evaluation are not here: they live in ``training/scores``
(``python -m training.scores.evaluate``), which the running app never imports.
"""
