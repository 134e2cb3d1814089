"""The generated module's connection against a scripted server: the frames it sends, replies
out of order, pings, goaway, errors on a call and on the connection, a local deadline with its
Cancel, and a peer that does not speak the protocol.

usage: protocol_check.py DIR    (DIR holds calc.py, the module `rpc gen python` wrote)
"""
import os
import socket
import struct
import sys
import threading

sys.path.insert(0, sys.argv[1])
import calc  # noqa: E402

HEADER = struct.Struct('!HBBHHIIIII')
ADD = (0xBDAF910D, 0x65441EF9)  # Calc.add: method id, fingerprint
REQUEST, RESPONSE, ERROR, CANCEL, PING, PONG, GOAWAY = range(1, 8)


def frame(kind, call_id, body=b'', status=0, magic=0xC0DE):
    return HEADER.pack(magic, 1, kind, status, 0, 0, call_id, 0, 0, len(body)) + body


def read_frame(conn):
    def exact(n):
        data = b''
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            assert chunk, 'the client closed the connection'
            data += chunk
        return data
    header = HEADER.unpack(exact(HEADER.size))
    return header, exact(header[-1])


def requests(conn, n):
    """Reads n request frames; returns [(call_id, timeout_ms, (a, b))]."""
    out = []
    for _ in range(n):
        (magic, version, kind, status, flags, method, call_id, timeout_ms, schema, _), body = read_frame(conn)
        assert (magic, version, kind, status, flags) == (0xC0DE, 1, REQUEST, 0, 0)
        assert (method, schema) == ADD, (hex(method), hex(schema))
        out.append((call_id, timeout_ms, struct.unpack('!qq', body)))
    return out


path = os.path.join(sys.argv[1], 'fake.sock')
listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
listener.bind(path)
listener.listen(8)
listener.settimeout(60)
log = []


def serve():
    # 1. Three pipelined calls, answered in reverse order after a ping the client must echo.
    conn, _ = listener.accept()
    calls = requests(conn, 3)
    assert [t for _, t, _ in calls] == [2500] * 3, calls  # timeout=2.5 s travels as 2500 ms
    assert len({c for c, _, _ in calls}) == 3 and 0 not in {c for c, _, _ in calls}
    conn.sendall(frame(PING, 77, b'alive?'))
    (_, _, kind, _, _, _, call_id, _, _, _), body = read_frame(conn)
    assert (kind, call_id, body) == (PONG, 77, b'alive?'), (kind, call_id, body)
    conn.sendall(b''.join(frame(RESPONSE, c, struct.pack('!q', a + b)) for c, _, (a, b) in reversed(calls)))
    log.append('pipelined')
    # 2. Errors on single calls: a runtime status, then the service's error.
    (c, _, _), = requests(conn, 1)
    conn.sendall(frame(ERROR, c, b'too late', status=3))
    (c, _, _), = requests(conn, 1)
    conn.sendall(frame(RESPONSE, c, struct.pack('!B', 2), status=1))
    (c, _, _), = requests(conn, 1)
    conn.sendall(frame(RESPONSE, c, struct.pack('!B', 9), status=1))  # no such MathError
    log.append('errors')
    # 3. Goaway after the first of two calls: the first is answered, the second was never read.
    first, second = requests(conn, 2)
    conn.sendall(frame(GOAWAY, first[0], b'server shutting down') + frame(RESPONSE, first[0], struct.pack('!q', 1)))
    conn2, _ = listener.accept()  # the next call comes on a new connection
    (c, _, _), = requests(conn2, 1)
    conn2.sendall(frame(RESPONSE, c, struct.pack('!q', 2)))
    conn.close()
    log.append('goaway')
    # 4. A call nobody answers: the client gives up at its deadline and sends a Cancel.
    (c, t, _), = requests(conn2, 1)
    assert t == 200, t
    (_, _, kind, _, _, _, cancelled, _, _, _), _ = read_frame(conn2)
    assert (kind, cancelled) == (CANCEL, c), (kind, cancelled, c)
    conn2.sendall(frame(RESPONSE, c, struct.pack('!q', 0)))  # too late: ignored
    (c, _, _), = requests(conn2, 1)
    conn2.sendall(frame(RESPONSE, c, struct.pack('!q', 3)))
    log.append('deadline')
    # 5. An error about the whole connection fails every waiting call.
    requests(conn2, 2)
    conn2.sendall(frame(ERROR, 0, b'too many calls', status=6))
    conn2.close()
    # 6. A peer that does not speak the protocol.
    conn3, _ = listener.accept()
    requests(conn3, 1)
    conn3.sendall(frame(RESPONSE, 1, b'', magic=0x4854))
    conn3.close()
    log.append('connection errors')


server = threading.Thread(target=serve, daemon=True)
server.start()


def fails(error, call):
    try:
        call()
    except error as e:
        return e
    raise AssertionError(f'expected {error.__name__}')


client = calc.CalcClient(f'unix://{path}', timeout=2.5)
with client.pipeline() as batch:
    sums = [batch.add(i, 10 * i) for i in (1, 2, 3)]
assert [s.result().value for s in sums] == [11, 22, 33]

e = fails(calc.DeadlineExceeded, lambda: client.add(1, 1))
assert e.status == 3 and 'too late' in e.message, e
fails(calc.DivisionByZero, lambda: client.add(1, 1))
e = fails(calc.Internal, lambda: client.add(1, 1))
assert 'MathError' in str(e), e

batch = client.pipeline()
before, after = batch.add(0, 1), batch.add(0, 2)
batch.flush()
assert before.result().value == 1
e = fails(calc.Unavailable, after.result)
assert 'retry' in str(e), e
assert client.add(1, 1).value == 2

fails(calc.DeadlineExceeded, lambda: client.add(5, 5, timeout=0.2))
assert client.add(1, 2).value == 3

batch = client.pipeline()
pending = [batch.add(1, 1), batch.add(2, 2)]
batch.flush()
for p in pending:
    e = fails(calc.ResourceExhausted, p.result)
    assert 'too many calls' in str(e), e
e = fails(calc.Internal, lambda: client.add(1, 1))
assert 'not a frame of this protocol' in str(e), e

server.join(30)
assert log == ['pipelined', 'errors', 'goaway', 'deadline', 'connection errors'], log
fails(ValueError, lambda: calc.CalcClient('http://example.com'))
print('ok')
