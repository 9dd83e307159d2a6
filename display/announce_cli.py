"""``antre announce``: one announcement, exactly as the display plays it.

::

    antre announce A-012 --counter "Loket 2" --out /tmp/a012.wav   # write it
    antre announce A-012 --counter loket-2                          # play it here
    antre announce --check-clips                                    # which clips are missing?

The voice, number style, volume, repeat and player come from the ``[display]``
section of the configuration; the flags below override some of them for a try-out.
``--counter`` takes a counter id or name from the configuration (then its
``number`` is used) or any name such as "Loket 5".
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("number", nargs="?", help="ticket number such as A-012")
    parser.add_argument("--counter", metavar="NAME",
                        help="counter id or name from the configuration (loket-2, 'Loket 2'), or any name")
    parser.add_argument("--counter-number", type=int, metavar="N",
                        help="number spoken for the counter (default: from the configuration or the name)")
    parser.add_argument("--lang", choices=("id", "en"), help="language (default: [office] language)")
    parser.add_argument("--out", metavar="FILE.wav", help="write the WAV file here instead of playing it")
    parser.add_argument("--recall", action="store_true", help="a recall: starts with \"Panggilan ulang\"")
    parser.add_argument("--voice", choices=("espeak", "clips"), help="override [display] voice")
    parser.add_argument("--clips-dir", metavar="DIR", help="override [display] clips_dir")
    parser.add_argument("--style", choices=("words", "digits"), help="override [display] number_style")
    parser.add_argument("--strict-clips", action="store_true",
                        help="fail when a clip is missing instead of speaking that word with espeak-ng")
    parser.add_argument("--check-clips", action="store_true",
                        help="list the clips missing from the clips folder and exit (1 when any is missing); "
                             "letters: only the configured services' prefixes, unless --all-letters")
    parser.add_argument("--all-letters", action="store_true", help="with --check-clips: check huruf_a ... huruf_z")


def run(args: argparse.Namespace) -> int:
    from antre import config
    from antre.errors import ConfigError

    from . import voice

    cfg = config.load(args.config)
    overrides = {k: v for k, v in (("voice", args.voice), ("clips_dir", args.clips_dir),
                                   ("number_style", args.style)) if v is not None}
    settings = dataclasses.replace(cfg.display, **overrides)

    if args.check_clips:
        if not settings.clips_dir:
            raise ConfigError("no clips folder: set [display] clips_dir or pass --clips-dir")
        if not Path(settings.clips_dir).is_dir():
            raise ConfigError(f"clips folder {settings.clips_dir!r} does not exist")
        letters = None if args.all_letters else "".join(sorted({s.prefix for s in cfg.services}))
        needed = voice.needed_clips(letters)
        missing = voice.check_clips(settings.clips_dir, letters)
        for name in missing:
            print(f"missing {name}  (say: \"{voice.CLIP_WORDS[name[:-4]]}\")")
        print(f"{len(needed) - len(missing)} of {len(needed)} clips present in {settings.clips_dir}")
        return 1 if missing else 0

    if not args.number:
        raise ConfigError("give a ticket number such as A-012 (or --check-clips)")
    if not args.counter:
        raise ConfigError("give the counter: --counter 'Loket 2' (or a counter id such as loket-2)")
    voice.parse_ticket_number(args.number)      # a bad number fails before anything is synthesised

    counter_name, counter_number = args.counter, args.counter_number
    known = next((c for c in cfg.counters if args.counter in (c.id, c.name)), None)
    if known is not None:
        counter_name = known.name
        if counter_number is None:
            counter_number = known.number or None
    lang = args.lang or cfg.office.language

    text = voice.announcement_text(args.number, counter_name, counter_number,
                                   style=settings.number_style, lang=lang, recall=args.recall)
    synth = voice.Synthesizer(settings, strict_clips=args.strict_clips)
    if args.out:
        path = synth.write(args.out, args.number, counter_name, counter_number, lang=lang, recall=args.recall)
        print(path)
        print(text)
        return 0

    player = voice.CommandPlayer(settings.audio_player)
    with tempfile.TemporaryDirectory(prefix="antre-announce-") as tmp:
        path = synth.write(Path(tmp) / f"{args.number}.wav", args.number, counter_name, counter_number, lang=lang,
                           recall=args.recall)
        print(text)
        sys.stdout.flush()
        player(path)
    return 0
