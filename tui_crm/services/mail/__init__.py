"""Mailings: templates, recipient lists, attachments, sending over SMTP and the history."""
