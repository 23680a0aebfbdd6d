"""Asyncio client for the Agora Cloud Recording REST API."""

__version__ = "0.1.0"
