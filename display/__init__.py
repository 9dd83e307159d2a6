"""The waiting-room display: the TV board and its voice announcements.

:mod:`display.board` works out what the board shows from the broker's messages
(no Kivy); :mod:`display.app` and ``display.kv`` draw it; ``antre display``
(:mod:`display.cli`) runs it. :mod:`display.voice` turns a call ("A-012 to
Loket 2") into a WAV file and plays calls one after another; ``antre announce``
(:mod:`display.announce_cli`) writes the same WAV file from the command line.
"""
