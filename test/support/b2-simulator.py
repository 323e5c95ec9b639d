"""A loopback HTTP front end to b2sdk's in-memory B2 (RawSimulator).

Tests only. b2sdk (PyPI, scripts/python-packages.txt) ships Backblaze's own
simulation of B2's native API: accounts, keys with capabilities, a bucket or
name prefix restriction, buckets with lifecycle rules, file versions, hide
markers and unfinished large files. It is a Python object; this file puts it
behind HTTP on 127.0.0.1 so the program's own client talks to it as it would
to B2 (version 3 paths, JSON bodies, B2's error shape). It is a simulation of
B2, not B2.

What this front end adds or changes, and why:
- Time: the simulator stamps versions from a counter starting at 5000 ms after
  the epoch. Each bucket gets a clock of its own instead: real milliseconds
  plus an offset the test sets (POST /sim/clock), strictly increasing, so a
  history can span days and TIME is a real date.
- URLs: the answers of b2_authorize_account and b2_get_upload_url point back
  at this server.
- Errors: the simulator's exceptions become B2's {status, code, message}
  answers; the expired-token code becomes B2's documented `expired_auth_token`.
  An exception the simulator raises for something it does not model (an
  assertion) is answered 400 `simulator_error` naming it, so a test shows it.
- Test controls: POST /sim/clock {"offsetMs"}, /sim/fail {"call", "status",
  "code", "count", "after"} (after `after` calls, the next `count` answer
  that error), /sim/expire (every
  auth token expires).

Start: python3 b2-simulator.py; it prints one JSON line
{"realm", "accountId", "masterKeyId", "masterKey"} (a key made up by the
simulator) and serves until stdin closes.
"""

import base64
import io
import json
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from b2sdk.v3 import RawSimulator
from b2sdk.v3.exception import (
    AccessDenied,
    B2Error,
    BadJson,
    BadRequest,
    DuplicateBucketName,
    FileNotPresent,
    InvalidAuthToken,
    NonExistentBucket,
    Unauthorized,
)

SIM = RawSimulator()
LOCK = threading.Lock()
STATE = {"offset_ms": 0, "fail": None}
API = RawSimulator.API_URL  # the simulator checks every call came to its own URL


def clock():
    """Per bucket: milliseconds of real time plus the test's offset, never twice the same."""
    last = 0
    while True:
        last = max(last + 1, int(time.time() * 1000) + STATE["offset_ms"])
        yield last


class Answer(Exception):
    def __init__(self, status, code, message=""):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def b2_answer(e):
    """The simulator's exception as B2 would answer it."""
    code = getattr(e, "code", None)
    if isinstance(e, InvalidAuthToken):
        return Answer(401, "expired_auth_token" if code == "auth_token_expired" else "bad_auth_token", str(e))
    if isinstance(e, Unauthorized):
        return Answer(401, code or "unauthorized", "not allowed for this application key")
    if isinstance(e, AccessDenied):
        return Answer(401, "access_denied", str(e))
    if isinstance(e, FileNotPresent):
        return Answer(400, "file_not_present", str(e))
    if isinstance(e, DuplicateBucketName):
        return Answer(400, "duplicate_bucket_name", str(e))
    if isinstance(e, (NonExistentBucket, BadJson)):
        return Answer(400, "bad_request", str(e))
    if isinstance(e, BadRequest):
        return Answer(400, code or "bad_request", str(e))
    if isinstance(e, B2Error):
        return Answer(400, code or "bad_request", str(e))
    return Answer(400, "simulator_error", f"{type(e).__name__}: {e}")


def upload_path(sim_url):
    # The simulator's upload URLs are https://upload.example.com/<bucket>/<n>.
    return "/upload/" + sim_url.split("/", 3)[3]


