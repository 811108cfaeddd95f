"""visrec.models: the recommenders, and :func:`register_model` for one of your own."""

from visrec.models.registry import register_model

__all__ = ["register_model"]
