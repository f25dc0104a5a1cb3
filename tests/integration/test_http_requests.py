"""The requests users send and the answers they check: any method, a body from the command
line or a file, a content type; response headers (expect_header); JSON answers (json_path,
json_expect); basic and bearer credentials read from files; a proxy (tinyproxy) with its own
credentials. Against a real nginx whose /api/ is a small backend that answers JSON about the
request it got (fixtures/echo_backend.py) and logs it, so each test reads what really arrived.
Secrets never appear in the records, the logs (-v) or the alerts, even when the server echoes
them back.
"""

import base64
import json

import pytest

fixtures = pytest.importorskip("fixtures")
from fixtures import certs, nginx, procs, tinyproxy  # noqa: E402

USER, PASSWORD = "alice", "s3cr3t-Basic/pass"
TOKEN = "tok-Bearer-0123456789abcdef"
PROXY_USER, PROXY_PASSWORD = "proxyuser", "Pr0xy-secret-pw"
SECRETS = (PASSWORD, TOKEN, PROXY_PASSWORD,
           base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode(),
           base64.b64encode(f"{PROXY_USER}:{PROXY_PASSWORD}".encode()).decode())


@pytest.fixture(scope="module")
def cert_set(tmp_path_factory):
    return certs.make_cert_set(tmp_path_factory.mktemp("requests-certs"))


@pytest.fixture(scope="module")
def web(tmp_path_factory, cert_set):
    work = tmp_path_factory.mktemp("requests-nginx")
    with procs.Registry() as registry:
        yield nginx.start_nginx(registry, work, {"good": cert_set.good},
                                basic=(USER, PASSWORD), bearer=TOKEN)


@pytest.fixture(scope="module")
def secret_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("requests-secrets")
    files = {}
    for name, value in (("password", PASSWORD), ("token", TOKEN), ("proxy", PROXY_PASSWORD),
                        ("wrong", "not-the-password")):
        files[name] = d / name
        files[name].write_text(value + "\n")
        files[name].chmod(0o600)
    return files


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    with procs.Registry() as registry:
        yield tinyproxy.start_tinyproxy(registry, tmp_path_factory.mktemp("requests-proxy"))


@pytest.fixture(scope="module")
def locked_proxy(tmp_path_factory):
    with procs.Registry() as registry:
        yield tinyproxy.start_tinyproxy(registry, tmp_path_factory.mktemp("requests-proxy2"),
                                        PROXY_USER, PROXY_PASSWORD)


def run(portprobe, *words):
    """One round with -v: the records, and everything printed (stdout and stderr)."""
    done = portprobe("--format", "json", "-v", *words, timeout=60)
    assert done.returncode in (0, 1), done.stderr
    records = [json.loads(l) for l in done.stdout.splitlines() if l.strip()]
    return records, done.stdout + done.stderr


def check(portprobe, url, *options):
    records, printed = run(portprobe, url, *options)
    assert len(records) == 1, records
    assert not [s for s in SECRETS if s in printed], "a secret was printed"
    return records[0]


def landed(web, path):
    found = [q for q in web.backend_requests() if q["path"] == path]
    assert found, f"nothing reached the backend at {path}"
    return found[-1]


def ca(cert_set):
    return f"ca_file={cert_set.ca.cert}"


# --- methods and bodies ---


def test_body_is_posted_with_its_content_type(portprobe, web):
    r = check(portprobe, web.url("/api/echo?post"), 'body={"ping": 1}',
              "content_type=application/json")
    assert r["result"] == "ok", r
    got = landed(web, "/api/echo?post")
    assert (got["method"], got["body"], got["content_type"]) == (
        "POST", '{"ping": 1}', "application/json")
    assert "expect" not in got["headers"]


def test_body_file_is_read_at_each_check(portprobe, web, tmp_path):
    body = tmp_path / "body.json"
    body.write_text('{"from": "file"}\n')
    check(portprobe, web.url("/api/echo?file1"), f"body_file={body}")
    assert landed(web, "/api/echo?file1")["body"] == '{"from": "file"}\n'
    body.write_text("changed")
    check(portprobe, web.url("/api/echo?file2"), f"body_file={body}")
    assert landed(web, "/api/echo?file2")["body"] == "changed"


