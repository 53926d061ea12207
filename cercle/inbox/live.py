"""Live updates: a server-sent-events stream fed from the Activity log."""
