"""E-mail: a mailbox read over IMAP and answered over SMTP."""