def test_any_method_is_sent_as_named(portprobe, web):
    for method in ("PUT", "DELETE", "OPTIONS", "PROPFIND", "PATCH"):
        r = check(portprobe, web.url(f"/api/echo?m-{method}"), f"method={method}",
                  *(["body=x=1"] if method in ("PUT", "PATCH") else []))
        assert r["result"] == "ok", r
        got = landed(web, f"/api/echo?m-{method}")
        assert got["method"] == method
        assert got["body"] == ("x=1" if method in ("PUT", "PATCH") else "")


def test_a_method_that_is_no_token_is_refused(portprobe, web):
    done = portprobe(web.url("/"), "method=GE T")
    assert done.returncode == 2
    assert 'option "method": expected a method name' in done.stderr


def test_see_other_after_a_post_fetches_with_get(portprobe, web):
    r = check(portprobe, web.url("/see-other?303"), "body=a=1")
    assert r["result"] == "ok" and r["http_redirects"] == 1, r
    got = landed(web, "/api/see-other?303")
    assert (got["method"], got["body"]) == ("GET", "")


def test_temporary_redirect_posts_the_body_again(portprobe, web):
    r = check(portprobe, web.url("/temporary?307"), "body=a=2", "content_type=text/plain")
    assert r["result"] == "ok", r
    got = landed(web, "/api/temporary?307")
    assert (got["method"], got["body"], got["content_type"]) == ("POST", "a=2", "text/plain")


def test_body_options_are_checked_together(portprobe, web, tmp_path):
    cases = [(["body=a", f"body_file={tmp_path}/b"], "body and body_file are two bodies"),
             (["content_type=text/plain"], 'option "content_type" needs body or body_file'),
             (["method=HEAD", "body=a"], "a HEAD request has no body")]
    for words, message in cases:
        done = portprobe(web.url("/"), *words)
        assert done.returncode == 2 and message in done.stderr, (words, done.stderr)


def test_body_file_that_is_missing_is_a_local_error(portprobe, web, tmp_path):
    r = check(portprobe, web.url("/api/echo"), f"body_file={tmp_path}/none.json")
    assert r["result"] == "socket_error"
    assert r["detail"] == f"body_file {tmp_path}/none.json: No such file or directory"


# --- response headers ---


def test_expected_headers_are_found(portprobe, web):
    r = check(portprobe, web.url("/api/status"), "expect_header=Content-Type: ^application/json",
              "expect_header=x-backend: ^echo/")
    assert r["result"] == "ok", r


def test_header_with_another_value_is_header_mismatch(portprobe, web):
    r = check(portprobe, web.url("/api/status"), "expect_header=X-Backend: ^echo/2")
    assert r["result"] == "header_mismatch" and r["up"] == 0, r
    assert r["detail"] == 'header X-Backend is "echo/1", expected /^echo/2/'


def test_missing_header_is_header_mismatch(portprobe, web):
    r = check(portprobe, web.url("/"), "expect_header=X-Backend: .")
    assert r["result"] == "header_mismatch", r
    assert r["detail"] == "no X-Backend header in the answer (expect_header)"


def test_expect_header_needs_a_name_and_a_regex(portprobe, web):
    done = portprobe(web.url("/"), "expect_header=Content-Type: (")
    assert done.returncode == 2 and 'option "expect_header": bad regular expression' in done.stderr


# --- JSON answers ---


def test_json_value_matches(portprobe, web):
    for path, expect in (("/status", "^ok$"), ("/version", "^3$"), ("/checks/db", "up"),
                         ("/items/2", "^3$"), ("/ratio", r"^0\.5$"), ("/ready", "^true$"),
                         ("/nothing", "^null$")):
        r = check(portprobe, web.url("/api/status"), f"json_path={path}",
                  f"json_expect={expect}")
        assert r["result"] == "ok", (path, r)


def test_json_value_that_differs_is_named_with_the_value_found(portprobe, web):
    r = check(portprobe, web.url("/api/status"), "json_path=/checks/cache", "json_expect=^up$")
    assert r["result"] == "json_mismatch" and r["phase"] == "body", r
    assert r["detail"] == 'json_path /checks/cache is "degraded", expected /^up$/'
    r = check(portprobe, web.url("/api/status"), "json_path=/version", "json_expect=^4$")
    assert r["detail"] == "json_path /version is 3, expected /^4$/"


