"""RSS and Atom feeds of external sites and blogs that mention the brand."""
