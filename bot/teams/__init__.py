"""Microsoft Teams: Bot Framework adapter, proactive messages and the app package."""
