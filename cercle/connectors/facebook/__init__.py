"""Facebook Pages connector: feed comments, mentions and Messenger through the Graph API."""
