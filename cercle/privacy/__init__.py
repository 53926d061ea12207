"""Privacy: export everything held about a contact, erase a contact, retention of messages."""
