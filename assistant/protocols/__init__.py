"""The chat protocols other tools already speak (OpenAI Chat Completions, the AI SDK UI message
stream), as pure translations between their messages and the one answer service's ``Answer``.

Nothing here imports Flask: the web blueprints parse, call the service once and send what these
modules build, so the translations are tested without a server.
"""
