from uuid import UUID, uuid4

from usecase.ports.runtime import IdGenerator


class UuidGenerator(IdGenerator):
    def new_id(self) -> UUID:
        return uuid4()
