"""The filesystem adapter: chats as directories under the data root (design.md, "On disk").

layout        the names of the directories under the data root
dirs          blocking helpers that reach files one component at a time, by descriptor
errors        OSError to the domain's storage errors
off_loop      the one way blocking work runs off the event loop (ADR 0007)
digest        bounded reads and sha256 of a checked descriptor
readers       ContentReader over a checked descriptor, or over bytes read whole
staging_area  each process's own directory under staging/ (ADR 0010)
staging       files being written in staging before a rename makes them visible
unsettled     the marks of chats a change is under way on, and their notes (ADR 0011, 0017)
commit        the all-or-nothing commit of staged files, its journal and undo (ADR 0019)
chat_storage  FilesystemChatStorage, the ChatStorage port
usage         FilesystemUsageReader, the StorageUsageReader port
"""
