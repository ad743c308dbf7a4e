"""The interop cases of Step 4 from a second client: Python's grpcio, the C core.

    /usr/bin/python3 lessons/lesson-10-grpc/python/interop_client.py 127.0.0.1:PORT [CASE ...]

It compiles protos/grpc/testing/*.proto with grpc_tools.protoc into a temporary folder, runs the
cases of grpc/grpc's doc/interop-test-descriptions.md against the TestService at HOST:PORT (all of
them, or those named), prints one line per case, and a last line of JSON with every result. It
exits 0 when every case passed, 1 when one failed, 2 when it could not start. As in
step4-interop.test.ts, the unimplemented cases first check that the server answers EmptyCall, and
the cancellation and timeout cases end with an ordinary call to the same method.
"""

import importlib
import json
import os
import shutil
import sys
import tempfile
import threading

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
TESTING = os.path.join(HERE, "..", "protos", "grpc", "testing")
TIMEOUT_S = 5.0
# The most one case may take: a local call takes milliseconds, and a case that hangs must leave
# the cases after it their turn.
CASE_S = 3.0
ECHO_INITIAL = "x-grpc-test-echo-initial"
ECHO_TRAILING = "x-grpc-test-echo-trailing-bin"


def compile_protos(into):
    """The three protos, compiled as the Python package `interop_protos`.

    Generated Python imports follow the .proto imports, and `grpc/testing/...` would make a
    package called `grpc`, hiding grpcio itself; so the files are copied under another folder
    and their imports adjusted. Only the Python names change: the proto package, and so every
    method's path on the wire, is still grpc.testing.
    """
    folder = os.path.join(into, "interop_protos")
    os.makedirs(folder)
    for name in ("empty.proto", "messages.proto", "test.proto"):
        with open(os.path.join(TESTING, name), encoding="utf-8") as source:
            text = source.read().replace('import "grpc/testing/', 'import "interop_protos/')
        with open(os.path.join(folder, name), "w", encoding="utf-8") as target:
            target.write(text)
    status = protoc.main(
        ["grpc_tools.protoc", f"--proto_path={into}", f"--python_out={into}",
         f"--grpc_python_out={into}"]
        + [os.path.join(folder, name) for name in ("empty.proto", "messages.proto", "test.proto")]
    )
    if status != 0:
        raise RuntimeError(f"grpc_tools.protoc failed (exit status {status})")
    sys.path.insert(0, into)
    return (
        importlib.import_module("interop_protos.empty_pb2"),
        importlib.import_module("interop_protos.messages_pb2"),
        importlib.import_module("interop_protos.test_pb2_grpc"),
    )