def test_json_path_that_is_missing_is_json_mismatch(portprobe, web):
    r = check(portprobe, web.url("/api/status"), "json_path=/checks/queue")
    assert r["result"] == "json_mismatch"
    assert r["detail"] == "json_path /checks/queue: no such member in the answer"
    assert check(portprobe, web.url("/api/status"), "json_path=/checks/db")["result"] == "ok"


def test_an_answer_that_is_not_json_says_where_it_broke(portprobe, web):
    r = check(portprobe, web.url("/api/broken"), "json_path=/status")
    assert r["result"] == "json_mismatch", r
    assert r["detail"].startswith("the response is not JSON: ")
    assert r["excerpt"].startswith('{"status": "ok", oops')


def test_json_nested_deeper_than_the_bound_is_refused_not_followed(portprobe, web):
    r = check(portprobe, web.url("/api/deep"), "json_path=/0")
    assert r["result"] == "json_mismatch"
    assert r["detail"].startswith("the response is not JSON: nesting too deep"), r


def test_json_posted_and_echoed_round_trip(portprobe, web):
    r = check(portprobe, web.url("/api/echo?json"), "method=PUT", 'body={"a": [1, 2]}',
              "content_type=application/json", "json_path=/method", "json_expect=^PUT$",
              "expect_header=Content-Type: json")
    assert r["result"] == "ok", r


def test_json_options_are_checked(portprobe, web):
    for words, message in ((["json_expect=ok"], 'option "json_expect" needs json_path'),
                           (["json_path=status"], 'option "json_path": expected a JSON '
                                                  "Pointer (RFC 6901)")):
        done = portprobe(web.url("/"), *words)
        assert done.returncode == 2 and message in done.stderr, done.stderr


# --- credentials from files ---


def test_basic_authentication_with_the_password_from_a_file(portprobe, web, cert_set,
                                                            secret_files):
    url = web.url("/private/basic/echo", label="good")
    assert check(portprobe, url, ca(cert_set))["http_status"] == 401
    r = check(portprobe, url, ca(cert_set), f"username={USER}",
              f"password_file={secret_files['password']}")
    assert r["result"] == "ok" and r["http_status"] == 200, r
    wrong = check(portprobe, url, ca(cert_set), f"username={USER}",
                  f"password_file={secret_files['wrong']}")
    assert wrong["result"] == "http_status" and wrong["http_status"] == 401


def test_bearer_token_from_a_file(portprobe, web, cert_set, secret_files):
    url = web.url("/private/bearer/echo", label="good")
    assert check(portprobe, url, ca(cert_set))["http_status"] == 401
    r = check(portprobe, url, ca(cert_set), f"bearer_token_file={secret_files['token']}")
    assert r["result"] == "ok", r


def test_a_server_echoing_the_credentials_never_shows_them(portprobe, web, cert_set,
                                                           secret_files):
    # the backend answers with the request's headers, Authorization included
    for path, words in (("/private/basic/echo?echo1",
                         [f"username={USER}", f"password_file={secret_files['password']}"]),
                        ("/private/bearer/echo?echo2",
                         [f"bearer_token_file={secret_files['token']}"])):
        url = web.url(path, label="good")
        r = check(portprobe, url, ca(cert_set), *words, "keyword=no-such-word")
        assert r["result"] == "keyword_missing", r
        assert "authorization" in r["excerpt"] and "****" in r["excerpt"], r
        r = check(portprobe, url, ca(cert_set), *words,
                  "json_path=/headers/authorization", "json_expect=^nothing$")
        assert r["result"] == "json_mismatch" and "****" in r["detail"], r


def test_credentials_over_plain_http_need_auth_plaintext(portprobe, web, secret_files):
    done = portprobe(web.url("/private/bearer/echo"), f"bearer_token_file={secret_files['token']}")
    assert done.returncode == 2
    assert "over http:// the credentials would travel in clear text" in done.stderr
    r = check(portprobe, web.url("/private/bearer/echo"), "auth_plaintext=yes",
              f"bearer_token_file={secret_files['token']}")
    assert r["result"] == "ok", r


