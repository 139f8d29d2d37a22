"""The one catalogue of refusal reasons: stable codes, HTTP status, Persian and English.

The ballot server answers every refusal with a code from this table; the
terminal shows the message to the voter (Persian first) and may switch on the
code. Keeping the table in the shared model means both sides agree on codes
without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Refusal:
    """One refusal reason: its HTTP status and its messages for people."""

    code: str
    status: int
    message_fa: str
    message_en: str


_ENTRIES = [
    # Malformed or unauthenticated requests.
    Refusal("malformed_request", 400, "درخواست نامعتبر است.", "The request is malformed."),
    Refusal("request_too_large", 413, "درخواست بیش از حد بزرگ است.", "The request is too large."),
    Refusal("unsupported_media_type", 415, "نوع محتوا باید JSON باشد.", "Content must be JSON."),
    Refusal("not_found", 404, "یافت نشد.", "Not found."),
    Refusal("method_not_allowed", 405, "این روش مجاز نیست.", "Method not allowed."),
    Refusal("unknown_terminal", 403, "دستگاه ثبت نشده است.", "This terminal is not registered."),
    Refusal(
        "terminal_revoked",
        403,
        "این دستگاه توسط ستاد باطل شده است.",
        "This terminal has been revoked by HQ.",
    ),
    Refusal(
        "bad_signature", 403, "امضای درخواست نامعتبر است.", "The request signature is invalid."
    ),
    Refusal(
        "stale_request",
        403,
        "زمان درخواست خارج از بازه مجاز است.",
        "The request timestamp is outside the allowed window.",
    ),
    Refusal("replayed_request", 409, "این درخواست تکراری است.", "This request was already used."),
    Refusal(
        "election_not_ready",
        409,
        "انتخابات هنوز تعریف نشده است.",
        "The election has not been created on this server yet.",
    ),
    Refusal("unknown_station", 404, "شعبه ناشناخته است.", "Unknown polling station."),
    # Inquiry: the voter's eligibility.
    Refusal(
        "unknown_challenge",
        403,
        "چالش کارت نامعتبر یا منقضی است؛ دوباره تلاش کنید.",
        "The card challenge is unknown, used or expired; try again.",
    ),
    Refusal("card_not_genuine", 403, "کارت معتبر نیست.", "The card is not genuine."),
    Refusal("card_revoked", 403, "کارت باطل شده است.", "The card has been revoked."),
    Refusal(
        "card_signature_invalid",
        403,
        "پاسخ کارت به چالش نامعتبر است.",
        "The card's answer to the challenge is invalid.",
    ),
    Refusal("not_a_voter_card", 403, "این کارت رأی‌دهنده نیست.", "This is not a voter card."),
    Refusal("not_on_roll", 403, "نام شما در فهرست رأی‌دهندگان نیست.", "You are not on the roll."),
    Refusal(
        "card_roll_mismatch",
        403,
        "مشخصات کارت با فهرست رأی‌دهندگان مطابقت ندارد.",
        "The card's details do not match the roll.",
    ),
    Refusal("deceased", 403, "طبق ثبت احوال، دارنده کارت فوت کرده است.", "Registered deceased."),
    Refusal(
        "underage",
        403,
        "در روز انتخابات کمتر از ۱۸ سال سن دارید.",
        "Under 18 on election day.",
    ),
    Refusal(
        "wrong_ballot_style",
        403,
        "این شعبه برگه رأی حوزه انتخابیه شما را ندارد.",
        "This station does not hold your constituency's ballot.",
    ),
    Refusal("already_voted", 409, "شما قبلاً رأی داده‌اید.", "You have already voted."),
    Refusal(
        "not_in_roll_snapshot",
        403,
        "نام شما در فهرست برون‌خط این شعبه نیست؛ پس از برقراری ارتباط دوباره مراجعه کنید.",
        "You are not in this station's offline roll; come back when the link is up.",
    ),
    Refusal(
        "server_busy",
        503,
        "سامانه مشغول است؛ دستگاه دوباره تلاش می‌کند.",
        "The server is busy; the terminal will try again.",
    ),
    Refusal(
        "station_register_unreachable",
        503,
        "دستگاه به فهرست پذیرش برون‌خط شعبه دسترسی ندارد؛ به مسئول شعبه اطلاع دهید.",
        "This booth cannot reach the station's offline register; tell an official.",
    ),
    Refusal(
        "link_not_down_long_enough",
        409,
        "حالت برون‌خط فقط پس از قطع طولانی ارتباط فعال می‌شود.",
        "Offline mode opens only after the link has been down long enough.",
    ),
    Refusal(
        "not_offline",
        409,
        "شعبه در حالت برون‌خط نیست.",
        "The station is not in offline mode.",
    ),
    # Passes and authorizations.
    Refusal("pass_invalid", 403, "برگه ورود نامعتبر است.", "The QR pass is not valid."),
    Refusal("pass_used", 409, "این برگه ورود قبلاً استفاده شده است.", "This QR pass was used."),
    Refusal("pass_expired", 403, "برگه ورود منقضی شده است.", "This QR pass has expired."),
    Refusal(
        "pass_wrong_station",
        403,
        "این برگه ورود برای شعبه دیگری است.",
        "This QR pass is for another station.",
    ),
    Refusal("authorization_invalid", 403, "مجوز رأی نامعتبر است.", "The authorization is invalid."),
    Refusal("authorization_used", 409, "مجوز رأی قبلاً استفاده شده است.", "Authorization used."),
    Refusal("authorization_expired", 403, "مجوز رأی منقضی شده است.", "Authorization expired."),
    Refusal(
        "void_invalid",
        403,
        "ابطال مجوز رأی نامعتبر است.",
        "The authorization void is not valid for this release.",
    ),
    Refusal(
        "holder_not_revoked",
        409,
        "دستگاهی که مجوز رأی را دارد هنوز باطل نشده است.",
        "The terminal holding the authorization has not been revoked.",
    ),
    Refusal(
        "authorization_after_close",
        409,
        "مجوز رأی پس از بسته شدن صندوق صادر شده است.",
        "The authorization was not issued before the polls closed.",
    ),
    Refusal(
        "authorization_wrong_station",
        403,
        "مجوز رأی برای شعبه یا برگه دیگری است.",
        "The authorization is for another station or ballot style.",
    ),
    # Ballots.
    Refusal(
        "invalid_ballot", 422, "برگه رأی رمزشده نامعتبر است.", "The encrypted ballot is invalid."
    ),
    Refusal("invalid_proof", 422, "اثبات رمزنگاری نادرست است.", "A ballot proof does not verify."),
    Refusal("invalid_point", 422, "عنصر گروه نامعتبر است.", "A group element is invalid."),
    Refusal(
        "copied_ciphertext",
        409,
        "این برگه رأی رمزی از برگه رأی دیگری را تکرار می‌کند.",
        "The ballot repeats a ciphertext of another ballot on the board.",
    ),
    Refusal(
        "tracking_code_mismatch",
        422,
        "کد رهگیری با برگه رأی مطابقت ندارد.",
        "The tracking code does not match the ballot.",
    ),
    Refusal(
        "sequence_conflict",
        409,
        "شماره ترتیب یا زنجیره دستگاه با سرور ناسازگار است.",
        "The terminal's sequence or chain head does not follow the server's.",
    ),
    Refusal(
        "wrong_station", 403, "دستگاه متعلق به این شعبه نیست.", "Terminal not of this station."
    ),
    # Polls and officials.
    Refusal("polls_not_open", 409, "رأی‌گیری در این شعبه باز نیست.", "The polls are not open."),
    Refusal(
        "illegal_transition",
        409,
        "این تغییر وضعیت رأی‌گیری مجاز نیست.",
        "This poll state change is not allowed.",
    ),
    Refusal(
        "zero_report_not_zero",
        409,
        "گزارش صفر، صفر نیست؛ صندوق باز نمی‌شود.",
        "The zero report is not zero; the polls cannot open.",
    ),
    Refusal(
        "backlog_waiting",
        409,
        "رأی‌هایی هنوز به سرور نرسیده‌اند؛ بستن فقط با تأیید صریح مسئول.",
        "Ballots are still waiting to reach the server; closing needs an official's override.",
    ),
    Refusal(
        "not_closed",
        409,
        "رأی‌گیری این شعبه بسته نشده است؛ گزارش پایانی برای امضا نیست.",
        "The polls of this station are not closed; there is no closing report to countersign.",
    ),
    Refusal(
        "countersign_mismatch",
        409,
        "شمارش‌ها تغییر کرده‌اند؛ گزارش پایانی را دوباره امضا کنید.",
        "The counts changed; countersign the closing report again.",
    ),
    Refusal(
        "countersign_stale",
        409,
        "این امضا برای گزارش پایانی دیگری است؛ گزارش تازه را دوباره امضا کنید.",
        "That countersignature is of another closing report; countersign the latest one again.",
    ),
    Refusal(
        "poll_version_mismatch",
        409,
        "وضعیت رأی‌گیری این شعبه در این میان تغییر کرده است؛ دوباره تلاش کنید.",
        "The station's polls changed meanwhile (another period); try again.",
    ),
    Refusal("not_an_official", 403, "این کارت مسئول شعبه نیست.", "This is not an official's card."),
    Refusal(
        "official_wrong_station",
        403,
        "مسئول این شعبه نیستید.",
        "This official is not assigned to this station.",
    ),
]

_ENTRIES += [
    # A voter's check of a challenge slip (evote/challenge_slip.py).
    Refusal(
        "invalid_slip",
        400,
        "این متن کد برگه باطل‌شده نیست.",
        "This is not the code of a challenge slip.",
    ),
    Refusal(
        "slip_not_on_board",
        404,
        "این برگه هنوز در تابلوی اعلانات نیست؛ شاید دستگاه هنوز آن را نفرستاده است."
        " کمی بعد دوباره بررسی کنید.",
        "This ballot is not on the bulletin board yet; the terminal may not have sent it."
        " Check again later.",
    ),
    Refusal(
        "slip_not_challenged",
        409,
        "این کد رهگیری یک رأی ثبت‌شده است؛ انتخاب‌های آن محرمانه می‌ماند.",
        "This tracking code is a cast ballot; its choices stay secret.",
    ),
    Refusal(
        "slip_secrets_differ",
        409,
        "رمز منتشرشده در تابلو با این برگه یکی نیست. این را به ناظران گزارش دهید.",
        "The board published other secrets than this slip's. Report this to the observers.",
    ),
    Refusal(
        "slip_does_not_open",
        409,
        "رمز منتشرشده، برگه رمزشده را بازتولید نمی‌کند. این را به ناظران گزارش دهید.",
        "The published secrets do not reproduce the encrypted ballot. Report this to the"
        " observers.",
    ),
]

CATALOGUE: dict[str, Refusal] = {entry.code: entry for entry in _ENTRIES}


def refusal(code: str) -> Refusal:
    """The catalogue entry of ``code``; an unknown code is a programming error."""
    return CATALOGUE[code]
