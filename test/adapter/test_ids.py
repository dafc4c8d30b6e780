from adapter.ids import UuidGenerator


def test_new_ids_are_distinct() -> None:
    generator = UuidGenerator()

    ids = {generator.new_id() for _ in range(1_000)}

    assert len(ids) == 1_000


def test_new_ids_are_random_uuids() -> None:
    assert UuidGenerator().new_id().version == 4
