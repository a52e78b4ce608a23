"""Renderers: a neutral Reply as plain text, Slack Block Kit messages or Teams Adaptive Cards.

Each renderer is a pure function of the Reply and owns its platform's escaping and
size limits, so handlers never write platform markup.
"""
