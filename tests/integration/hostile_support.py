"""Shared by the tests of issue 24 (test_hostile*.py): a password with every character that
needs quoting, the forms a dialog sends it in, and a check that none of them, nor a piece of
one, shows in what portprobe wrote.

A piece is any run of SHOWN_RUN characters of a form as an excerpt or a trace line renders it
(bytes outside printable ASCII as \\xNN), so that half a password shows up as a leak too.
"""

import base64

USERNAME = "alice"
# a quote, a backslash, a space and UTF-8: IMAP must quote and escape it
PASSWORD = 'Tr0ub"ad\\or\u00f6 Zebra-4711'.encode()
SHOWN_RUN = 6


def rendered(data):
    """data as an excerpt shows it: printable ASCII as is, other bytes as \\xNN."""
    return "".join(chr(b) if 0x20 <= b < 0x7f else f"\\x{b:02x}" for b in data)


def imap_quoted(data):
    """data as an IMAP quoted string (RFC 3501): quote and backslash escaped."""
    return b'"' + data.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def secret_forms(username=USERNAME, password=PASSWORD):
    """Every form in which a dialog sends the password, as an excerpt would render it."""
    user = username.encode()
    forms = [password, imap_quoted(password), base64.b64encode(password),
             base64.b64encode(b"\0" + user + b"\0" + password)]
    return [rendered(f) for f in forms]


def pieces(form):
    """The runs of SHOWN_RUN characters of form that hold a character of the password
    itself: in the quoted form a run of escapes and quotes alone says nothing."""
    out = set()
    for i in range(len(form) - SHOWN_RUN + 1):
        run = form[i:i + SHOWN_RUN]
        if sum(c.isalnum() for c in run) >= 3:
            out.add(run)
    return out


def leaked(texts, username=USERNAME, password=PASSWORD):
    """The pieces of any secret form found in any of texts (empty: nothing leaked)."""
    found = set()
    for form in secret_forms(username, password):
        for piece in pieces(form):
            for text in texts:
                # influx and JSON escape quotes and backslashes: look at both spellings
                for spelled in (text, text.replace('\\"', '"').replace("\\\\", "\\")):
                    if piece in spelled:
                        found.add(piece)
    return found


def write_password_file(directory, password=PASSWORD, mode=0o600):
    """A password file (the password, then a line end) readable by its owner only."""
    path = directory / "password"
    path.write_bytes(password + b"\n")
    path.chmod(mode)
    return path
