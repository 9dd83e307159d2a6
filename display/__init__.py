"""The waiting-room display: the TV board and its voice announcements.

:mod:`display.voice` turns a call ("A-012 to Loket 2") into a WAV file and plays
calls one after another; ``antre announce`` (:mod:`display.announce_cli`) writes
the same WAV file from the command line.
"""
