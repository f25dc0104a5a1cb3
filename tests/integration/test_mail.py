"""The mail round trip against a real mail system: Postfix takes the message (submission with
SMTP AUTH through Dovecot's SASL socket, smtp, smtps) and delivers it to Dovecot over LMTP;
portprobe finds it over IMAP or POP3 and deletes it. What an administrator reads: ok with the
delivery time, or which leg failed and the server's words; the mailbox empty afterwards; the
password nowhere in the output.
"""

import json
import re
import subprocess
import time

import pytest

from dialog_support import (PASSWORD, certs, password_file, registry,  # noqa: F401
                            server_dir, shared_dir, wrong_password_file)
dovecot = pytest.importorskip("fixtures.dovecot")
smtp = pytest.importorskip("fixtures.smtp")

USER = "probe@mail.test"
HELD = "held@mail.test"  # Postfix accepts it and puts it on hold: never delivered


@pytest.fixture(scope="module")
def mailsys(registry, certs, shared_dir):
    """(Postfix, Dovecot): Dovecot with the user probe@mail.test, Postfix delivering
    mail.test to it over LMTP and asking it about SMTP AUTH."""
    dove = dovecot.start_dovecot(registry, server_dir(shared_dir, "dovecot-mail"), certs.good,
                                 username=USER, password=PASSWORD, lmtp=True)
    post = smtp.start_postfix(registry, server_dir(shared_dir, "postfix-mail"), certs.good,
                              hostname="mx.mail.test", dovecot=dove, hold=[HELD])
    return post, dove


@pytest.fixture
def empty_mailbox(mailsys):
    """The test starts with an empty INBOX and leaves one (what it planted is removed)."""
    _, dove = mailsys
    clear(dove)
    yield dove
    clear(dove)


def clear(dove):
    imap = dove.mailbox()
    try:
        imap.store("1:*", "+FLAGS.SILENT", "(\\Deleted)")
        imap.expunge()
    except Exception:  # an empty mailbox has no 1:*
        pass
    finally:
        imap.logout()


def probe_messages(dove):
    return [h for _, h in dove.messages() if b"X-Portprobe-Token" in h]


def run(portprobe, *words, verbose=True, timeout=120):
    """One round with --format json (and -v: the dialogs traced); the records and the run."""
    done = portprobe("--format", "json", *(["-v"] if verbose else []), *words,
                     timeout=timeout)
    assert done.returncode in (0, 1), done.stderr
    assert PASSWORD not in done.stdout and PASSWORD not in done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()], done


def trip(post, dove, certs, password_file, *extra, scheme="submission", fetch="imap"):
    port = {"submission": post.submission_port, "smtp": post.smtp_port,
            "smtps": post.smtps_port}[scheme]
    fport = {"imap": dove.imap_port, "imaps": dove.imaps_port, "pop3": dove.pop3_port,
             "pop3s": dove.pop3s_port}[fetch]
    words = [f"{scheme}://127.0.0.1:{port}", f"ca_file={certs.ca.cert}", f"mail_to={USER}",
             f"fetch={fetch}://127.0.0.1:{fport}", "mail_from=portprobe@probe.test",
             "delivery_timeout=20s", "timeout=10s"]
    if scheme == "submission":
        words += [f"username={USER}", f"password_file={password_file}"]
    else:  # smtp and smtps take mail for mail.test without AUTH; fetch needs the login
        words += [f"fetch_username={USER}", f"fetch_password_file={password_file}"]
    return words + list(extra)


@pytest.mark.parametrize("scheme,fetch", [("submission", "imap"), ("smtps", "pop3s"),
                                          ("smtp", "imaps"), ("submission", "pop3")])
def test_delivered_message_is_found_timed_and_deleted(portprobe, mailsys, empty_mailbox,
                                                      certs, password_file, scheme, fetch):
    post, dove = mailsys
    (r,), done = run(portprobe, *trip(post, dove, certs, password_file, scheme=scheme,
                                      fetch=fetch))
    assert r["result"] == "ok" and r["up"] == 1, r
    assert 0 < r["delivery_time"] < 20
    assert 0 < r["smtp_time"] < 10 and 0 < r["fetch_time"] < 10
    # delivery is timed from SMTP's 250, while the session still ends with QUIT: the legs
    # overlap by that much, and nothing else is waited for
    assert r["response_time"] >= max(r["smtp_time"], r["delivery_time"])
    assert r["response_time"] <= r["smtp_time"] + r["delivery_time"] + r["fetch_time"] + 1
    assert re.fullmatch(rf"delivered to {fetch}://127\.0\.0\.1:\d+ in [0-9.e-]+s "
                        r"\(mailbox session \d+\)", r["detail"]), r["detail"]
    # the excerpt is the 250 that took the message: its queue ID is in Postfix's log
    queue_id = re.fullmatch(r"250 2\.0\.0 Ok: queued as (\w+)", r["excerpt"]).group(1)
    assert queue_id in post.process.log_tail(400)
    assert r["tls_version"].startswith("TLSv1") and r["address"] == "127.0.0.1"
    assert probe_messages(dove) == []  # found and deleted
    # the SMTP leg's words: the message went out after MAIL FROM, RCPT TO and DATA
    assert f"RCPT TO:<{USER}>" in done.stderr and "354 " in done.stderr


