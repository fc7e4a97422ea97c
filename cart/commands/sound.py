"""``cart sound CUE`` (hear a cue on this machine) and ``cart bench sound`` (event to
cue)."""

from __future__ import annotations

import json


def register(sub) -> None:
    p = sub.add_parser("sound", help="play a sound cue (accepted, question, refused, checkout)")
    p.add_argument("cue", choices=("accepted", "question", "refused", "checkout"))
    p.add_argument("--volume", type=float, default=0.6, help="0-1 (default 0.6)")
    p.add_argument("--device", default="default", help="ALSA device (default: default)")
    p.set_defaults(func=_play)


def register_bench(sub) -> None:
    b = sub.add_parser("sound", help="device event to sound cue started (aplay, or a stand-in)")
    b.add_argument("--events", type=int, default=60)
    b.add_argument("--command", default=None, help="the player (default: aplay, else cat)")
    b.add_argument("--device", default="default")
    b.set_defaults(func=_bench)


def _play(args) -> int:
    from cart.app.sound import AplayPlayer, Cue, SoundSettings

    try:
        settings = SoundSettings.from_profile({"volume": args.volume, "device": args.device})
    except ValueError as exc:
        print(f"error: {exc}")
        return 2
    player = AplayPlayer(settings)
    player.play(Cue(args.cue))
    player.close()
    if player.broken:
        print(player.broken)
        return 1
    return 0


def _bench(args) -> int:
    from cart.bench.sound import run

    print(json.dumps(run(args.events, args.command, args.device)))
    return 0
