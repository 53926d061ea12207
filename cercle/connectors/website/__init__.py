"""Websites: a signed generic webhook for any site or tool, and an embeddable comment and contact widget."""
