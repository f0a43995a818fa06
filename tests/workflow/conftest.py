from tests.review.conftest import analysed  # noqa: F401  (the review's analysed specimen)
