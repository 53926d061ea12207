"""Sign-in security: login throttling and lockouts, two-factor authentication."""
