"""The audio ballot: espeak-ng clips that really hold speech, and a whole vote by keypad
alone with audio on and the screen dark, in Persian."""

from __future__ import annotations

import re
import shutil
import subprocess
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from kiosk_browser import chromium_page, wait_screen
from station_harness import StationHarness

from terminal.errors import TerminalError
from terminal.kiosk_client import KioskClient
from terminal.runner import RunningTerminal
from terminal.speech import Speech, SpeechUnavailable

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None or shutil.which("sox") is None,
    reason="espeak-ng and sox are Debian packages (.ci/run installs them)",
)


def loudness(clip: Path) -> tuple[float, float]:
    """(seconds, RMS amplitude) of a WAV, as sox measures them."""
    report = subprocess.run(
        ["sox", str(clip), "-n", "stat"], capture_output=True, text=True, check=True
    ).stderr
    seconds = float(re.search(r"Length \(seconds\):\s+([\d.]+)", report).group(1))  # type: ignore[union-attr]
    rms = float(re.search(r"RMS\s+amplitude:\s+([\d.]+)", report).group(1))  # type: ignore[union-attr]
    return seconds, rms


@needs_espeak
@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("لطفاً کارت ملی هوشمند خود را وارد کنید", "fa"),
        ("۱۱۰۴، محمد محمدی، انتخاب شده", "fa"),
        ("Please insert your national ID card", "en"),
    ],
)
def test_a_clip_holds_speech_not_silence_and_is_rendered_once(
    tmp_path: Path, text: str, language: str
) -> None:
    speech = Speech(tmp_path)
    clip = speech.clip(text, language)
    seconds, rms = loudness(clip)
    assert seconds > 0.5 and rms > 0.02
    rendered_at = clip.stat().st_mtime_ns
    assert speech.clip(text, language) == clip and clip.stat().st_mtime_ns == rendered_at
    assert speech.clip(text, language, rate_wpm=300) != clip


def test_nothing_to_say_or_no_voice_or_no_espeak_is_a_coded_error(tmp_path: Path) -> None:
    for text, language in [("", "fa"), ("x" * 601, "fa"), ("hello", "de")]:
        with pytest.raises(TerminalError) as raised:
            Speech(tmp_path).clip(text, language)
        assert raised.value.code == "invalid_request"
    with pytest.raises(SpeechUnavailable) as missing:
        Speech(tmp_path, espeak=str(tmp_path / "no-espeak")).clip("سلام", "fa")
    assert missing.value.code == "speech_unavailable"


def press_until(page: Any, key: str, target: str, limit: int = 30) -> None:
    """Press ``key`` until the control matching ``target`` has focus (keypad stepping)."""
    for _ in range(limit):
        if page.evaluate(f"() => document.activeElement.matches({target!r})"):
            return
        page.keyboard.press(key)
    raise AssertionError(f"{target} never got focus")


@needs_espeak
def test_a_vote_by_keypad_alone_with_audio_on_and_the_screen_dark(
    chromium: Any,
    station: StationHarness,
    kiosk: KioskClient,
    running: RunningTerminal,
    tmp_path: Path,
    artifacts: Path,
) -> None:
    spoken: list[str] = []
    with chromium_page(chromium, 800, 480) as page:

        def heard(response: Any) -> None:
            if "/api/speech?" in response.url:
                assert response.status in (200, 206)  # media requests ask for byte ranges
                assert response.headers["content-type"] == "audio/wav"
                query = urllib.parse.parse_qs(urllib.parse.urlparse(response.url).query)
                spoken.append(query["text"][0])

        page.on("response", heard)
        page.goto(running.url)
        wait_screen(page, "idle")
        voter = station.next_voter()
        station.reader.insert(station.card(voter))
        wait_screen(page, "pin")
        page.keyboard.press("a")
        page.keyboard.press("d")
        page.keyboard.type(voter.pin)
        page.keyboard.press("Enter")
        wait_screen(page, "ballot")
        for contest in station.manifest.contests:
            first = contest.candidates[0].selection_id
            press_until(page, "ArrowDown", f'[data-selection="{first}"]')
            page.keyboard.press("Enter")
            assert page.get_attribute(f'[data-selection="{first}"]', "aria-pressed") == "true"
            press_until(page, "ArrowDown", "#next")
            page.keyboard.press("Enter")
        page.wait_for_selector("#dialog:not([hidden])")
        press_until(page, "ArrowDown", "#dialog button.primary")
        page.keyboard.press("Enter")
        wait_screen(page, "review")
        press_until(page, "ArrowDown", "#confirm")
        with page.expect_response(
            lambda response: "%DA%A9%D8%AF+%D8%B1%D9%87%DA%AF" in response.url
        ):
            page.keyboard.press("Enter")  # the tracking screen is read out: "کد رهگیری …"
        wait_screen(page, "tracking")
        press_until(page, "ArrowDown", "#cast")
        page.keyboard.press("Enter")
        wait_screen(page, "receipt")
        page.screenshot(path=str(artifacts / "audio-ballot-screen-dark.png"))
        assert page.evaluate("() => document.documentElement.classList.contains('dark')")
        sheet = page.evaluate("() => getComputedStyle(document.body, '::after').backgroundColor")
        assert sheet == "rgb(0, 0, 0)"
        tracking = page.inner_text("#tracking-code")
        page.wait_for_function(
            "() => performance.getEntriesByType('resource')"
            ".filter(entry => entry.name.includes('/api/speech?')).length > 0"
        )
    assert len(station.printer.receipts) >= 2  # the zero report and this voter's receipt
    said = " | ".join(spoken)
    first_majlis = station.manifest.contests[0].candidates[0]
    assert first_majlis.name.fa in said  # a candidate read out in Persian
    assert "رقم وارد شد" in said  # PIN digits counted, never read out
    assert voter.pin not in said
    assert " ".join(tracking.replace(" ", ""))[:9] in said.translate(
        str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")
    )