def test_refused_smtp_auth_is_auth_failed_in_the_smtp_leg(portprobe, mailsys, empty_mailbox,
                                                          certs, password_file,
                                                          wrong_password_file):
    post, dove = mailsys
    words = trip(post, dove, certs, password_file)
    words[words.index(f"password_file={password_file}")] = f"password_file={wrong_password_file}"
    (r,), _ = run(portprobe, *words, f"fetch_password_file={password_file}")
    assert r["result"] == "auth_failed" and r["phase"] == "auth", r
    assert r["detail"] == "SMTP: AUTH PLAIN refused (535)"
    assert r["excerpt"].startswith("535 5.7.8")
    assert "delivery_time" not in r and "fetch_time" not in r
    assert probe_messages(dove) == []  # nothing was sent


def test_refused_recipient_is_expect_mismatch_with_the_servers_words(
        portprobe, mailsys, empty_mailbox, certs, password_file):
    post, dove = mailsys
    words = trip(post, dove, certs, password_file)
    words[words.index(f"mail_to={USER}")] = "mail_to=nobody@mail.test"
    (r,), _ = run(portprobe, *words)
    assert r["result"] == "expect_mismatch" and r["phase"] == "dialog", r
    assert r["detail"] == "SMTP: RCPT TO refused (550)"
    assert "User unknown" in r["excerpt"] and r["excerpt"].startswith("550 5.1.1")


def test_accepted_but_held_message_is_not_delivered(portprobe, mailsys, empty_mailbox, certs,
                                                    password_file):
    post, dove = mailsys
    words = trip(post, dove, certs, password_file)
    words[words.index(f"mail_to={USER}")] = f"mail_to={HELD}"
    words[words.index("delivery_timeout=20s")] = "delivery_timeout=3s"
    started = time.monotonic()
    (r,), _ = run(portprobe, *words)
    took = time.monotonic() - started
    try:
        assert r["result"] == "not_delivered" and r["phase"] == "delivery", r
        assert r["up"] == 0 and "delivery_time" not in r
        m = re.fullmatch(r"SMTP accepted it, but it was not in imap://127\.0\.0\.1:\d+ "
                         r"([0-9.]+)s later \((\d+) mailbox sessions\)", r["detail"])
        assert m and 3 <= float(m.group(1)) < 4 and int(m.group(2)) >= 4, r["detail"]
        assert 3 <= took < 10
        # Postfix has it: accepted (250 with its queue ID), on the hold queue
        queue_id = re.fullmatch(r"250 2\.0\.0 Ok: queued as (\w+)", r["excerpt"]).group(1)
        held = [q for q in post.queue() if q["queue_id"] == queue_id]
        assert held and held[0]["queue_name"] == "hold", post.queue()
    finally:
        post.delete_held()


def test_refused_fetch_login_is_auth_failed_in_the_fetch_leg(portprobe, mailsys, empty_mailbox,
                                                             certs, password_file,
                                                             wrong_password_file):
    post, dove = mailsys
    (r,), _ = run(portprobe, *trip(post, dove, certs, password_file, scheme="smtp"),
                  f"fetch_password_file={wrong_password_file}")
    assert r["result"] == "auth_failed" and r["phase"] == "fetch", r
    assert re.fullmatch(r"fetch imap://127\.0\.0\.1:\d+: LOGIN refused \(NO\)", r["detail"])
    assert "authentication failed" in r["excerpt"].lower()
    assert r["smtp_time"] > 0 and "delivery_time" not in r
    # the message did arrive: it is what the next successful round removes once stale
    assert len(probe_messages(dove)) == 1


def test_two_probes_sharing_a_mailbox_each_find_their_own(portprobe, pp_bin, mailsys,
                                                          empty_mailbox, certs,
                                                          password_file):
    post, dove = mailsys
    argv = [str(pp_bin), "--format", "json", *trip(post, dove, certs, password_file)]
    both = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in both]
    records = [json.loads(out) for out, _ in outs]
    for r in records:
        assert r["result"] == "ok", r
    # one round with both in it too: two checks at once on one engine
    records2, _ = run(portprobe, *trip(post, dove, certs, password_file, "name=first"),
                      *trip(post, dove, certs, password_file, "name=second", fetch="pop3"))
    assert [r["result"] for r in records2] == ["ok", "ok"], records2
    assert probe_messages(dove) == []


