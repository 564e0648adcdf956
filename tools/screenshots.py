"""Screenshots of every agent screen, desktop and phone, English and Chinese, for a visual review.

    .venv/bin/python tools/screenshots.py [OUT_DIR]        # default /tmp/screens

Seeds a throw-away desk exactly like the browser tests (tests/browser/desk.py), adds a reply,
an internal note and an attachment to one ticket so the conversation has something to show,
serves it on a free port and drives Debian's Chromium through each screen. File names:
<lang>-<device>-<nn>-<screen>.png, e.g. zh-phone-04-ticket.png.
"""
from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "browser"))

import desk as desk_module  # noqa: E402  (tests/browser/desk.py)

VIEWPORTS = {
    "desktop": dict(viewport={"width": 1366, "height": 850}),
    "phone": dict(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True),
}


def enrich(app, desk) -> None:
    """An agent reply with an attachment, and an internal note, on the journey ticket."""
    from werkzeug.datastructures import FileStorage
    import io

    from portal.extensions import db
    from portal.models import Ticket, User
    from portal.services.attachments import store_uploads
    from portal.services.tickets import add_thread, update_ticket

    with app.test_request_context():
        ticket = db.session.get(Ticket, desk.journey)
        rita = db.session.scalar(db.select(User).filter_by(email=desk.returns_agent))
        label = FileStorage(io.BytesIO(b"Return label RMA-2291\n" * 40), filename="return-label.txt",
                            content_type="text/plain")
        add_thread(ticket, kind="reply", by=rita, attachments=store_uploads([label]),
                   body="Sorry about that! A replacement goes out today; the return label is attached.")
        add_thread(ticket, kind="note", by=rita, body="Courier damage again: third one this week from this depot.")
        update_ticket(ticket, {"priority": "high"}, by=rita)
        db.session.commit()


def concurrent_change(app, desk, status: str) -> None:
    from portal.extensions import db
    from portal.models import Ticket, User
    from portal.services.tickets import update_ticket

    with app.app_context():
        sam = db.session.scalar(db.select(User).filter_by(email=desk.supervisor))
        update_ticket(db.session.get(Ticket, desk.journey), {"status": status}, by=sam)
        db.session.commit()


def shoot(page, out: Path, name: str) -> None:
    page.evaluate("window.scrollTo(0, 0)")   # else the sticky top bar lands mid-page in a full-page shot
    page.screenshot(path=str(out / f"{name}.png"), full_page=True)
    print("  ", name)


def run(out: Path, languages: list[str], devices: list[str]) -> int:
    from playwright.sync_api import expect, sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="deskwright-screens-")
    desk = desk_module.seeded_db(tmp)
    app = desk_module.make_live_app(tmp)
    enrich(app, desk)
    server = desk_module.LiveServer(app).start()
    base = server.url
    started = time.monotonic()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=desk_module.CHROMIUM, args=desk_module.CHROMIUM_ARGS)
            for lang in languages:
                for device in devices:
                    prefix = f"{lang}-{device}"
                    print(prefix)
                    context = browser.new_context(**VIEWPORTS[device], locale="zh-CN" if lang == "zh" else "en-US")
                    page = context.new_page()
                    page.set_default_timeout(10_000)

                    page.goto(base + "/login")
                    if lang == "zh":
                        page.get_by_role("button", name="简体中文").click()
                        expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
                    shoot(page, out, f"{prefix}-01-login")

                    email = desk.returns_agent_zh if lang == "zh" else desk.returns_agent
                    desk_module.login(page, base, email)
                    expect(page.locator("#queue-results")).to_be_visible()
                    shoot(page, out, f"{prefix}-02-queue")

                    page.locator("#queue-filters select[name=priority]").select_option("high")
                    expect(page).to_have_url(re.compile(r"priority=high"))
                    expect(page.locator("#ticket-rows tr.ticket-row")).to_have_count(len(desk.high) + 1)
                    page.keyboard.press("Escape")
                    page.keyboard.press("j")
                    shoot(page, out, f"{prefix}-03-queue-filtered")

                    page.goto(f"{base}/tickets/{desk.journey}")
                    expect(page.locator("#composer")).to_be_visible()
                    shoot(page, out, f"{prefix}-04-ticket")

                    page.locator("#field-status").select_option("pending")
                    expect(page.locator("#prop-status .saved-mark")).to_be_visible()
                    page.locator("#composer [data-send]").click()   # empty: the composer shows its error
                    expect(page.locator("#composer p.error").first).to_be_visible()
                    shoot(page, out, f"{prefix}-05-ticket-saved-and-error")

                    concurrent_change(app, desk, "on_hold")        # someone else, while the page is open
                    page.locator("#field-priority").select_option("urgent")
                    expect(page.locator("#prop-priority .conflict")).to_be_visible()
                    shoot(page, out, f"{prefix}-06-conflict")

                    page.locator(".tab[data-tab=history]").click()
                    expect(page.locator("#history")).to_be_visible()
                    shoot(page, out, f"{prefix}-07-history")

                    page.goto(base + "/tickets/new")
                    shoot(page, out, f"{prefix}-08-new-ticket")

                    page.goto(base + "/settings")
                    shoot(page, out, f"{prefix}-09-settings")

                    page.goto(base + "/tickets")
                    page.keyboard.press("?")
                    expect(page.locator("#help-overlay")).to_be_visible()
                    page.screenshot(path=str(out / f"{prefix}-10-help.png"))   # the overlay covers the viewport
                    print("  ", f"{prefix}-10-help")

                    page.goto(f"{base}/tickets/{desk.billing}")   # another department's ticket
                    expect(page.locator("main h1")).to_be_visible()
                    shoot(page, out, f"{prefix}-11-not-found")

                    # Put the ticket back for the next round.
                    page.goto(f"{base}/tickets/{desk.journey}")
                    page.locator("#field-status").select_option("open")
                    expect(page.locator("#prop-status .saved-mark")).to_be_visible()
                    context.close()
            browser.close()
    finally:
        server.stop()
    print(f"Saved to {out} in {time.monotonic() - started:.1f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", nargs="?", default="/tmp/screens", help="folder for the PNGs (default /tmp/screens)")
    parser.add_argument("--lang", choices=["en", "zh"], action="append", help="only this language (repeatable)")
    parser.add_argument("--device", choices=list(VIEWPORTS), action="append", help="only this device (repeatable)")
    args = parser.parse_args(argv)
    return run(Path(args.out), args.lang or ["en", "zh"], args.device or list(VIEWPORTS))


if __name__ == "__main__":
    sys.exit(main())
