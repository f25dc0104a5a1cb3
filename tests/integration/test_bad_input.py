"""Careless and hostile input to the built command (issue 24): credentials typed into a URL,
names that are not UTF-8, a request header with a line break in it, resolver lists that are
not lists of addresses, configuration files with NUL bytes, a directory given as --config.
Each is refused with a message that names what is wrong (exit status 2) or, for names, is
written as valid JSON and line protocol; none shows a secret."""

import json

import pytest

from conftest import parse_influx

SECRET = "p@ss/w#rd?x"


def refused(portprobe, *words):
    """The command's message for words it must refuse (exit status 2)."""
    p = portprobe(*words, timeout=20)
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    assert p.stdout == ""
    return p.stderr


# --- credentials in a URL are refused, and masked in the message ---

@pytest.mark.parametrize("url,shown", [
    ("imaps://alice:p@ssw0rd@mail.example", "imaps://****@mail.example"),
    (f"imaps://alice:{SECRET}@mail.example", "imaps://****@mail.example"),
    (f"smtp://alice:{SECRET}@mail.example:587", "smtp://****@mail.example:587"),
    (f"pop3://{SECRET}@mail.example", "pop3://****@mail.example"),
    (f"https://alice:{SECRET}@web.example/path", "https://****@web.example/path"),
])
def test_credentials_in_a_url_are_masked_whatever_they_hold(portprobe, tmp_path, url, shown):
    for words in ([url], ["--config", ini(tmp_path, f"[mail]\nurl = {url}\n")]):
        message = refused(portprobe, *words)
        assert f'URL "{shown}": credentials do not belong in the URL' in message, message
        for piece in ("ssw0rd", "ss/w", "w#rd", "rd?x", "alice"):
            assert piece not in message, message


def test_a_url_without_its_scheme_is_masked_too(portprobe):
    message = refused(portprobe, f"alice:{SECRET}@mail.example")
    assert '"****@mail.example": expected a URL' in message
    assert "ss/w" not in message and "alice" not in message


def ini(tmp_path, text, name="targets.ini"):
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


# --- names that are not UTF-8 ---

BAD_NAME = b"caf\xe9 \xff\xfe rack"  # Latin-1 and bytes no encoding has


def test_a_name_that_is_not_utf8_is_still_valid_json_and_line_protocol(
        portprobe, pp_bin, tmp_path):
    import subprocess
    argv = [str(pp_bin), "tcp://127.0.0.1:1", b"name=" + BAD_NAME, b"label=rack=" + BAD_NAME,
            "timeout=1s"]
    outputs = {}
    for fmt in ("json", "influx"):
        p = subprocess.run([argv[0], "--format", fmt, *argv[1:]], capture_output=True,
                           timeout=20)
        assert p.returncode in (0, 1), p.stderr
        outputs[fmt] = p.stdout.decode("utf-8")  # strict: invalid UTF-8 raises here
    record = json.loads(outputs["json"])
    assert record["target"] == "caf\ufffd \ufffd\ufffd rack"
    assert record["labels"] == {"rack": "caf\ufffd \ufffd\ufffd rack"}
    (_, tags, fields, _), = parse_influx(outputs["influx"])
    assert tags["target"] == "caf\ufffd \ufffd\ufffd rack" and tags["rack"] == tags["target"]
    # the same from an INI file's section name
    conf = ini(tmp_path, b"[" + BAD_NAME + b"]\nurl = tcp://127.0.0.1:1\ntimeout = 1s\n")
    p = subprocess.run([argv[0], "--format", "json", "--config", str(conf)],
                       capture_output=True, timeout=20)
    assert json.loads(p.stdout.decode("utf-8"))["target"] == "caf\ufffd \ufffd\ufffd rack"


# --- a header with a line break would be a second header ---

@pytest.mark.parametrize("value", ["X-Api-Key: 1\r\nX-Injected: 2", "X-Api-Key: 1\nX: 2",
                                   "X-A: \x01"])
def test_a_header_with_control_characters_is_refused(portprobe, value):
    message = refused(portprobe, "http://127.0.0.1:1/", "name=web", f"header={value}")
    assert 'target "web": option "header": control characters are not allowed' in message


# --- the resolver list is a list of addresses ---

@pytest.mark.parametrize("servers,why", [
    ("", "an empty entry"),
    ("1.2.3.4.5", '"1.2.3.4.5" is not an IP address'),
    ("127.0.0.1:99999", '"127.0.0.1:99999": expected a port from 1 to 65535'),
    ("127.0.0.1:0", '"127.0.0.1:0": expected a port from 1 to 65535'),
    ("127.0.0.1,", "an empty entry"),
    ("dns.example", '"dns.example" is not an IP address'),
    ("[::1", '"[::1" is not an IP address'),
    ("[127.0.0.1]:53", '"[127.0.0.1]:53" is not an IP address'),
])
def test_a_resolver_that_is_not_a_list_of_addresses_is_refused(portprobe, servers, why):
    message = refused(portprobe, "--resolver", servers, "tcp://www.example.test:80")
    assert f'--resolver: resolver "{servers}": {why}' in message, message


def test_resolver_lists_of_every_written_form_are_taken(portprobe):
    for servers in ("127.0.0.1", "127.0.0.1:5353", "::1", "[::1]:5353",
                    "127.0.0.1:53, [::1]"):
        p = portprobe("--resolver", servers, "--format", "json", "tcp://127.0.0.1:1",
                      timeout=20)
        assert p.returncode == 1 and json.loads(p.stdout)["result"] == "refused", p.stderr


# --- configuration files ---

def test_a_nul_byte_in_a_config_file_is_named_with_its_line(portprobe, tmp_path):
    inside = ini(tmp_path, b"[a]\nurl = tcp://127.0.0.1:1\ntime\0out = 1s\n", "inside.ini")
    message = refused(portprobe, "--config", inside)
    assert f"{inside}:3: a NUL byte" in message, message
    at_end = ini(tmp_path, b"[a]\nurl = tcp://127.0.0.1:1\ntimeout = 1s\0", "end.ini")
    message = refused(portprobe, "--config", at_end)
    assert f"{at_end}:3: a NUL byte" in message, message


def test_a_directory_as_config_is_named_as_one(portprobe, tmp_path):
    message = refused(portprobe, "--config", tmp_path)
    assert f"{tmp_path}: is a directory, not a configuration file" in message, message
    assert "no targets" not in message
