"""Voice announcements (being split into words, synthesis, audio and the announcer queue)."""

from .synthesis import *  # noqa: F401,F403
