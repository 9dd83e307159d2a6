"""The waiting-room display: the TV board and its voice announcements.

:mod:`antre_display.board` works out what the board shows from the broker's messages
(no Kivy); :mod:`antre_display.app` and ``display.kv`` draw it; ``antre display``
(:mod:`antre_display.cli`) runs it. :mod:`antre_display.voice` turns a call ("A-012 to
Loket 2") into a WAV file and plays calls one after another; ``antre announce``
(:mod:`antre_display.announce_cli`) writes the same WAV file from the command line.
"""
