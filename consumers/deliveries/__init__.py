"""The HTTP pull API (``hub deliveries serve``): subscribers fetch their deliveries in batches.

``GET /v1/deliveries/{agreement}?cursor=...&limit=...`` with a subscriber's bearer token answers
a CloudEvents JSON batch and, in ``Hub-Next-Cursor``, a stateless signed cursor to continue
from. See ``README.md`` beside this file for the format and the encoding of records as JSON.
"""

from consumers.deliveries.cursor import CursorCodec, CursorError
from consumers.deliveries.encoding import BATCH_MEDIA_TYPE

__all__ = ["BATCH_MEDIA_TYPE", "CursorCodec", "CursorError"]
