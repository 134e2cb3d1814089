import enum
import math
import socket
import struct
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Generic, Iterator, List, Optional, Tuple, Type, TypeVar, Union

PROTOCOL_VERSION = 1
"""The protocol version this module speaks (the header's `version` byte)."""

DEFAULT_MAX_BODY = 1 << 20
"""The largest frame body sent or accepted unless a `Connection` is given another limit."""

_HEADER = struct.Struct('!HBBHHIIIII')  # magic version kind status flags method call_id timeout_ms schema body_len
_MAGIC = 0xC0DE
_REQUEST, _RESPONSE, _ERROR, _CANCEL, _PING, _PONG, _GOAWAY = range(1, 8)
_OK, _APPLICATION = 0, 1
_STATUS_NAMES = ('ok', 'application error', 'cancelled', 'deadline exceeded', 'unknown method',
                 'bad request', 'resource exhausted', 'unavailable', 'internal error', 'schema mismatch')
_MAX_TIMEOUT_MS = 0xFFFFFFFF

_T = TypeVar('_T')
_E = TypeVar('_E', bound=enum.IntEnum)


class WireError(ValueError):
    """A value that does not fit its message, or bytes that are not a valid message."""


class RpcError(Exception):
    """A call failed. `status` is the protocol's status code, `message` says why."""

    status = -1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ApplicationError(RpcError):
    """The service answered with its own typed error (status 1); `error` holds the value."""

    status = 1

    def __init__(self, message: str, error: object) -> None:
        super().__init__(message)
        self.error = error


class Cancelled(RpcError):
    """Status 2: the call was cancelled."""

    status = 2


class DeadlineExceeded(RpcError):
    """Status 3: the deadline passed, on the server or here; the call may still have run."""

    status = 3


class UnknownMethod(RpcError):
    """Status 4: the server does not serve this method."""

    status = 4


class BadRequest(RpcError):
    """Status 5: the request does not fit the method (found here or by the server)."""

    status = 5


class ResourceExhausted(RpcError):
    """Status 6: a server limit was hit; nothing was done, retrying later may work."""

    status = 6


class Unavailable(RpcError):
    """Status 7: no connection, a lost one, or a server shutting down."""

    status = 7


class Internal(RpcError):
    """Status 8: the server failed, or sent something this module cannot read."""

    status = 8


class SchemaMismatch(RpcError):
    """Status 9: the server's method has other message formats than this module."""

    status = 9


_STATUS_ERRORS: Dict[int, Type[RpcError]] = {
    2: Cancelled, 3: DeadlineExceeded, 4: UnknownMethod, 5: BadRequest,
    6: ResourceExhausted, 7: Unavailable, 8: Internal, 9: SchemaMismatch,
}


def _status_error(status: int, message: str) -> RpcError:
    cls = _STATUS_ERRORS.get(status, Internal)
    return cls(f'{_STATUS_NAMES[status] if status < len(_STATUS_NAMES) else status}: {message}')


# Field codecs: each checks one value and names the field when it does not fit.