def call(name, token, b, base):
    """One native-API call on the simulator; b is the JSON body."""
    g = b.get
    if name == "b2_list_buckets":
        return SIM.list_buckets(API, token, g("accountId"), g("bucketId"), g("bucketName"))
    if name == "b2_create_bucket":
        r = SIM.create_bucket(API, token, g("accountId"), g("bucketName"), g("bucketType"), lifecycle_rules=g("lifecycleRules"))
        SIM.bucket_id_to_bucket[r["bucketId"]].upload_timestamp_counter = clock()
        return r
    if name == "b2_update_bucket":
        return SIM.update_bucket(API, token, g("accountId"), g("bucketId"), bucket_type=g("bucketType"), lifecycle_rules=g("lifecycleRules"))
    if name == "b2_delete_bucket":
        return SIM.delete_bucket(API, token, g("accountId"), g("bucketId"))
    if name == "b2_create_key":
        bucket = g("bucketId")
        return SIM.create_key(API, token, g("accountId"), g("capabilities"), g("keyName"), g("validDurationInSeconds"), None if bucket is None else [bucket], g("namePrefix"))
    if name == "b2_list_file_versions":
        return SIM.list_file_versions(API, token, g("bucketId"), g("startFileName"), g("startFileId"), g("maxFileCount"), g("prefix"))
    if name == "b2_list_file_names":
        return SIM.list_file_names(API, token, g("bucketId"), g("startFileName"), g("maxFileCount"), g("prefix"))
    if name == "b2_delete_file_version":
        return SIM.delete_file_version(API, token, g("fileId"), g("fileName"), bool(g("bypassGovernance")))
    if name == "b2_hide_file":
        return SIM.hide_file(API, token, g("bucketId"), g("fileName"))
    if name == "b2_get_upload_url":
        r = dict(SIM.get_upload_url(API, token, g("bucketId")))
        r["uploadUrl"] = base + upload_path(r["uploadUrl"])
        return r
    if name == "b2_start_large_file":
        return SIM.start_large_file(API, token, g("bucketId"), g("fileName"), g("contentType"), g("fileInfo") or {})
    if name == "b2_cancel_large_file":
        return SIM.cancel_large_file(API, token, g("fileId"))
    raise Answer(400, "bad_request", f"{name} is not offered by this front end")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet: tests read stdout for the start line only
        pass

    def reply(self, status, body):
        data = json.dumps(body, default=list).encode()  # the simulator keeps bucket options as a set
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def base(self):
        return f"http://{self.server.server_address[0]}:{self.server.server_address[1]}"

    def injected_failure(self, name):
        f = STATE["fail"]
        if f is None or f.get("call") not in (None, name) or f["count"] <= 0:
            return None
        if f.get("after", 0) > 0:
            f["after"] -= 1
            return None
        f["count"] -= 1
        return Answer(f.get("status", 503), f.get("code", "service_unavailable"), "injected by the test")

    def handle_call(self, name, run):
        try:
            with LOCK:
                failure = self.injected_failure(name)
                if failure is not None:
                    raise failure
                try:
                    result = run()
                except Answer:
                    raise
                except Exception as e:  # noqa: BLE001 - every simulator exception becomes an answer
                    raise b2_answer(e)
            self.reply(200, result)
        except Answer as a:
            self.reply(a.status, {"status": a.status, "code": a.code, "message": a.message})

    def do_GET(self):
        path = urllib.parse.urlsplit(self.path).path
        if path != "/b2api/v3/b2_authorize_account":
            return self.reply(404, {"status": 404, "code": "not_found", "message": path})

        def run():
            auth = self.headers.get("Authorization", "")
            if not auth.startswith("Basic "):
                raise Answer(401, "bad_auth_token", "Basic authorization expected")
            key_id, _, key = base64.b64decode(auth[6:]).decode().partition(":")
            r = SIM.authorize_account("", key_id, key)
            r["apiInfo"]["storageApi"]["apiUrl"] = self.base()
            r["apiInfo"]["storageApi"]["downloadUrl"] = self.base()
            return r

        self.handle_call("b2_authorize_account", run)

    def do_POST(self):
        path = urllib.parse.urlsplit(self.path).path
        raw = self.body()
        token = self.headers.get("Authorization", "")
        if path.startswith("/sim/"):
            return self.control(path[5:], json.loads(raw or b"{}"))
        if path.startswith("/upload/"):
            sim_url = "https://upload.example.com/" + path[len("/upload/"):]
            name = urllib.parse.unquote(self.headers.get("X-Bz-File-Name", ""))
            sha1 = self.headers.get("X-Bz-Content-Sha1", "")
            ctype = self.headers.get("Content-Type", "b2/x-auto")
            return self.handle_call("upload", lambda: SIM.upload_file(sim_url, token, name, len(raw), ctype, sha1, {}, io.BytesIO(raw)))
        if not path.startswith("/b2api/v3/"):
            return self.reply(404, {"status": 404, "code": "not_found", "message": path})
        name = path[len("/b2api/v3/"):]
        try:
            b = json.loads(raw or b"{}")
        except ValueError:
            return self.reply(400, {"status": 400, "code": "bad_json", "message": "the body is not JSON"})
        self.handle_call(name, lambda: call(name, token, b, self.base()))

    def control(self, what, b):
        with LOCK:
            if what == "clock":
                STATE["offset_ms"] = int(b["offsetMs"])
            elif what == "fail":
                STATE["fail"] = dict(b)
            elif what == "expire":
                for t in list(SIM.auth_token_to_key):
                    SIM.expire_auth_token(t)
            else:
                return self.reply(404, {"status": 404, "code": "not_found", "message": what})
        self.reply(200, {})


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    account_id, master_key = SIM.create_account()
    host, port = server.server_address
    print(json.dumps({"realm": f"http://{host}:{port}", "accountId": account_id, "masterKeyId": account_id, "masterKey": master_key}), flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()  # the test closes stdin (or dies): stop
    server.shutdown()


if __name__ == "__main__":
    main()
