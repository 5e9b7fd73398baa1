"""The service's parts in the interfaces of frameworks people compose them with (LangChain)."""
