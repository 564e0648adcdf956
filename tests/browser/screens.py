"""Screenshots of every screen, at desktop and phone width, for a person to look at.

Each journey's screenshot test walks its screens once per device: `device_pages` opens a browser
context per device in the test's language, and `Shooter` checks a screen doesn't scroll sideways
(the usual phone breakage) before saving `<lang>-<device>-<nn>-<screen>.png` under the folder.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from playwright.sync_api import Browser, Page

DEVICES = {"desktop": {"width": 1280, "height": 860}, "phone": {"width": 390, "height": 844}}


def no_sideways_scroll(page: Page, where: str) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"{where}: the page is {overflow}px wider than the window"


def device_pages(browser: Browser, lang: str, *, phone_scale: int = 1) -> Iterator[tuple[str, Page]]:
    """(device, page) for each device, in `lang` ("en" or "zh"); the context closes after its turn."""
    for device, viewport in DEVICES.items():
        phone = device == "phone"
        context = browser.new_context(viewport=viewport, device_scale_factor=phone_scale if phone else 1,
                                      is_mobile=phone, has_touch=phone,
                                      locale="zh-CN" if lang == "zh" else "en-US")
        page = context.new_page()
        page.set_default_timeout(10_000)
        try:
            yield device, page
        finally:
            context.close()


class Shooter:
    """`shot("name")`: numbered full-page screenshots of one device's walk through the screens."""

    def __init__(self, page: Page, folder: Path, lang: str, device: str, *, style: str | None = None):
        self.page, self.folder, self.prefix, self.style = page, folder, f"{lang}-{device}", style
        self.n = 0
        folder.mkdir(parents=True, exist_ok=True)

    def __call__(self, name: str) -> Path:
        self.n += 1
        no_sideways_scroll(self.page, f"{self.prefix}/{name}")
        if self.style:
            self.page.add_style_tag(content=self.style)
        path = self.folder / f"{self.prefix}-{self.n:02d}-{name}.png"
        # From the top: scrolled, the fixed top bar would be drawn across the middle of a full-page shot.
        self.page.evaluate("window.scrollTo(0, 0)")
        self.page.screenshot(path=str(path), full_page=True)
        return path
