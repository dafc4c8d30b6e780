"""The request body's bytes as they pass through an ASGI middleware."""

from starlette.types import Message, Receive


class CountingReceive:
    """A `receive` that counts, in `received`, the request body bytes it hands on."""

    __slots__ = ("_receive", "received")

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self.received = 0

    async def __call__(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
        return message
