"""Whether the broker answers, said in one sentence when it does not."""

from __future__ import annotations

from aiokafka.errors import KafkaConnectionError

from eventyard.errors import BrokerUnreachable
from eventyard.kafka import clients as kafka
from eventyard.settings import Settings


def unreachable(settings: Settings) -> BrokerUnreachable:
    return BrokerUnreachable(
        f"cannot reach a Kafka broker at {settings.bootstrap_servers} "
        "(EVENTYARD_BOOTSTRAP_SERVERS or --bootstrap-servers): check the address and port, "
        "that the broker is running and reachable from here, and that "
        f"EVENTYARD_SECURITY_PROTOCOL ({settings.security_protocol}) matches its listener"
    )


async def probe(settings: Settings) -> None:
    """Connect once with an admin client; BrokerUnreachable when no broker answers."""
    client = kafka.admin(settings)
    try:
        await client.start()
    except KafkaConnectionError:
        raise unreachable(settings) from None
    finally:
        await client.close()