def test_credentials_do_not_follow_a_redirect_to_another_host(portprobe, web, secret_files):
    r = check(portprobe, web.url("/away?creds"), "auth_plaintext=yes",
              f"bearer_token_file={secret_files['token']}", "redirect_headers=all",
              "header=X-Api-Key: k1")
    assert r["result"] == "ok", r
    got = landed(web, "/api/away?creds")["headers"]
    assert "authorization" not in got and got["x-api-key"] == "k1"
    check(portprobe, web.url("/near?creds"), "auth_plaintext=yes",
          f"bearer_token_file={secret_files['token']}")
    assert landed(web, "/api/near?creds")["headers"]["authorization"] == f"Bearer {TOKEN}"


def test_two_credentials_are_refused(portprobe, web, cert_set, secret_files):
    done = portprobe(web.url("/", label="good"), f"username={USER}",
                     f"password_file={secret_files['password']}",
                     f"bearer_token_file={secret_files['token']}")
    assert done.returncode == 2 and "are two credentials: set one" in done.stderr


def test_unreadable_secret_file_is_named_without_its_content(portprobe, web, cert_set, tmp_path):
    r = check(portprobe, web.url("/private/bearer/echo", label="good"), ca(cert_set),
              f"bearer_token_file={tmp_path}/missing")
    assert r["result"] == "socket_error"
    assert r["detail"] == f"bearer_token_file {tmp_path}/missing: No such file or directory"


# --- a proxy ---


def test_request_goes_through_the_proxy(portprobe, web, proxy):
    r = check(portprobe, web.url("/api/echo?proxied"), f"proxy={proxy.url}")
    assert r["result"] == "ok", r
    assert (r["address"], r["port"]) == ("127.0.0.1", proxy.port)  # who answered: the proxy
    got = landed(web, "/api/echo?proxied")
    assert "tinyproxy" in got["headers"].get("via", ""), got
    assert "/api/echo?proxied" in proxy.log_text()


def test_https_through_the_proxy_tunnel_keeps_its_tls_facts(portprobe, web, proxy, cert_set):
    r = check(portprobe, web.url("/api/echo?tunnel", label="good"), ca(cert_set),
              f"proxy={proxy.url}")
    assert r["result"] == "ok", r
    assert r["cert_sha256"] == certs.fingerprint(cert_set.good.cert)
    assert "CONNECT" in proxy.log_text()


def test_proxy_credentials_from_a_file(portprobe, web, locked_proxy, secret_files):
    url = web.url("/api/echo?locked")
    refused = check(portprobe, url, f"proxy={locked_proxy.url}")
    assert refused["result"] == "http_status" and refused["http_status"] == 407, refused
    r = check(portprobe, url, f"proxy={locked_proxy.url}", f"proxy_username={PROXY_USER}",
              f"proxy_password_file={secret_files['proxy']}")
    assert r["result"] == "ok", r


def test_proxy_that_refuses_is_named(portprobe, web):
    port = procs.free_port()
    r = check(portprobe, web.url("/"), f"proxy=http://127.0.0.1:{port}")
    assert r["result"] == "refused" and r["phase"] == "connect", r


def test_proxy_options_are_checked(portprobe, web, secret_files):
    cases = [(["proxy=https://p:3128"], 'option "proxy": expected http://, socks4://'),
             (["proxy=http://p:3128", "proxy_username=u"],
              "proxy_username and proxy_password_file go together"),
             ([f"proxy_password_file={secret_files['proxy']}", "proxy_username=u"],
              'option "proxy_username" needs proxy')]
    for words, message in cases:
        done = portprobe(web.url("/"), *words)
        assert done.returncode == 2 and message in done.stderr, (words, done.stderr)


def test_request_options_are_refused_where_they_do_not_apply(portprobe):
    for word in ("body=x", "json_path=/a", "proxy=http://p:1", "bearer_token_file=/f",
                 "expect_header=A: b"):
        done = portprobe("tcp://127.0.0.1:1", word)
        key = word.split("=", 1)[0]
        assert done.returncode == 2, word
        assert f'option "{key}" does not apply to tcp targets' in done.stderr
