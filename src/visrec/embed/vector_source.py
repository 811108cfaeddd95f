"""What made a vectors file, read from its backbone name: an image backbone (``visrec
embed``), or ``visrec features`` (backbone ``item-features``, or
``<backbone>+item-features`` next to image vectors). Plain strings and no heavy imports:
the evaluation report and the commands' messages word themselves by it."""

from __future__ import annotations

#: the backbone name of ``visrec features``' output
ATTRIBUTES = "item-features"


def attributes_backbone(image_backbone: str | None) -> str:
    """The backbone ``visrec features`` writes: ``item-features`` alone, or
    ``<image_backbone>+item-features`` next to image vectors."""
    return ATTRIBUTES if image_backbone is None else f"{image_backbone}+{ATTRIBUTES}"


def what_vectors_show(backbone: object) -> str:
    """What vectors made by ``backbone`` describe, for messages: "pictures", or
    "attributes" / "pictures and attributes" for ``visrec features``' output."""
    made_by = backbone if isinstance(backbone, str) else ""
    if made_by == ATTRIBUTES:
        return "attributes"
    return "pictures and attributes" if made_by.endswith(f"+{ATTRIBUTES}") else "pictures"


def item_vector_word(backbone: object) -> str:
    """ "image vector" for image vectors, "vector" for those ``visrec features`` made (an
    item of a table has one whether or not it has a picture)."""
    return "image vector" if what_vectors_show(backbone) == "pictures" else "vector"
