"""HTML from customers, mail and agents is cleaned on the way in (nh3), and always has a text twin."""
import html
import re

import nh3

_ALLOWED_TAGS = {
    "a", "b", "blockquote", "br", "code", "div", "em", "h1", "h2", "h3", "h4", "hr", "i", "img", "li", "ol",
    "p", "pre", "s", "span", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "u", "ul",
}
_ALLOWED_ATTRS = {"a": {"href", "title"}, "img": {"src", "alt", "width", "height"}, "td": {"colspan", "rowspan"},
                  "th": {"colspan", "rowspan"}}
_BLOCK_END = re.compile(r"</(p|div|li|tr|h[1-6]|blockquote|pre)>|<br\s*/?>", re.I)
_TAG = re.compile(r"<[^>]+>")


def clean_html(raw: str) -> str:
    return nh3.clean(raw or "", tags=_ALLOWED_TAGS, attributes=_ALLOWED_ATTRS,
                     url_schemes={"http", "https", "mailto", "cid"}, link_rel="noopener noreferrer nofollow")


def html_to_text(raw: str) -> str:
    text = _BLOCK_END.sub("\n", raw or "")
    text = html.unescape(_TAG.sub("", text))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def text_to_html(text: str) -> str:
    """Plain text typed by a person becomes paragraphs; nothing in it is markup."""
    paragraphs = re.split(r"\n\s*\n", (text or "").strip())
    return "".join("<p>" + html.escape(p).replace("\n", "<br>") + "</p>" for p in paragraphs if p.strip())