def _int(value: int, low: int, high: int, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise WireError(f'{field}: expected an int, got {type(value).__name__}')
    if not low <= value <= high:
        raise WireError(f'{field}: {value} is not in {low}..={high}')
    return value


def _bool(value: int, field: str) -> bool:
    if value not in (0, 1):
        raise WireError(f'{field}: byte {value} is not a bool (0 or 1)')
    return value == 1


def _put_text(value: str, size: int, field: str) -> bytes:
    if not isinstance(value, str):
        raise WireError(f'{field}: expected a str, got {type(value).__name__}')
    data = value.encode('utf-8')
    if len(data) > size:
        raise WireError(f'{field}: {len(data)} bytes of UTF-8 do not fit in {size}')
    if b'\0' in data:
        raise WireError(f'{field}: a NUL character cannot be told apart from the padding')
    return data


def _text(raw: bytes, field: str) -> str:
    text, _, padding = raw.partition(b'\0')
    if padding.strip(b'\0'):
        raise WireError(f'{field}: bytes after the end of the text are not NUL padding')
    try:
        return text.decode('utf-8')
    except UnicodeDecodeError as e:
        raise WireError(f'{field}: not UTF-8 ({e.reason})') from None


def _put_pascal(value: str, size: int, field: str) -> bytes:
    data = _put_text(value, min(size - 1, 255), field)
    return bytes((len(data),)) + data


def _pascal(raw: bytes, field: str) -> str:
    length = raw[0]
    if length > min(len(raw) - 1, 255):
        raise WireError(f'{field}: length byte {length} does not fit in {len(raw)} bytes')
    try:
        return raw[1:1 + length].decode('utf-8')
    except UnicodeDecodeError as e:
        raise WireError(f'{field}: not UTF-8 ({e.reason})') from None


def _put_bytes(value: bytes, size: int, field: str) -> bytes:
    if not isinstance(value, (bytes, bytearray)) or len(value) != size:
        raise WireError(f'{field}: expected exactly {size} bytes')
    return bytes(value)


def _enum(cls: Type[_E], value: int, field: str) -> _E:
    try:
        return cls(value)
    except ValueError:
        raise WireError(f'{field}: {value} is not a {cls.__name__}') from None


def _put_enum(cls: Type[_E], value: _E, field: str) -> int:
    return int(_enum(cls, _int(int(value), -(1 << 63), (1 << 64) - 1, field), field))


def _items(values: List[_T], count: int, field: str) -> List[_T]:
    if not isinstance(values, (list, tuple)) or len(values) != count:
        raise WireError(f'{field}: expected a list of exactly {count} items')
    return values


def _pack_one(codec: struct.Struct, flat: Callable[[_T, List[Any]], None], value: _T, what: str) -> bytes:
    out: List[Any] = []
    flat(value, out)
    try:
        return codec.pack(*out)
    except (struct.error, OverflowError, TypeError) as e:
        raise WireError(f'{what}: {e}') from None


def _unpack_one(codec: struct.Struct, build: Callable[[Tuple[Any, ...], int], _T], data: bytes, what: str) -> _T:
    if len(data) != codec.size:
        raise WireError(f'{what}: expected {codec.size} bytes, got {len(data)}')
    return build(codec.unpack(data), 0)


def _pack_list(codec: struct.Struct, count: struct.Struct, flat: Callable[[_T, List[Any]], None],
               values: List[_T], what: str) -> bytes:
    if len(values) > 0xFFFFFFFF:
        raise WireError(f'{what}: {len(values)} records do not fit a u32 count')
    return count.pack(len(values)) + b''.join(_pack_one(codec, flat, v, what) for v in values)


def _unpack_list(codec: struct.Struct, count: struct.Struct, build: Callable[[Tuple[Any, ...], int], _T],
                 data: bytes, what: str) -> List[_T]:
    if len(data) < count.size:
        raise WireError(f'{what}: expected a {count.size}-byte count, got {len(data)} bytes')
    (n,) = count.unpack_from(data)
    if len(data) - count.size != n * codec.size:
        raise WireError(f'{what}: {n} records of {codec.size} bytes need {n * codec.size} bytes, '
                        f'got {len(data) - count.size}')
    return [build(values, 0) for values in codec.iter_unpack(data[count.size:])]


def _unit(data: bytes, what: str) -> None:
    if data:
        raise WireError(f'{what}: expected no bytes, got {len(data)}')


class _Method(Generic[_T]):
    """What a call needs to know about one method: ids and how to read its replies."""

    def __init__(self, name: str, method_id: int, fingerprint: int, decode: Callable[[bytes], _T],
                 fail: Callable[[str, bytes], ApplicationError]) -> None:
        self.name = name
        self.id = method_id
        self.fingerprint = fingerprint
        self.decode = decode
        self.fail = fail


def _fail_unit(method: str, body: bytes) -> ApplicationError:
    _unit(body, f'{method} error')
    return ApplicationError(f'{method} failed', None)


class Pending(Generic[_T]):
    """A call that was sent and may not be answered yet; `result()` waits for its reply."""

    def __init__(self, connection: 'Connection', method: _Method[_T], call_id: int,
                 deadline: Optional[float], timeout: Optional[float]) -> None:
        self.connection = connection
        self.method = method
        self.call_id = call_id
        self.deadline = deadline
        self.timeout = timeout
        self._done = False
        self._value: Optional[_T] = None
        self._error: Optional[RpcError] = None

    def done(self) -> bool:
        """Whether the reply (or a failure) is in."""
        return self._done

    def result(self) -> _T:
        """The call's response; raises its `RpcError` when it failed. Waits when needed."""
        if not self._done:
            self.connection._wait(self)
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]

    def _fail(self, error: RpcError) -> None:
        if not self._done:
            self._done, self._error = True, error

    def _resolve(self, status: int, body: bytes) -> None:
        name = self.method.name
        try:
            if status == _OK:
                self._value = self.method.decode(body)
            else:
                self._error = self.method.fail(name, body)
        except WireError as e:
            self._error = Internal(f'{name}: cannot read the reply: {e}')
        self._done = True


def _parse_endpoint(endpoint: str) -> Tuple[int, Union[str, Tuple[str, int]]]:
    scheme, sep, address = endpoint.partition('://')
    if sep and scheme == 'tcp':
        host, colon, port = address.rpartition(':')
        if colon and port.isdigit() and host:
            return socket.AF_INET6 if host.startswith('[') else socket.AF_INET, (host.strip('[]'), int(port))
    elif sep and scheme == 'unix' and address:
        return socket.AF_UNIX, address
    raise ValueError(f'endpoint must be tcp://HOST:PORT or unix://PATH, not {endpoint!r}')


