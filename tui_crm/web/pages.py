"""The door's HTML: the login form, the one-time link's confirmation and the terminal page.
Nothing is fetched from another site: the font is textual-serve's own copy, the icon is
inline."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from html import escape

from tui_crm.i18n import LANGUAGES, _, get_language, set_language

FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    '<rect width="32" height="32" rx="6" fill="#1b3a4b"/>'
    '<path d="M7 10l6 6-6 6" stroke="#7fd1b9" stroke-width="3" fill="none"/>'
    '<rect x="15" y="20" width="10" height="3" fill="#f2c14e"/></svg>')

# ctrl+w (a word back in a terminal's text box) closes a browser's tab, and a page cannot
# stop that: while the session is on, the browser asks first. Inline, allowed by its hash in
# the Content-Security-Policy (no other inline script runs).
LEAVE_GUARD = ('addEventListener("beforeunload", e => { if (!document.body.classList'
               '.contains("-closed")) { e.preventDefault(); e.returnValue = ""; } });')
LEAVE_GUARD_HASH = "sha256-" + base64.b64encode(
    hashlib.sha256(LEAVE_GUARD.encode()).digest()).decode()

_STYLE = """
body{background:#0c181f;color:#e8eef2;font-family:system-ui,sans-serif;display:flex;
min-height:100vh;margin:0;align-items:center;justify-content:center}
form{background:#12232d;padding:2em 2.5em;border-radius:8px;min-width:18em}
h1{font-size:1.3em;margin-top:0}label{display:block;margin:.8em 0 .2em}
input{width:100%;box-sizing:border-box;padding:.5em;font-size:1em;border-radius:4px;
border:1px solid #395b6e;background:#0c181f;color:#e8eef2}
button{margin-top:1.2em;padding:.6em 1.5em;font-size:1em;background:#2f7d6d;color:#fff;
border:0;border-radius:4px;cursor:pointer}.error{color:#ff9b9b;max-width:22em}
.note{color:#9fb3bf;font-size:.85em;max-width:22em}
"""


def browser_language(accept: str) -> str:
    """The first of our languages the browser asks for (Accept-Language); English else."""
    for part in accept.split(","):
        code = part.split(";")[0].strip().split("-")[0].lower()
        if code in LANGUAGES:
            return code
    return "en"


@contextmanager
def language(code: str) -> Iterator[None]:
    """Render one page in the browser's language (the server handles one request at a
    time between awaits, and a page is rendered without one)."""
    before = get_language()
    set_language(code)
    try:
        yield
    finally:
        set_language(before)


def _page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html><html lang="{get_language()}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width">'
            f'<link rel="icon" href="favicon.svg" type="image/svg+xml">'
            f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
            f"<body>{body}</body></html>")


def login_page(*, login: str = "", error: str = "", only: str | None = None) -> str:
    note = (f'<p class="note">{escape(_("This server lets only {login} in.").format(login=only))}'
            "</p>" if only else "")
    problem = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    return _page("tui-crm", (
        f'<form method="post" action="login"><h1>tui-crm</h1>{problem}{note}'
        f'<label for="login">{escape(_("Login"))}</label>'
        f'<input id="login" name="login" autocomplete="username" required autofocus '
        f'value="{escape(login)}">'
        f'<label for="password">{escape(_("Password"))}</label>'
        f'<input id="password" name="password" type="password" '
        f'autocomplete="current-password" required>'
        f'<button type="submit">{escape(_("Log in"))}</button></form>'))


def link_page(token: str, login: str) -> str:
    # A button, not an automatic login: a chat's link preview must not use the link up.
    return _page("tui-crm", (
        f'<form method="post" action="/link"><h1>tui-crm</h1>'
        f'<input type="hidden" name="token" value="{escape(token)}">'
        f'<p>{escape(_("Log in as {login} with this one-time link?").format(login=login))}</p>'
        f'<button type="submit">{escape(_("Log in"))}</button></form>'))


def message_page(text: str) -> str:
    return _page("tui-crm", f'<form><h1>tui-crm</h1><p class="error">{escape(text)}</p>'
                            f'<p><a href="/" style="color:#7fd1b9">{escape(_("Log in"))}'
                            f"</a></p></form>")


def app_page(websocket_url: str, font_size: int, title: str) -> str:
    """textual-serve's page, minus the external font request, plus an icon and logout."""
    ended = escape(_("Session ended."))
    again = escape(_("Log in again"))
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<link rel="icon" href="favicon.svg" type="image/svg+xml">
<title>{escape(title)}</title>
<link rel="stylesheet" href="static/css/xterm.css">
<script src="static/js/textual.js"></script>
<style>
@font-face{{font-family:"Roboto Mono";font-style:normal;font-weight:100 700;
src:url("static/fonts/RobotoMono-VariableFont_wght.ttf") format("truetype")}}
body{{background:#0c181f;margin:0}}
.dialog-container{{position:absolute;width:100vw;height:100vh;display:flex;
align-items:center;justify-content:center;z-index:10}}
.intro{{padding:2em 3em;font-size:16px;z-index:20;font-family:"Roboto Mono",monospace;
color:rgba(255,255,255,.95);background:#12232d}}
body.-first-byte .intro-dialog{{display:none}}
body .textual-terminal{{opacity:0}}body.-first-byte .textual-terminal{{opacity:1}}
.closed-dialog{{display:none}}body.-closed .closed-dialog{{display:flex}}
a{{color:#7fd1b9}}
</style></head>
<body>
<div class="dialog-container intro-dialog"><div class="intro">{escape(title)}</div></div>
<div class="dialog-container closed-dialog"><div class="intro">
<div class="message">{ended}</div><p><a href="./">{again}</a></p></div></div>
<div id="terminal" class="textual-terminal"
 data-session-websocket-url="{escape(websocket_url)}" data-font-size="{font_size}"></div>
<script>{LEAVE_GUARD}</script>
</body></html>"""
