from backend.core.events import event_type

NOTE_CREATED = event_type("note.created", module="notes", description="A note was written.",
                          payload={"noteId": "Note ID", "title": "the note's title"})
