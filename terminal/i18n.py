"""The one catalogue of words the kiosk, the receipts and the poll tapes use.

Persian first, English second. Keys are either screen labels or error codes
(from ``terminal.errors``, ``terminal.devices.errors`` and the ballot server's
refusals), so every failure a voter can meet is explained in both languages.
The kiosk fetches the whole catalogue at start-up (``GET /api/catalogue``).
"""

from __future__ import annotations

from evote.digits import persian_digits

CATALOGUE: dict[str, tuple[str, str]] = {
    # Screens and buttons.
    "title": ("رأی‌گیری الکترونیکی", "Electronic voting"),
    "insert_card": ("لطفاً کارت ملی هوشمند خود را وارد کنید", "Please insert your national ID card"),
    "or_scan_pass": (
        "یا برگه عبور را جلوی اسکنر بگیرید",
        "or hold your voting pass to the scanner",
    ),
    "reading_card": ("در حال خواندن کارت…", "Reading your card…"),
    # The check-in desk.
    "desk_title": ("میز پذیرش", "Check-in desk"),
    "desk_insert_card": (
        "کارت ملی رأی‌دهنده را در کارت‌خوان میز بگذارید",
        "Put the voter's national ID card in the desk's reader",
    ),
    "desk_enter_pin": ("رأی‌دهنده رمز کارت را وارد کند", "The voter enters the card PIN"),
    "desk_issuing": ("در حال استعلام و صدور برگه عبور…", "Checking in and issuing a pass…"),
    "pass_printed": (
        "برگه عبور چاپ شد. کارت را بردارید و برگه را در یکی از صندوق‌ها جلوی اسکنر بگیرید",
        "Pass printed. Take the card; hold the pass to the scanner at a booth",
    ),
    "desk_next": ("رأی‌دهنده بعدی", "Next voter"),
    "desk_refused": ("پذیرش ممکن نیست", "Cannot check in"),
    "desk_unreachable": (
        "سامانه استعلام پاسخ نداد: {reason}",
        "The inquiry service did not answer: {reason}",
    ),
    # Officials' screen and the end of a vote.
    "officials_unreachable": (
        "سرور پاسخ نداد؛ کاری انجام نشد: {reason}",
        "The server did not answer; nothing was done: {reason}",
    ),
    "server_no_answer": ("سرور پاسخ نداد: {reason}", "the server did not answer: {reason}"),
    "report_not_printed": (
        "{done} — اما گزارش چاپ نشد: {reason}",
        "{done} — but the report did not print: {reason}",
    ),
    # The printer's faults as an official reads them under a report (the voter's versions
    # speak of "your vote").
    "report_paper_out": ("کاغذ چاپگر تمام شده است", "the printer is out of paper"),
    "report_cover_open": ("درِ چاپگر باز است", "the printer cover is open"),
    "report_printer_offline": ("چاپگر پاسخ نمی‌دهد", "the printer does not answer"),
    "take_card": ("کارت خود را بردارید", "Please take your card"),
    "connection_lost": (
        "ارتباط با دستگاه قطع شده است؛ خودکار دوباره وصل می‌شود…",
        "Lost contact with the terminal; reconnecting by itself…",
    ),
    "desk_take_card": ("کارت را از کارت‌خوان بردارید", "Take the card out of the reader"),
    "passes_issued": ("برگه‌های صادرشده", "Passes issued"),
    "pass_title": ("برگه عبور رأی‌گیری", "Voting pass"),
    "pass_note": (
        "یک‌بار مصرف\nدر صندوق‌های این شعبه جلوی اسکنر بگیرید",
        "One use only\nHold it to the scanner at a booth\nof this station",
    ),
    "pass_expires": ("اعتبار تا", "Valid until"),
    "enter_pin": ("رمز کارت را وارد کنید", "Enter your card PIN"),
    "tries_left": ("رمز نادرست است. {n} بار دیگر می‌توانید تلاش کنید", "Wrong PIN. {n} tries left"),
    "pin_warning": (
        "پس از سه بار رمز نادرست، کارت قفل می‌شود",
        "After three wrong PINs the card locks",
    ),
    "inquiry": ("در حال استعلام…", "Checking your eligibility…"),
    "ballot": ("برگه رأی", "Ballot"),
    "choose_up_to": ("حداکثر {n} نفر را انتخاب کنید", "Choose up to {n}"),
    "choose_one": ("یک نفر را انتخاب کنید", "Choose one"),
    "chosen_of": ("{k} از {n} انتخاب شده", "{k} of {n} chosen"),
    "limit_reached": (
        "به حداکثر تعداد رسیده‌اید؛ برای تغییر، یک انتخاب را بردارید",
        "Limit reached; remove a choice to change it",
    ),
    "search": ("جستجوی نام یا کد", "Search name or code"),
    "code": ("کد", "Code"),
    "no_match": ("نامزدی با این مشخصات نیست", "No candidate matches"),
    "pages": ("صفحه‌های نامزدها", "Pages of candidates"),
    "page_of": ("صفحه {k} از {n}", "Page {k} of {n}"),
    "page_previous": ("صفحه قبل", "Previous page"),
    "page_next": ("صفحه بعد", "Next page"),
    "more_below": ("ادامه در پایین", "More below"),
    "next": ("ادامه", "Next"),
    "previous": ("قبلی", "Previous"),
    "review": ("بازبینی رأی", "Review your ballot"),
    "blank_contest": ("سفید (بدون انتخاب)", "Blank (no choice)"),
    "undervote_confirm": (
        "در برخی بخش‌ها کمتر از حد مجاز انتخاب کرده‌اید. ادامه می‌دهید؟",
        "You chose fewer than allowed in some contests. Continue?",
    ),
    "edit": ("ویرایش", "Edit"),
    "confirm": ("تأیید", "Confirm"),
    "encrypting": ("در حال رمزنگاری رأی…", "Encrypting your ballot…"),
    "tracking_code": ("کد رهگیری", "Tracking code"),
    "cast_or_challenge": (
        "رأی را به صندوق بیندازید، یا برای آزمودن رمزنگاری آن را باطل و بررسی کنید",
        "Cast your ballot, or challenge it to check the encryption",
    ),
    "cast": ("ثبت رأی", "Cast"),
    "challenge": ("بررسی و ابطال", "Challenge"),
    "casting": ("در حال ثبت…", "Casting…"),
    "receipt_done": (
        "رأی شما ثبت شد. رسید را بردارید و کارت را خارج کنید",
        "Your vote is cast. Take your receipt and remove your card",
    ),
    "challenged_done": (
        "این برگه باطل شد و رمز آن چاپ شد. اکنون دوباره رأی دهید",
        "This ballot was spoiled and its secrets printed. Now vote again",
    ),
    "vote_again": ("رأی دوباره", "Vote again"),
    "refused_title": ("امکان رأی‌دادن نیست", "You cannot vote now"),
    "cancelled": ("جلسه لغو شد؛ رأیی ثبت نشد", "Session cancelled; nothing was cast"),
    "finish": ("پایان", "Finish"),
    "cancel": ("انصراف", "Cancel"),
    "back": ("بازگشت", "Back"),
    "cancel_confirm": (
        "از رأی دادن انصراف می‌دهید؟ می‌توانید دوباره کارت بزنید و رأی دهید.",
        "Stop voting? You can insert your card again and vote.",
    ),
    "session_ends_in": (
        "به دلیل عدم فعالیت، {seconds} ثانیه دیگر جلسه پایان می‌یابد.",
        "No activity: the session ends in {seconds} s.",
    ),
    "still_here": ("ادامه می‌دهم", "I am still here"),
    "clear": ("پاک", "Clear"),
    "delete_digit": ("پاک‌کردن رقم آخر", "Delete the last digit"),
    "language": ("English", "فارسی"),
    "audio": ("صدا", "Audio"),
    "audio_on": (
        "راهنمای صوتی روشن شد. با کلیدهای بالا و پایین جابه‌جا شوید، با کلید تأیید انتخاب کنید،"
        " کلید بازگشت برای مرحله قبل، و کلید تکرار برای شنیدن دوباره."
        " کلید تیره صفحه را خاموش می‌کند.",
        "Audio on. Up and down move, select chooses, back returns, repeat says it again."
        " The dark key turns the screen off.",
    ),
    "selected": ("انتخاب شده", "selected"),
    "not_selectable": ("ظرفیت پر است", "limit reached"),
    "digits_entered": ("{n} رقم وارد شد", "{n} digits entered"),
    "screen_dark": ("صفحه تیره شد", "Screen dark"),
    "screen_lit": ("صفحه روشن شد", "Screen on"),
    "speech_unavailable": (
        "صدا در دسترس نیست؛ به مسئول شعبه بگویید",
        "Audio is not available; tell an official",
    ),
    "invalid_request": ("درخواست نامعتبر است", "Invalid request"),
    "contrast": ("کنتراست بالا", "High contrast"),
    "large_text": ("متن بزرگ", "Large text"),
    "polls_not_open": ("رأی‌گیری هنوز آغاز نشده است", "Polls are not open yet"),
    "polls_paused": ("رأی‌گیری موقتاً متوقف است", "Voting is paused"),
    "polls_closed": ("رأی‌گیری پایان یافته است", "Polls are closed"),
    "officials": ("بخش مسئولان شعبه", "Station officials"),
    "open_polls": ("آغاز رأی‌گیری", "Open polls"),
    "pause_polls": ("توقف موقت", "Pause"),
    "resume_polls": ("ادامه رأی‌گیری", "Resume"),
    "close_polls": ("پایان رأی‌گیری", "Close polls"),
    "close_anyway": ("بستن با وجود رأی‌های در انتظار", "Close although ballots wait"),
    "backlog_waiting": (
        "{n} رأی هنوز به سرور نرسیده است؛ صبر کنید یا بستن را صریحاً تأیید کنید.",
        "{n} ballots have not reached the server yet; wait, or confirm closing explicitly.",
    ),
    "close_confirm": (
        "پایان رأی‌گیری قطعی است و برگشت ندارد. مطمئنید؟",
        "Closing the polls is final. Are you sure?",
    ),
    "countersign_again": ("امضای دوباره", "Countersign again"),
    "countersign_needed": (
        "آخرین گزارش پایانی این شعبه امضای کارت مسئول را ندارد؛ «امضای دوباره» را بزنید.",
        "The station's latest closing report lacks an official's countersignature: "
        "press Countersign again.",
    ),
    "countersigned_done": (
        "آخرین گزارش پایانی با کارت شما امضا شد",
        "The latest closing report is countersigned with your card",
    ),
    "closed_not_countersigned": (
        "رأی‌گیری پایان یافت، اما گزارش پایانی امضا نشد ({reason})؛ «امضای دوباره» را بزنید.",
        "Polls closed, but the closing report is not countersigned ({reason}); "
        "press Countersign again.",
    ),
    "close_outcome_unknown": (
        "درخواست پایان رأی‌گیری فرستاده شد اما پاسخ سرور نرسید ({reason})؛ هنوز معلوم نیست "
        "رأی‌گیری پایان یافته یا نه. دستگاه در حال پرسیدن از سرور است…",
        "The close was sent but the server's answer did not arrive ({reason}): it is not "
        "known yet whether the polls closed. The terminal is asking the server…",
    ),
    "close_not_done": (
        "سرور می‌گوید رأی‌گیری {state} است: پایان رأی‌گیری انجام نشد؛ دوباره پایان دهید.",
        "The server says the polls are {state}: the close did not take effect; close again.",
    ),
    "close_answer_lost": (
        "پاسخ سرور به پایان رأی‌گیری نرسید و گزارش چاپ نشد",
        "the server's answer to the close was lost and no report was printed",
    ),
    "polls_closed_confirmed": (
        "سرور تأیید کرد: رأی‌گیری پایان یافته و گزارش پایانی امضا شده است (گزارش اینجا چاپ نشد)",
        "The server confirms the polls are closed and the closing report is countersigned "
        "(no report was printed here)",
    ),
    "polls_state": ("وضعیت", "Polls"),
    "offline_banner": (
        "حالت برون‌خط: رأی موقت، پس از وصل شدن ارتباط بررسی و شمرده می‌شود",
        "Offline: provisional ballots, counted when the link is back",
    ),
    "provisional_receipt": ("رأی موقت — شعبه برون‌خط", "PROVISIONAL ballot — station offline"),
    "enter_offline": ("ورود به حالت برون‌خط", "Enter offline mode"),
    "leave_offline": ("خروج از حالت برون‌خط", "Leave offline mode"),
    "offline_entered": (
        "حالت برون‌خط فعال شد؛ رأی‌دهندگان با فهرست برون‌خط پذیرش می‌شوند",
        "Offline mode on: voters are checked in against the offline roll",
    ),
    "offline_left": ("حالت برون‌خط پایان یافت", "Offline mode off"),
    "offline_unavailable": (
        "فهرست برون‌خط این شعبه بارگذاری نشده است",
        "No offline roll is loaded on this terminal",
    ),
    "polls_opened": ("رأی‌گیری آغاز شد؛ گزارش صفر چاپ شد", "Polls opened; zero report printed"),
    "polls_paused_done": ("رأی‌گیری موقتاً متوقف شد", "Voting paused"),
    "polls_resumed": ("رأی‌گیری ادامه یافت", "Voting resumed"),
    "polls_closed_done": (
        "رأی‌گیری پایان یافت؛ گزارش پایانی چاپ و ارسال شد",
        "Polls closed; closing report printed and sent",
    ),
    "state_not_opened": ("آغاز نشده", "not open"),
    "state_open": ("باز", "open"),
    "state_paused": ("متوقف", "paused"),
    "state_closed": ("بسته", "closed"),
    "ballots_cast": ("رأی‌های ثبت‌شده", "Ballots cast"),
    "ballots_challenged": ("برگه‌های باطل‌شده", "Ballots challenged"),
    "waiting_to_send": ("{n} رأی در انتظار ارسال", "{n} ballots waiting to send"),
    "rejected_by_server": ("رد شده توسط سرور", "Rejected by the server"),
    "link_status": ("ارتباط", "Link"),
    "link_online": ("ارتباط با سرور برقرار است", "Connected to the server"),
    "link_offline": ("ارتباط با سرور قطع است", "Not connected to the server"),
    "oldest_waiting": ("قدیمی‌ترین رأی در انتظار (ثانیه)", "Oldest waiting ballot (seconds)"),
    "last_link_error": ("آخرین خطای ارتباط", "Last link error"),
    "exit": ("خروج", "Exit"),
    "station": ("شعبه", "Station"),
    "terminal": ("دستگاه", "Terminal"),
    "time": ("زمان", "Time"),
    "receipt_title": ("رسید رأی", "Ballot receipt"),
    "receipt_lookup": ("کد رهگیری را در سایت پیگیری کنید", "Look the tracking code up online"),
    "challenge_title": ("برگه باطل‌شده برای بررسی", "Challenged ballot, for checking"),
    "challenge_note": (
        "این برگه شمارش نمی‌شود.\nکد زیر رمز آن را برای بررسی نشان می‌دهد.",
        "Not counted. The code below reveals\nits encryption for checking.",
    ),
    "zero_report": ("گزارش صفر آغاز رأی‌گیری", "Opening (zero) report"),
    "closing_report": ("گزارش پایان رأی‌گیری", "Closing report"),
    "last_sequence": ("آخرین شماره", "Last sequence"),
    "chain_head": ("سر زنجیره", "Chain head"),
    # Errors and refusals, by code.
    "wrong_pin": ("رمز نادرست است", "Wrong PIN"),
    "pin_blocked": (
        "کارت شما پس از سه رمز نادرست قفل شده است."
        " برای بازکردن آن با کد PUK به دفتر ثبت احوال مراجعه کنید",
        "Your card is locked after three wrong PINs."
        " The registry office can unlock it with your PUK",
    ),
    "card_removed": ("کارت خارج شد", "The card was removed"),
    "no_card": ("کارتی در دستگاه نیست", "No card in the reader"),
    "card_error": ("کارت پاسخ نادرست داد", "The card gave an unexpected answer"),
    "card_data_invalid": ("اطلاعات کارت معتبر نیست", "The card's data is not valid"),
    "paper_out": (
        "کاغذ چاپگر تمام شده؛ رأی شما ثبت شده است. رسید پس از تعویض کاغذ چاپ می‌شود",
        "The printer is out of paper; your vote is recorded."
        " The receipt prints once paper is loaded",
    ),
    "cover_open": (
        "درِ چاپگر باز است؛ رأی شما ثبت شده است. به مسئول شعبه بگویید",
        "The printer cover is open; your vote is recorded. Tell an official",
    ),
    "printer_offline": (
        "چاپگر پاسخ نمی‌دهد؛ رأی شما ثبت شده است. به مسئول شعبه بگویید",
        "The printer does not answer; your vote is recorded. Tell an official",
    ),
    "device_timeout": ("دستگاه پاسخ نداد", "A device did not answer"),
    "device_communication": ("ارتباط با دستگاه مختل است", "Device communication failed"),
    "server_unreachable": (
        "ارتباط با سامانه استعلام برقرار نیست؛ کمی بعد دوباره تلاش کنید یا به مسئول شعبه بگویید",
        "The inquiry service cannot be reached; try again shortly or ask an official",
    ),
    "wrong_station": ("این کارت مسئول این شعبه نیست", "This official card is not for this station"),
    "not_an_official": ("این کارت، کارت مسئول نیست", "This is not an official's card"),
    "invalid_pass": ("برگه عبور معتبر نیست", "The voting pass is not valid"),
    "polls_not_open_refusal": ("رأی‌گیری باز نیست", "The polls are not open"),
    "invalid_choices": ("انتخاب‌ها معتبر نیستند", "The choices are not valid"),
    "illegal_transition": ("این کار اکنون ممکن نیست", "That is not possible now"),
    "terminal_error": ("خطای دستگاه رأی‌گیری", "Voting terminal error"),
    "timeout": ("زمان به پایان رسید", "Time is up"),
    "journal_error": (
        "ثبت رأی در حافظه دستگاه ممکن نشد؛ رأیی ثبت نشد. به مسئول شعبه بگویید",
        "The terminal could not store the ballot; nothing was cast. Tell an official",
    ),
    "invalid_pin": ("رمز باید ۴ تا ۸ رقم باشد", "A PIN is 4 to 8 digits"),
    "authorization_invalid": ("مجوز رأی نامعتبر است", "The authorization is invalid"),
    "not_a_voter_card": ("این کارت رأی‌دهنده نیست", "This is not a voter card"),
    "polls_paused_refusal": ("رأی‌گیری موقتاً متوقف است", "Voting is paused"),
}


FIRST_STRONG_ISOLATE = "\u2068"
POP_DIRECTIONAL_ISOLATE = "\u2069"


def text(key: str, language: str = "fa", **values: object) -> str:
    """The catalogue text for ``key`` with ``{name}`` filled; Persian digits in Persian.

    Numbers filled in get Persian digits too; text filled in (a URL, an error the
    system reported) is left as it is, so it can still be read and typed, and in
    Persian it is isolated (FSI … PDI): a Latin URL or error keeps its own
    direction instead of being reordered with the Persian around it.
    """
    fa, en = CATALOGUE.get(key, CATALOGUE["terminal_error"])
    if language != "fa":
        return en.format(**{name: str(value) for name, value in values.items()})
    return persian_digits(fa).format(
        **{
            name: persian_digits(str(value))
            if isinstance(value, int)
            else f"{FIRST_STRONG_ISOLATE}{value}{POP_DIRECTIONAL_ISOLATE}"
            for name, value in values.items()
        }
    )


def catalogue_json() -> dict[str, dict[str, str]]:
    return {key: {"fa": fa, "en": en} for key, (fa, en) in CATALOGUE.items()}
