"""Two Pillow warnings visrec handles itself, and the filter that quiets them."""

from __future__ import annotations

import warnings


def quiet_pillow_warnings() -> None:
    """Ignore two Pillow warnings visrec handles itself: the decompression-bomb one for
    images between 1x and 2x Pillow's pixel limit (``images.decode`` enforces its own
    limit from the header before anything is decoded), and a corrupt EXIF block's
    (common in phone photos; it costs only the orientation, which ``decode.load_image``
    then leaves as it is, and the warning named no file).

    The filter list is the whole process's (``catch_warnings`` is not thread-safe
    before 3.14, and decoding runs in worker threads), so only a process visrec owns
    sets it: the command line for its run, a Ray decode task for its batch. A program
    that uses visrec as a library keeps its own filters (one that refuses bombs still
    does). By message, so Pillow need not be imported first.
    """
    warnings.filterwarnings("ignore", message=r"Image size \(\d+ pixels\) exceeds limit")
    warnings.filterwarnings("ignore", message=r"(Possibly )?[Cc]orrupt EXIF", category=UserWarning)