def planted(token):
    return (f"From: <portprobe@elsewhere.test>\r\nTo: <{USER}>\r\n"
            f"Subject: portprobe round trip {token}\r\nX-Portprobe-Token: {token}\r\n"
            f"\r\nleft here\r\n").encode()


@pytest.mark.parametrize("fetch", ["imap", "pop3"])
def test_a_leftover_probe_message_is_removed_another_probes_is_kept(
        portprobe, mailsys, empty_mailbox, certs, password_file, fetch):
    post, dove = mailsys
    now = int(time.time())
    stale = f"pp1-{now - 7200}-{'a' * 24}"  # its sender gave up two hours ago
    awaited = f"pp1-{now + 3600}-{'b' * 24}"  # another probe's, still waited for
    dove.append(planted(stale))
    dove.append(planted(awaited))
    dove.append(b"From: <someone@mail.test>\r\nSubject: hello\r\n\r\na person's mail\r\n")
    (r,), _ = run(portprobe, *trip(post, dove, certs, password_file, fetch=fetch))
    assert r["result"] == "ok", r
    assert r["detail"].endswith("; 1 stale probe message removed"), r["detail"]
    left = [h for _, h in dove.messages()]
    assert len(left) == 2
    assert any(awaited.encode() in h for h in left)
    assert any(b"a person's mail" not in h and b"Subject: hello" in h for h in left)


def test_text_output_names_the_leg_and_hides_the_password(portprobe, mailsys, empty_mailbox,
                                                          certs, password_file,
                                                          wrong_password_file):
    post, dove = mailsys
    done = portprobe("-v", *trip(post, dove, certs, password_file, scheme="smtp"),
                     f"fetch_password_file={wrong_password_file}", timeout=120)
    assert done.returncode == 1
    assert PASSWORD not in done.stdout + done.stderr
    row = done.stdout.splitlines()[1]
    assert row.startswith("DOWN") and "auth_failed" in row and "fetch imap://" in row


def test_round_trip_in_collectd_has_its_legs_as_values(mailsys, empty_mailbox, certs,
                                                       password_file, tmp_path):
    """The real collectd: a round trip target of its own interval dispatches its legs'
    times; collectd warns at start that it may outlast that interval."""
    from test_collectd import Collectd
    post, dove = mailsys
    cd = Collectd(tmp_path, f"""
LoadPlugin portprobe
<Plugin portprobe>
  <Target "trip">
    URL "submission://127.0.0.1:{post.submission_port}"
    CAFile "{certs.ca.cert}"
    Username "{USER}"
    PasswordFile "{password_file}"
    MailTo "{USER}"
    Fetch "pop3://127.0.0.1:{dove.pop3_port}"
    DeliveryTimeout "20s"
    Interval 2
  </Target>
</Plugin>
""")
    cd.start()
    try:
        cd.wait_rounds("portprobe-trip/response_time-delivery", 2, 30)
        assert cd.getval("portprobe-trip/bool-up") == 1
        delivery = cd.getval("portprobe-trip/response_time-delivery")
        smtp_time = cd.getval("portprobe-trip/response_time-smtp")
        assert 0 < delivery < 20 and 0 < smtp_time < 5
        assert 0 < cd.getval("portprobe-trip/response_time-fetch") < 5
        assert delivery + smtp_time <= cd.getval("portprobe-trip/response_time-total")
        assert 'target "trip": a round trip can take 31000ms' in cd.log()
        assert PASSWORD not in cd.log()
    finally:
        cd.stop()
    assert probe_messages(dove) == []


@pytest.mark.parametrize("words,message", [
    (["mail_to=probe@mail.test"], r'option "mail_to" needs fetch'),
    (["fetch=imap://127.0.0.1"], r"belong to a mail round trip: set mail_to too"),
    (["mail_to=probe@mail.test", "fetch=http://127.0.0.1"],
     r'option "fetch": expected an imap, imaps, pop3 or pop3s URL'),
    (["mail_to=probe", "fetch=imap://127.0.0.1"],
     r'option "mail_to": expected an address such as probe@example.com, got "probe"'),
    (["mail_to=probe@mail.test", "fetch=imap://127.0.0.1"],
     r"the fetch mailbox needs a login"),
    (["mail_to=probe@mail.test", "fetch=imap://127.0.0.1", "addresses=all"],
     r"does not go with addresses=all or mx=yes"),
])
def test_bad_round_trip_options_name_the_target_and_key(portprobe, words, message):
    done = portprobe("smtp://127.0.0.1:1", "name=trip", *words)
    assert done.returncode == 2 and done.stdout == ""
    assert re.search(rf'target "trip": .*{message}', done.stderr), done.stderr


def test_mail_to_on_an_imap_target_is_refused(portprobe):
    done = portprobe("imap://127.0.0.1:1", "mail_to=probe@mail.test",
                     "fetch=imap://127.0.0.1:2")
    assert done.returncode == 2
    assert "applies to smtp, submission, smtps targets" in done.stderr, done.stderr
