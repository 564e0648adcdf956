"""The text a mail client shows for an HTML-only message, with the standard library's HTMLParser
(tolerant of the broken markup mail is full of; regexes are not)."""
from __future__ import annotations

import re
from html.parser import HTMLParser

# Content that is never shown: skipped with everything inside it.
_HIDDEN = {"script", "style", "head", "title", "template", "noscript", "xml", "o:p"}
# Tags that start a new line in a rendered message.
_BLOCK = {"p", "div", "br", "li", "tr", "table", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
          "pre", "hr", "dl", "dt", "dd", "section", "article", "header", "footer", "center", "address", "form"}
_PARAGRAPH = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "ul", "ol", "hr"}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)  # entities unescaped for us, even broken ones
        self.parts: list[str] = []
        self.hidden = 0
        self.pre = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag == "body":
            self.hidden = 0  # an unclosed <head> or <style> must not hide the whole message
        elif tag == "pre":
            self.pre += 1
        if tag in _BLOCK:
            self.parts.append("\n\n" if tag in _PARAGRAPH else "\n")
        if tag == "li":
            self.parts.append("- ")
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs) -> None:
        if tag in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag == "pre":
            self.pre = max(0, self.pre - 1)
        if tag in _BLOCK and tag not in ("br", "li", "tr"):  # the next item starts its own line
            self.parts.append("\n\n" if tag in _PARAGRAPH else "\n")

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        if not self.pre:
            # Source newlines and runs of spaces are just spaces in rendered HTML.
            data = re.sub(r"[ \t\r\n\f]+", " ", data)
        self.parts.append(data.replace("\xa0", " "))


def html_to_text(html: str) -> str:
    parser = _TextExtractor()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # HTMLParser is tolerant, but keep whatever was read if it ever gives up
        pass
    text = "".join(parser.parts)
    lines = [line.strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
