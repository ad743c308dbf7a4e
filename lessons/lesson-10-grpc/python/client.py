"""A gRPC client nobody in this course wrote: Python's grpcio, which is the C core (the same
library the C++, Ruby and PHP clients are built on), against the lesson's UserService.

    /usr/bin/python3 lessons/lesson-10-grpc/python/client.py 127.0.0.1:50051

It compiles lessons/lesson-10-grpc/protos/user.proto with grpc_tools.protoc into a temporary
folder, then makes five checks, one line each, and a last line of JSON with every result:

  unary             GetUser("123") is Ada Lovelace
  server_streaming  ListUsers(limit=3) streams users 101, 102, 103, in order
  status            GetUser("999") fails with NOT_FOUND and a message that names the id
  deadline          an ImportUsers the client never half-closes, with a 500 ms deadline, fails
                    with DEADLINE_EXCEEDED (the server cannot answer before the client half-closes)
  metadata          CreateUser with `authorization: Bearer demo-token` creates the user, and
                    without it fails with UNAUTHENTICATED

It exits 0 when every check passed, 1 when one failed, 2 when it could not start. Debian and
Ubuntu: apt-get install python3-grpcio python3-grpc-tools (run it with /usr/bin/python3).
"""

import importlib
import json
import os
import shutil
import sys
import tempfile
import threading
import time

try:
    import grpc
    from grpc_tools import protoc
except ImportError as error:
    print(
        f"Cannot import {error.name}: install python3-grpcio and python3-grpc-tools "
        "(apt-get install python3-grpcio python3-grpc-tools) and run this with /usr/bin/python3.",
        file=sys.stderr,
    )
    sys.exit(2)

HERE = os.path.dirname(os.path.abspath(__file__))
PROTOS = os.path.join(HERE, "..", "protos")
TOKEN = "demo-token"
# Generous for a loaded machine: each call takes a few milliseconds.
TIMEOUT_S = 5.0
DEADLINE_S = 0.5


def compile_protos(into):
    """user.proto to user_pb2.py and user_pb2_grpc.py in `into`, then imported from there."""
    status = protoc.main(
        [
            "grpc_tools.protoc",
            f"--proto_path={PROTOS}",
            f"--python_out={into}",
            f"--grpc_python_out={into}",
            os.path.join(PROTOS, "user.proto"),
        ]
    )
    if status != 0:
        raise RuntimeError(f"grpc_tools.protoc failed on user.proto (exit status {status})")
    sys.path.insert(0, into)
    return importlib.import_module("user_pb2"), importlib.import_module("user_pb2_grpc")


def rpc_error(call):
    """Runs `call`; the grpc.RpcError it raised, or None if it succeeded."""
    try:
        call()
    except grpc.RpcError as error:
        return error
    return None


def describe(error):
    return f"{error.code().name} {error.details()!r}"


def check_unary(pb, stub):
    user = stub.GetUser(pb.GetUserRequest(id="123"), timeout=TIMEOUT_S)
    got = {"id": user.id, "name": user.name, "email": user.email}
    ok = user.id == "123" and user.name == "Ada Lovelace"
    return ok, f"GetUser(id='123') -> {got}", got


def check_server_streaming(pb, stub):
    users = list(stub.ListUsers(pb.ListUsersRequest(limit=3), timeout=TIMEOUT_S))
    ids = [user.id for user in users]
    ok = ids == ["101", "102", "103"] and all(user.name for user in users)
    return ok, f"ListUsers(limit=3) -> ids {ids}", ids


def check_status(pb, stub):
    error = rpc_error(lambda: stub.GetUser(pb.GetUserRequest(id="999"), timeout=TIMEOUT_S))
    if error is None:
        return False, "GetUser(id='999') succeeded; expected NOT_FOUND", None
    got = {"code": error.code().name, "details": error.details()}
    ok = error.code() == grpc.StatusCode.NOT_FOUND and "999" in (error.details() or "")
    return ok, f"GetUser(id='999') -> {describe(error)}", got


def check_deadline(pb, stub):
    # A client stream that never ends: ImportUsers answers only after the client half-closes,
    # so the call cannot finish before its deadline. It sends no request either, so that a run
    # by hand leaves the server's users as they were.
    release = threading.Event()

    def requests():
        release.wait(TIMEOUT_S)
        yield from ()

    started = time.monotonic()
    error = rpc_error(
        lambda: stub.ImportUsers(
            requests(),
            timeout=DEADLINE_S,
            metadata=(("authorization", f"Bearer {TOKEN}"),),
        )
    )
    elapsed_ms = round((time.monotonic() - started) * 1000)
    release.set()
    if error is None:
        return False, "ImportUsers that never half-closed succeeded; expected DEADLINE_EXCEEDED", None
    got = {"code": error.code().name, "elapsed_ms": elapsed_ms}
    ok = error.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    return ok, f"ImportUsers with a {int(DEADLINE_S * 1000)} ms deadline -> {describe(error)} after {elapsed_ms} ms", got


def check_metadata(pb, stub):
    email = f"python.{os.getpid()}.{time.time_ns()}@example.com"
    request = pb.CreateUserRequest(name="Grace Hopper", email=email)
    refused = rpc_error(lambda: stub.CreateUser(request, timeout=TIMEOUT_S))
    if refused is None:
        return False, "CreateUser without a token succeeded; expected UNAUTHENTICATED", None
    user = stub.CreateUser(
        request, timeout=TIMEOUT_S, metadata=(("authorization", f"Bearer {TOKEN}"),)
    )
    got = {
        "without_token": refused.code().name,
        "with_token": {"id": user.id, "name": user.name, "email": user.email},
    }
    ok = (
        refused.code() == grpc.StatusCode.UNAUTHENTICATED
        and user.id != ""
        and user.name == "Grace Hopper"
        and user.email == email
    )
    return (
        ok,
        f"CreateUser without a token -> {describe(refused)}; with one -> id {user.id!r}",
        got,
    )


CHECKS = [
    ("unary", check_unary, "user 123, Ada Lovelace"),
    ("server_streaming", check_server_streaming, "users 101, 102, 103, in id order"),
    ("status", check_status, "NOT_FOUND, with a message that names the id 999"),
    ("deadline", check_deadline, "DEADLINE_EXCEEDED once the deadline has passed"),
    ("metadata", check_metadata, "UNAUTHENTICATED without the token, the new user with it"),
]


def main(argv):
    if len(argv) != 2:
        print(f"Usage: {argv[0]} HOST:PORT", file=sys.stderr)
        return 2
    target = argv[1]
    folder = tempfile.mkdtemp(prefix="user-proto-")
    try:
        pb, pb_grpc = compile_protos(folder)
        results = []
        with grpc.insecure_channel(target) as channel:
            grpc.channel_ready_future(channel).result(timeout=TIMEOUT_S)
            stub = pb_grpc.UserServiceStub(channel)
            for name, check, expected in CHECKS:
                try:
                    ok, line, got = check(pb, stub)
                except grpc.RpcError as error:
                    ok, line, got = False, f"unexpected {describe(error)}", None
                print(f"{'ok  ' if ok else 'FAIL'} {name}: {line}")
                if not ok:
                    print(f"     expected {expected}")
                results.append({"check": name, "ok": ok, "got": got})
    except grpc.FutureTimeoutError:
        print(f"Could not connect to {target} within {TIMEOUT_S} s", file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    passed = all(result["ok"] for result in results)
    summary = {"target": target, "grpc": grpc.__version__, "passed": passed, "checks": results}
    print(json.dumps(summary))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
