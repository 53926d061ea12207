"""What YouTube and Google Business Profile share: Google's OAuth 2.0 for web servers."""
