"""YouTube: comments and replies on a channel's videos (Data API v3, polled). See README.md."""
