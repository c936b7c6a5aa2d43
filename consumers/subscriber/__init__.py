"""The subscriber SDK: a department receives the deliveries of its agreements as typed records.

    from consumers.subscriber import Subscription

    async with Subscription("ordnungsamt", name="bescheide") as subscription:
        async for delivery in subscription:
            await handle(delivery.record, idempotency_key=delivery.delivery_id)

See ``consumers/subscriber/README.md``.
"""

from consumers.subscriber.delivery import Delivery, DeliveryId, parse_delivery_id
from consumers.subscriber.erasure import ErasureRequest, ErasureScope
from consumers.subscriber.errors import (
    NoDeliveryTopicsError,
    SchemaUnavailableError,
    SubscriberError,
    TopicAccessError,
    UndecodableDeliveryError,
)
from consumers.subscriber.subscription import Subscription

__all__ = [
    "Delivery",
    "DeliveryId",
    "ErasureRequest",
    "ErasureScope",
    "NoDeliveryTopicsError",
    "SchemaUnavailableError",
    "SubscriberError",
    "Subscription",
    "TopicAccessError",
    "UndecodableDeliveryError",
    "parse_delivery_id",
]
