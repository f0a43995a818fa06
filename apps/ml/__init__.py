"""ML runtime for HemaClinic: model cards, ONNX inference, CAM. Imports no Django.

Public API: ``apps.ml.cards.verify_models``, ``apps.ml.cells.load_default``,
``apps.ml.cells.CellModel``, ``apps.ml.cells.overlay``, ``apps.ml.score_cells.score_folder``.
"""
