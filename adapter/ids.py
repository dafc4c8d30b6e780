from uuid import UUID, uuid4

from usecase.interface import IdGenerator


class UuidGenerator(IdGenerator):
    def new_id(self) -> UUID:
        return uuid4()
