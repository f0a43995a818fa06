"""ML runtime for HemaClinic: model cards, ONNX inference, CAM. Imports no Django.

Public API: ``apps.ml.cards.verify_models``, ``apps.ml.cells.load_default`` /
``CellModel`` / ``CellPrediction``, ``apps.ml.cam.overlay_map`` / ``grad_cam``,
``apps.ml.score_cells.score_folder`` / ``iter_scored``; score models in ``apps.ml.scores``.
"""
