"""Reddit: the brand account's inbox and its subreddits' comments by polling; replies and moderation by its OAuth API."""
