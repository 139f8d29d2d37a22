"""Speech for the audio ballot: espeak-ng (its Persian and English voices) to WAV, cached.

Rendering is live: espeak-ng speaks a kiosk line in well under a tenth of a
second on a desktop core (docs/performance.md has the figures), and the
tracking code is new for every ballot anyway. Each clip is kept in the
terminal's data directory under a hash of (voice, rate, text), so a phrase is
rendered once per election and every later voter gets the file at once.

espeak-ng runs as a subprocess with the text as an argument (never a shell),
text is limited in length, and nothing the voter chose is ever written to a
log; the cache holds the words of screens and candidate names, and the
tracking code clips of ballots already cast, which are public.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from terminal.errors import TerminalError

ESPEAK = "espeak-ng"
VOICES = {"fa": "fa", "en": "en-gb"}
DEFAULT_RATE_WPM = 160
RATE_RANGE_WPM = (80, 320)
MAX_TEXT_CHARS = 600
RENDER_TIMEOUT_S = 20.0


class SpeechUnavailable(TerminalError):
    """espeak-ng is missing or failed: the audio ballot cannot speak."""

    code = "speech_unavailable"


class Speech:
    """Speaks kiosk lines to WAV files in ``cache_dir``."""

    def __init__(self, cache_dir: Path, espeak: str = ESPEAK) -> None:
        self.cache_dir = cache_dir
        self.espeak = espeak

    def clip(self, text: str, language: str, rate_wpm: int = DEFAULT_RATE_WPM) -> Path:
        """The WAV of ``text`` in ``language`` at ``rate_wpm``; rendered on first use."""
        if language not in VOICES:
            raise SpeechUnavailable(f"no voice for {language!r}", code="invalid_request")
        if not text.strip() or len(text) > MAX_TEXT_CHARS:
            raise SpeechUnavailable("nothing to say, or too much", code="invalid_request")
        rate = min(max(rate_wpm, RATE_RANGE_WPM[0]), RATE_RANGE_WPM[1])
        key = hashlib.sha256(f"{VOICES[language]}\0{rate}\0{text}".encode()).hexdigest()
        path = self.cache_dir / f"{key}.wav"
        if path.exists():
            return path
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        command = [self.espeak, "-v", VOICES[language], "-s", str(rate), "-w", str(partial), text]
        try:
            subprocess.run(command, check=True, capture_output=True, timeout=RENDER_TIMEOUT_S)
        except (OSError, subprocess.SubprocessError) as error:
            raise SpeechUnavailable(f"espeak-ng failed: {error}") from error
        partial.replace(path)
        return path
