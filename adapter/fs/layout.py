"""Names of the directories under the data root (see design.md, "On disk")."""

from uuid import UUID

STAGING = "staging"
TRASH = "trash"
WORKSPACES = "workspaces"
CHATS = "chats"
# revisions/<workspace_id>/<chat_id>/: what history revisions keep (adapter/fs/revisions.py).
REVISIONS = "revisions"
# erasures/<workspace_id>: the note that a workspace's erasure is under way (adapter/fs/erasure.py).
ERASURES = "erasures"

# staging/ and trash/ hold bytes no client may see yet or any more.
PRIVATE_DIR_MODE = 0o700
DIR_MODE = 0o755
FILE_MODE = 0o644


def chat_dir_names(workspace_id: UUID, chat_id: UUID) -> tuple[str, ...]:
    """The components leading from the data root to the chat's directory."""
    return (WORKSPACES, str(workspace_id), CHATS, str(chat_id))
