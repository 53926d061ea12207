"""Cercle: a self-hostable workspace for community managers."""