class Failed(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise Failed(message)


def zeros(size):
    return b"\0" * size


def run_cases(target, names, folder):
    empty_pb2, pb, pb_grpc = compile_protos(folder)
    channel = grpc.insecure_channel(target)
    grpc.channel_ready_future(channel).result(timeout=TIMEOUT_S)
    stub = pb_grpc.TestServiceStub(channel)
    unimplemented = pb_grpc.UnimplementedServiceStub(channel)

    def payload_request(size, response_size=None):
        return pb.StreamingOutputCallRequest(
            response_type=pb.COMPRESSABLE,
            response_parameters=[pb.ResponseParameters(size=response_size)]
            if response_size is not None
            else [],
            payload=pb.Payload(body=zeros(size)),
        )

    def empty_unary():
        response = stub.EmptyCall(empty_pb2.Empty(), timeout=TIMEOUT_S)
        expect(response == empty_pb2.Empty(), f"EmptyCall answered {response!r}")

    def large_unary():
        response = stub.UnaryCall(
            pb.SimpleRequest(response_type=pb.COMPRESSABLE, response_size=314159,
                             payload=pb.Payload(body=zeros(271828))),
            timeout=TIMEOUT_S,
        )
        expect(response.payload.body == zeros(314159),
               f"payload of {len(response.payload.body)} bytes, not 314159 zeros")

    def client_streaming():
        sizes = [27182, 8, 1828, 45904]
        response = stub.StreamingInputCall(
            (pb.StreamingInputCallRequest(payload=pb.Payload(body=zeros(s))) for s in sizes),
            timeout=TIMEOUT_S,
        )
        expect(response.aggregated_payload_size == 74922,
               f"aggregated_payload_size {response.aggregated_payload_size}, not 74922")

    def server_streaming():
        sizes = [31415, 9, 2653, 58979]
        responses = stub.StreamingOutputCall(
            pb.StreamingOutputCallRequest(
                response_type=pb.COMPRESSABLE,
                response_parameters=[pb.ResponseParameters(size=s) for s in sizes]),
            timeout=TIMEOUT_S,
        )
        got = [len(r.payload.body) for r in responses]
        expect(got == sizes, f"responses of {got} bytes, not {sizes}")

    def ping_pong():
        requests = [27182, 8, 1828, 45904]
        sizes = [31415, 9, 2653, 58979]
        queue = [threading.Event() for _ in sizes]

        def pings():
            for i, size in enumerate(requests):
                yield payload_request(size, sizes[i])
                # The next request goes out only after the reply to this one.
                queue[i].wait(TIMEOUT_S)

        got = []
        for response in stub.FullDuplexCall(pings(), timeout=TIMEOUT_S):
            got.append(len(response.payload.body))
            queue[len(got) - 1].set()
        expect(got == sizes, f"replies of {got} bytes, not {sizes}")

    def empty_stream():
        got = list(stub.FullDuplexCall(iter([]), timeout=TIMEOUT_S))
        expect(got == [], f"{len(got)} responses to no request")

    def custom_metadata():
        metadata = ((ECHO_INITIAL, "test_initial_metadata_value"),
                    (ECHO_TRAILING, b"\xab\xab\xab"))

        def check(call, name):
            initial = dict(call.initial_metadata())
            trailing = dict(call.trailing_metadata())
            expect(initial.get(ECHO_INITIAL) == "test_initial_metadata_value",
                   f"{name}: initial metadata {initial}")
            expect(trailing.get(ECHO_TRAILING) == b"\xab\xab\xab",
                   f"{name}: trailing metadata {trailing}")

        _, call = stub.UnaryCall.with_call(
            pb.SimpleRequest(response_type=pb.COMPRESSABLE, response_size=314159,
                             payload=pb.Payload(body=zeros(271828))),
            metadata=metadata, timeout=TIMEOUT_S)
        check(call, "UnaryCall")
        duplex = stub.FullDuplexCall(iter([payload_request(271828, 314159)]),
                                     metadata=metadata, timeout=TIMEOUT_S)
        for _ in duplex:
            pass
        check(duplex, "FullDuplexCall")

    def expect_status(error, code, message):
        expect(error is not None, "the call succeeded")
        expect(error.code() == code and error.details() == message,
               f"{error.code().name} {error.details()!r}, not {code.name} {message!r}")

    def failure(call):
        try:
            result = call()
            if hasattr(result, "__iter__"):
                for _ in result:
                    pass
        except grpc.RpcError as error:
            return error
        return None

    def status_code_and_message():
        status = pb.EchoStatus(code=2, message="test status message")
        expect_status(failure(lambda: stub.UnaryCall(pb.SimpleRequest(response_status=status),
                                                     timeout=TIMEOUT_S)),
                      grpc.StatusCode.UNKNOWN, "test status message")
        expect_status(failure(lambda: stub.FullDuplexCall(
                          iter([pb.StreamingOutputCallRequest(response_status=status)]),
                          timeout=TIMEOUT_S)),
                      grpc.StatusCode.UNKNOWN, "test status message")

    def special_status_message():
        message = "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \U0001f608\t\n"
        status = pb.EchoStatus(code=2, message=message)
        expect_status(failure(lambda: stub.UnaryCall(pb.SimpleRequest(response_status=status),
                                                     timeout=TIMEOUT_S)),
                      grpc.StatusCode.UNKNOWN, message)

    def serves_empty_call():
        # A server that answers nothing would pass the unimplemented cases: it must answer this.
        stub.EmptyCall(empty_pb2.Empty(), timeout=TIMEOUT_S)

    def still_serves_input():
        # The client's side of a cancelled call ends the same whatever the server did; the next
        # call on the same method shows that the server is still there and answering.
        response = stub.StreamingInputCall(
            iter([pb.StreamingInputCallRequest(payload=pb.Payload(body=zeros(8)))]),
            timeout=TIMEOUT_S)
        expect(response.aggregated_payload_size == 8, "a StreamingInputCall after it failed")

    def still_serves_duplex():
        got = [len(r.payload.body) for r in stub.FullDuplexCall(
            iter([payload_request(0, 1)]), timeout=TIMEOUT_S)]
        expect(got == [1], f"a FullDuplexCall after it answered {got}, not [1]")

    def unimplemented_method():
        serves_empty_call()
        error = failure(lambda: stub.UnimplementedCall(empty_pb2.Empty(), timeout=TIMEOUT_S))
        expect(error is not None and error.code() == grpc.StatusCode.UNIMPLEMENTED,
               f"{error and error.code().name}, not UNIMPLEMENTED")

    def unimplemented_service():
        serves_empty_call()
        error = failure(lambda: unimplemented.UnimplementedCall(empty_pb2.Empty(),
                                                               timeout=TIMEOUT_S))
        expect(error is not None and error.code() == grpc.StatusCode.UNIMPLEMENTED,
               f"{error and error.code().name}, not UNIMPLEMENTED")

    def cancel_after_begin():
        release = threading.Event()

        def never():
            release.wait(TIMEOUT_S)
            yield from ()

        future = stub.StreamingInputCall.future(never(), timeout=TIMEOUT_S)
        future.cancel()
        release.set()
        expect(future.cancelled(), "the call was not cancelled")
        still_serves_input()

    def cancel_after_first_response():
        release = threading.Event()

        def requests():
            yield payload_request(27182, 31415)
            release.wait(TIMEOUT_S)

        call = stub.FullDuplexCall(requests(), timeout=TIMEOUT_S)
        first = next(call)
        expect(len(first.payload.body) == 31415, f"a first reply of {len(first.payload.body)}")
        call.cancel()
        release.set()
        expect(call.code() == grpc.StatusCode.CANCELLED, f"{call.code().name}, not CANCELLED")
        still_serves_duplex()

    def timeout_on_sleeping_server():
        release = threading.Event()

        def requests():
            yield pb.StreamingOutputCallRequest(payload=pb.Payload(body=zeros(27182)))
            release.wait(TIMEOUT_S)

        error = failure(lambda: stub.FullDuplexCall(requests(), timeout=0.001))
        release.set()
        expect(error is not None and error.code() == grpc.StatusCode.DEADLINE_EXCEEDED,
               f"{error and error.code().name}, not DEADLINE_EXCEEDED")
        still_serves_duplex()

    cases = {f.__name__: f for f in (
        empty_unary, large_unary, client_streaming, server_streaming, ping_pong, empty_stream,
        custom_metadata, status_code_and_message, special_status_message, unimplemented_method,
        unimplemented_service, cancel_after_begin, cancel_after_first_response,
        timeout_on_sleeping_server)}
    results = []
    for name in names or list(cases):
        ok, detail = run_bounded(cases[name])
        print(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}", flush=True)
        results.append({"case": name, "ok": ok, "detail": detail})
    channel.close()
    return results


def run_bounded(case):
    """Runs one case in its own thread, for at most CASE_S seconds: (ok, detail)."""
    outcome = [False, f"did not finish within {CASE_S:g} s: a call of it never ended"]

    def attempt():
        try:
            case()
            outcome[:] = [True, ""]
        except Failed as failed:
            outcome[:] = [False, str(failed)]
        except grpc.RpcError as error:
            outcome[:] = [False, f"unexpected {error.code().name} {error.details()!r}"]

    # A daemon thread: one that hangs is left behind, and channel.close() ends its calls.
    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(CASE_S)
    return tuple(outcome)


def main(argv):
    if len(argv) < 2:
        print(f"Usage: {argv[0]} HOST:PORT [CASE ...]", file=sys.stderr)
        return 2
    folder = tempfile.mkdtemp(prefix="interop-protos-")
    try:
        results = run_cases(argv[1], argv[2:], folder)
    except grpc.FutureTimeoutError:
        print(f"Could not connect to {argv[1]} within {TIMEOUT_S} s", file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    passed = all(r["ok"] for r in results)
    print(json.dumps({"target": argv[1], "grpc": grpc.__version__, "passed": passed,
                      "cases": results}))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