class Connection:
    """One connection to a server, shared by the calls made through it.

    Calls are pipelined: requests go out without waiting, and replies are matched to their
    calls by call id in whatever order they come. The socket is opened on the first call and
    opened again after the server said goaway or the connection was lost. Not thread-safe: use
    one connection per thread.
    """

    def __init__(self, endpoint: str, connect_timeout: Optional[float] = 10.0,
                 max_body: int = DEFAULT_MAX_BODY) -> None:
        self.endpoint = endpoint
        self._family, self._address = _parse_endpoint(endpoint)
        self.connect_timeout = connect_timeout
        self.max_body = max_body
        self._sock: Optional[socket.socket] = None
        self._buf = bytearray()
        self._out = bytearray()
        self._next_id = 1
        self._pending: Dict[int, Pending[Any]] = {}
        self._goaway = False

    def close(self) -> None:
        """Closes the socket; calls still waiting fail with `Unavailable`."""
        self._drop(Unavailable('unavailable: the connection was closed by this client'))

    def __enter__(self) -> 'Connection':
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _connect(self) -> socket.socket:
        if self._sock is not None and self._goaway:
            # The server takes no new calls here: collect what it still owes, then start over.
            while self._pending:
                self._wait(next(iter(self._pending.values())))
            self._drop(Unavailable('unavailable: goaway'))
        if self._sock is None:
            sock = socket.socket(self._family, socket.SOCK_STREAM)
            try:
                sock.settimeout(self.connect_timeout)
                sock.connect(self._address)
                if self._family != socket.AF_UNIX:
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError as e:
                sock.close()
                raise Unavailable(f'unavailable: cannot connect to {self.endpoint}: {e}') from e
            self._sock, self._goaway, self._next_id = sock, False, 1
            self._buf.clear()
            self._out.clear()
        return self._sock

    def _drop(self, error: RpcError) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        pending, self._pending = self._pending, {}
        for p in pending.values():
            p._fail(error)
        self._out.clear()

    def start(self, method: _Method[_T], body: bytes, timeout: Optional[float], flush: bool = True) -> Pending[_T]:
        """Sends a request (now, or with the next `flush()`) and returns its pending call.

        `timeout` in seconds travels as the call's deadline; `None` or `math.inf` sends none.
        """
        if len(body) > self.max_body:
            raise BadRequest(f'bad request: the {method.name} request is {len(body)} bytes, over the '
                             f'{self.max_body}-byte limit')
        timeout_ms, deadline = 0, None
        if timeout is not None and timeout != math.inf:
            if not timeout > 0:
                raise ValueError(f'timeout must be a positive number of seconds, not {timeout!r}')
            timeout_ms = min(max(math.ceil(timeout * 1000), 1), _MAX_TIMEOUT_MS)
            deadline = time.monotonic() + timeout
        self._connect()
        call_id = self._next_id
        while call_id == 0 or call_id in self._pending:
            call_id = (call_id + 1) & 0xFFFFFFFF
        self._next_id = (call_id + 1) & 0xFFFFFFFF
        self._out += _HEADER.pack(_MAGIC, PROTOCOL_VERSION, _REQUEST, _OK, 0, method.id, call_id,
                                  timeout_ms, method.fingerprint, len(body))
        self._out += body
        pending = Pending(self, method, call_id, deadline, timeout)
        self._pending[call_id] = pending
        if flush:
            self.flush()
        return pending

    def flush(self) -> None:
        """Writes every request queued by `start(..., flush=False)` in one go."""
        if self._out and self._sock is not None:
            data, self._out = bytes(self._out), bytearray()
            try:
                self._sock.settimeout(None)
                self._sock.sendall(data)
            except OSError as e:
                self._drop(Unavailable(f'unavailable: connection to {self.endpoint} lost: {e}'))

    def cancel(self, pending: 'Pending[Any]') -> None:
        """Gives up on a call: the server is told to stop it, and its reply will be ignored."""
        self._give_up(pending, Cancelled('cancelled: by this client'))

    def _give_up(self, pending: 'Pending[Any]', error: RpcError) -> None:
        if self._pending.get(pending.call_id) is pending:
            del self._pending[pending.call_id]
            pending._fail(error)
            self._out += _HEADER.pack(_MAGIC, PROTOCOL_VERSION, _CANCEL, _OK, 0, 0, pending.call_id, 0, 0, 0)
            self.flush()

    def _wait(self, pending: 'Pending[Any]') -> None:
        self.flush()
        while not pending.done():
            now = time.monotonic()
            for p in [p for p in self._pending.values() if p.deadline is not None and p.deadline <= now]:
                self._give_up(p, DeadlineExceeded(f'deadline exceeded: no reply within {p.timeout} s'))
            if pending.done():
                break
            sock = self._sock
            if sock is None:
                pending._fail(Unavailable('unavailable: the connection is closed'))
                break
            sock.settimeout(None if pending.deadline is None else max(pending.deadline - now, 0.001))
            try:
                chunk = sock.recv(1 << 16)
            except socket.timeout:
                continue
            except OSError as e:
                self._drop(Unavailable(f'unavailable: connection to {self.endpoint} lost: {e}'))
                break
            if not chunk:
                self._drop(Unavailable(f'unavailable: {self.endpoint} closed the connection'))
                break
            self._buf += chunk
            self._frames()

    def _frames(self) -> None:
        buf = self._buf
        at = 0
        while len(buf) - at >= _HEADER.size:
            magic, version, kind, status, flags, _, call_id, _, _, length = _HEADER.unpack_from(buf, at)
            problem = None
            if magic != _MAGIC or version != PROTOCOL_VERSION:
                problem = f'not a frame of this protocol (magic {magic:#06x}, version {version})'
            elif kind not in (_RESPONSE, _ERROR, _PING, _PONG, _GOAWAY) or status >= len(_STATUS_NAMES) or flags:
                problem = f'malformed header (kind {kind}, status {status}, flags {flags:#x})'
            elif length > self.max_body:
                problem = f'a {length}-byte body is over the {self.max_body}-byte limit'
            if problem is not None:
                self._drop(Internal(f'internal error: {self.endpoint} sent {problem}'))
                return
            end = at + _HEADER.size + length
            if len(buf) < end:
                break
            body = bytes(buf[at + _HEADER.size:end])
            at = end
            if kind == _PING:
                self._out += _HEADER.pack(_MAGIC, PROTOCOL_VERSION, _PONG, _OK, 0, 0, call_id, 0, 0, len(body))
                self._out += body
            elif kind == _GOAWAY:
                self._goaway = True
                for p in [p for p in self._pending.values() if p.call_id > call_id]:
                    del self._pending[p.call_id]
                    p._fail(Unavailable('unavailable: the server went away before reading this call; retry it'))
            elif kind == _ERROR and call_id == 0:
                self._drop(_status_error(status, body.decode('utf-8', 'replace')))
                return
            elif kind in (_RESPONSE, _ERROR):
                waiting = self._pending.get(call_id)
                if waiting is None:
                    continue  # the reply of a call given up on
                del self._pending[call_id]
                if kind == _ERROR:
                    waiting._fail(_status_error(status, body.decode('utf-8', 'replace')))
                elif status in (_OK, _APPLICATION):
                    waiting._resolve(status, body)
                else:
                    waiting._fail(Internal(f'internal error: a response with status {status}'))
        del buf[:at]
        self.flush()


