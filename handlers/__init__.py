"""Command handlers: text in, neutral Reply out. No Slack or Teams code here."""
