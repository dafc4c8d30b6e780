"""What a product shows of a chat: its title and its metadata, each checked on its own."""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import ClassVar

from domain.control_characters import has_control_character
from domain.errors import InvalidInputError


def _check_unicode(text: str, what: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:  # a lone surrogate, which no store can keep
        raise InvalidInputError(f"{what} is not valid Unicode") from error


@dataclass(frozen=True, slots=True)
class ChatTitle:
    """A chat's title: at most `MAX_LENGTH` code points, none of them a control character
    (Unicode category Cc). An empty title is a title; no title is None, not this."""

    MAX_LENGTH: ClassVar[int] = 256

    value: str

    def __post_init__(self) -> None:
        if len(self.value) > self.MAX_LENGTH:
            raise InvalidInputError(
                f"title is {len(self.value)} characters; at most {self.MAX_LENGTH}"
            )
        if has_control_character(self.value):
            raise InvalidInputError("title must not contain control characters")
        _check_unicode(self.value, "title")

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class ChatMetadata(Mapping[str, str]):
    """A chat's metadata, the OpenAI convention: at most `MAX_KEYS` keys of 1 to
    `MAX_KEY_LENGTH` code points, each holding a string of at most `MAX_VALUE_LENGTH`.
    Keys keep the order they were first set in."""

    MAX_KEYS: ClassVar[int] = 16
    MAX_KEY_LENGTH: ClassVar[int] = 64
    MAX_VALUE_LENGTH: ClassVar[int] = 512

    entries: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if len(self.entries) > self.MAX_KEYS:
            raise InvalidInputError(
                f"metadata has {len(self.entries)} keys; at most {self.MAX_KEYS}"
            )
        keys = [key for key, _ in self.entries]
        if len(set(keys)) != len(keys):
            raise InvalidInputError("metadata keys must be distinct")
        for key, value in self.entries:
            if not 1 <= len(key) <= self.MAX_KEY_LENGTH:
                raise InvalidInputError(
                    f"metadata key {key[:80]!r} must be 1 to {self.MAX_KEY_LENGTH} characters"
                )
            if len(value) > self.MAX_VALUE_LENGTH:
                raise InvalidInputError(
                    f"metadata value of {key!r} is {len(value)} characters;"
                    f" at most {self.MAX_VALUE_LENGTH}"
                )
            _check_unicode(key, "a metadata key")
            _check_unicode(value, f"the metadata value of {key!r}")

    @classmethod
    def of(cls, values: Mapping[str, str]) -> "ChatMetadata":
        return cls(tuple(values.items()))

    def merged(self, patch: Mapping[str, str | None]) -> "ChatMetadata":
        """This metadata with `patch` merged in (RFC 7396): a key set to a string takes
        it, a key set to None is removed."""
        merged = dict(self.entries)
        for key, value in patch.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        return ChatMetadata.of(merged)

    def __getitem__(self, key: str) -> str:
        for entry_key, value in self.entries:
            if entry_key == key:
                return value
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return (key for key, _ in self.entries)

    def __len__(self) -> int:
        return len(self.entries)


@dataclass(frozen=True, slots=True)
class ChatPatch:
    """A JSON merge patch (RFC 7396) of a chat's title and metadata: `title` replaces the
    title when `sets_title` (None removes it); `metadata` merges into the metadata key by
    key (a None value removes its key), after every key went when `clears_metadata`."""

    sets_title: bool = False
    title: ChatTitle | None = None
    clears_metadata: bool = False
    metadata: Mapping[str, str | None] | None = None

    def applied(
        self, title: ChatTitle | None, metadata: ChatMetadata
    ) -> tuple[ChatTitle | None, ChatMetadata]:
        """The title and metadata once this patch is applied to them."""
        if self.sets_title:
            title = self.title
        if self.clears_metadata:
            metadata = ChatMetadata()
        if self.metadata is not None:
            metadata = metadata.merged(self.metadata)
        return title, metadata