class _Client:
    def __init__(self, endpoint: Union[str, Connection], timeout: Optional[float] = 10.0,
                 connect_timeout: Optional[float] = 10.0, max_body: int = DEFAULT_MAX_BODY) -> None:
        if isinstance(endpoint, Connection):
            self.connection = endpoint
        else:
            self.connection = Connection(endpoint, connect_timeout, max_body)
        self._timeout = timeout

    def __enter__(self: _T) -> _T:
        return self

    def __exit__(self, *exc: object) -> None:
        self.connection.close()

    def _call(self, method: _Method[_T], body: bytes, timeout: Optional[float]) -> _T:
        return self.connection.start(method, body, self._timeout if timeout is None else timeout).result()


class _Pipeline:
    def __init__(self, client: _Client) -> None:
        self.connection = client.connection
        self._timeout = client._timeout
        self.calls: List[Pending[Any]] = []

    def _start(self, method: _Method[_T], body: bytes, timeout: Optional[float]) -> Pending[_T]:
        pending = self.connection.start(method, body, self._timeout if timeout is None else timeout, flush=False)
        self.calls.append(pending)
        return pending

    def flush(self) -> None:
        """Sends the calls queued so far, in one write."""
        self.connection.flush()

    def replies(self) -> Iterator[Pending[Any]]:
        """Sends what is queued, then yields each call of this pipeline as its reply comes in."""
        self.flush()
        waiting = list(self.calls)
        while waiting:
            ready = [p for p in waiting if p.done()]
            if not ready:
                soonest = min(waiting, key=lambda p: math.inf if p.deadline is None else p.deadline)
                self.connection._wait(soonest)
                continue
            for p in ready:
                waiting.remove(p)
                yield p

    def wait(self) -> None:
        """Sends what is queued and waits until every call of this pipeline is answered."""
        for _ in self.replies():
            pass

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            self.wait()
        else:
            for p in self.calls:
                if not p.done():
                    self.connection.cancel(p)
