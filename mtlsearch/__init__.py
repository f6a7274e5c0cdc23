"""mtlsearch: find the best multi-task architecture (MMoE, CGC, PLE, ...) for a recommender."""

__version__ = "0.1.0"
