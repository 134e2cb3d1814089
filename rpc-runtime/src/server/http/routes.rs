//! One request, start to finish: checks that need no body, the body under its limits, the
//! application's routes, then the built-in ones.

use super::body::{self, BodyError, ReplyBody};
use super::context::{HttpContext, Scoped};
use super::io::{Activity, InFlight};
#[cfg(feature = "json")]
use super::json;
use crate::frame::Status;
use crate::schema::method_id;
use crate::server::registry::Entry;
use crate::service::Reply;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use smol::Timer;
use smol::future::FutureExt as _;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// The header that carries a call's deadline in milliseconds.
const TIMEOUT_HEADER: &str = "x-rpc-timeout-ms";
/// The header that carries a call's runtime status name.
const STATUS_HEADER: &str = "x-rpc-status";
const TEXT: &str = "text/plain; charset=utf-8";
const OCTETS: &str = "application/octet-stream";
#[cfg(feature = "json")]
const UNSUPPORTED: &str =
    "send the request as `application/octet-stream` (Wire bytes) or `application/json`";
#[cfg(not(feature = "json"))]
const UNSUPPORTED: &str = "send the request as `application/octet-stream` (Wire bytes)";

/// The hyper service of one connection.
#[derive(Clone)]
pub(super) struct Handler {
    pub(super) ctx: HttpContext,
    pub(super) activity: Arc<Activity>,
}

impl hyper::service::Service<Request<Incoming>> for Handler {
    type Response = Response<ReplyBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<ReplyBody>, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let in_flight = InFlight::new(Arc::clone(&self.activity));
        let ctx = self.ctx.clone();
        Box::pin(async move {
            let is_head = request.method() == Method::HEAD;
            let response = handle(request, &ctx, &in_flight).await;
            Ok(finish(response, is_head, in_flight))
        })
    }
}

/// Turns a response into hyper's, dropping the body of a `HEAD` response but keeping its
/// length.
fn finish(response: Response<Vec<u8>>, is_head: bool, in_flight: InFlight) -> Response<ReplyBody> {
    let (mut parts, body) = response.into_parts();
    let body = if is_head {
        parts
            .headers
            .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        Vec::new()
    } else {
        body
    };
    Response::from_parts(parts, ReplyBody::new(body, Some(in_flight)))
}

/// Methods some route answers; others get `501`.
fn implemented(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::POST | Method::PUT | Method::DELETE | Method::PATCH
    )
}

async fn handle(
    request: Request<Incoming>,
    ctx: &HttpContext,
    in_flight: &InFlight,
) -> Response<Vec<u8>> {
    let limits = &ctx.shared().limits;
    if !implemented(request.method()) {
        return close(text(
            StatusCode::NOT_IMPLEMENTED,
            format!("method {} is not implemented here", request.method()),
        ));
    }
    let (parts, mut incoming) = request.into_parts();
    if body::declared_too_large(&incoming, limits.max_body) {
        return too_large(limits.max_body);
    }
    let collected = body::collect(&mut incoming, limits.max_body)
        .or(async {
            Timer::after(limits.read_timeout).await;
            Err(BodyError::TimedOut)
        })
        .await;
    let body = match collected {
        Ok(body) => body,
        Err(BodyError::TooLarge) => return too_large(limits.max_body),
        Err(BodyError::TimedOut) => {
            return close(text(
                StatusCode::REQUEST_TIMEOUT,
                "the request body did not arrive in time",
            ));
        }
        Err(BodyError::Broken(error)) => {
            return close(text(
                StatusCode::BAD_REQUEST,
                format!("broken request body: {error}"),
            ));
        }
    };
    in_flight.activity().body_done();
    let mut request = Request::from_parts(parts, body);
    if let Some(routes) = &ctx.shared().http_routes {
        match routes.route(request, ctx.clone()) {
            Ok(future) => {
                return Scoped::new(future, ctx.peer()).await.unwrap_or_else(|| {
                    text(StatusCode::INTERNAL_SERVER_ERROR, "the route panicked")
                });
            }
            Err(returned) => request = returned,
        }
    }
    builtin(request, ctx).await
}

async fn builtin(request: Request<Vec<u8>>, ctx: &HttpContext) -> Response<Vec<u8>> {
    let registry = &ctx.shared().registry;
    let method = request.method();
    let path = request.uri().path();
    let read = *method == Method::GET || *method == Method::HEAD;
    match path {
        "/health" if read => text(StatusCode::OK, "ok"),
        "/describe" if read => with_type(
            StatusCode::OK,
            "application/json",
            registry.describe().to_vec(),
        ),
        #[cfg(feature = "json")]
        "/openapi.json" if read => with_type(
            StatusCode::OK,
            "application/json",
            registry.openapi().to_vec(),
        ),
        "/health" | "/describe" | "/openapi.json" => not_allowed("GET, HEAD"),
        _ => {
            let Some((service, name)) = path
                .strip_prefix('/')
                .and_then(|p| p.split_once('/'))
                .filter(|(s, m)| !s.is_empty() && !m.contains('/'))
            else {
                return not_found(path);
            };
            let id = method_id(service, name);
            let entry = registry
                .get(id)
                .filter(|e| e.service_name == service && e.schema.name == name);
            let content_type = request
                .headers()
                .get(header::CONTENT_TYPE)
                .map(|v| v.to_str().unwrap_or(""));
            let Some(entry) = entry else {
                let message = format!("no method `{service}.{name}` is served here");
                #[cfg(feature = "json")]
                if content_type.is_some_and(|t| media_type_is(t, json::JSON)) {
                    return json::error(Status::UnknownMethod, message);
                }
                return text(StatusCode::NOT_FOUND, message);
            };
            #[cfg(feature = "json")]
            let codec = entry.json.clone();
            let gettable = entry.schema.read_only && has_json(entry);
            let timeout = match deadline(&request) {
                Ok(timeout) => timeout,
                Err(response) => return response,
            };
            match *method {
                Method::POST if content_type.is_none_or(|t| media_type_is(t, OCTETS)) => {
                    let reply = ctx
                        .call_with_timeout(id, request.into_body(), timeout)
                        .await;
                    reply_response(reply)
                }
                #[cfg(feature = "json")]
                Method::POST
                    if content_type.is_some_and(|t| media_type_is(t, json::JSON))
                        && codec.is_some() =>
                {
                    let codec = codec.as_deref().expect("checked above");
                    let wire = codec.request_from_json(request.body());
                    json::call(ctx, codec, id, wire, timeout).await
                }
                Method::POST => text(StatusCode::UNSUPPORTED_MEDIA_TYPE, UNSUPPORTED),
                #[cfg(feature = "json")]
                Method::GET | Method::HEAD if gettable => {
                    let codec = codec.as_deref().expect("gettable methods have a codec");
                    let wire = codec.request_from_query(request.uri().query().unwrap_or(""));
                    json::call(ctx, codec, id, wire, timeout).await
                }
                _ if gettable => not_allowed("GET, HEAD, POST"),
                _ => not_allowed("POST"),
            }
        }
    }
}

/// Whether the method can be called in JSON (read-only ones also with `GET`).
#[cfg(feature = "json")]
fn has_json(entry: &Entry) -> bool {
    entry.json.is_some()
}

/// Whether the method can be called in JSON: not without the `json` feature.
#[cfg(not(feature = "json"))]
fn has_json(_: &Entry) -> bool {
    false
}

/// Whether a `Content-Type` value names `expected`, ignoring parameters and case.
fn media_type_is(value: &str, expected: &str) -> bool {
    value
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case(expected))
}

/// The call's deadline from `X-Rpc-Timeout-Ms` (`0` or absent: none).
#[allow(clippy::result_large_err)]
fn deadline(request: &Request<Vec<u8>>) -> Result<Option<Duration>, Response<Vec<u8>>> {
    let Some(value) = request.headers().get(TIMEOUT_HEADER) else {
        return Ok(None);
    };
    let ms: u64 = value
        .to_str()
        .ok()
        .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| {
            text(
                StatusCode::BAD_REQUEST,
                "X-Rpc-Timeout-Ms takes a whole number of milliseconds",
            )
        })?;
    Ok((ms > 0).then(|| Duration::from_millis(ms)))
}

/// The HTTP status a call's outcome maps onto.
pub(super) fn http_status(status: Status) -> StatusCode {
    match status {
        Status::Ok => StatusCode::OK,
        Status::Application => StatusCode::UNPROCESSABLE_ENTITY,
        Status::BadRequest => StatusCode::BAD_REQUEST,
        Status::UnknownMethod => StatusCode::NOT_FOUND,
        Status::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Status::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Status::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Status::SchemaMismatch => StatusCode::CONFLICT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A call's reply in Wire bytes: the message for `ok` and application errors, a text
/// message otherwise; the status name in `X-Rpc-Status` either way.
fn reply_response(reply: Reply) -> Response<Vec<u8>> {
    let code = http_status(reply.status);
    let mut response = match reply.status {
        Status::Ok | Status::Application => with_type(code, OCTETS, reply.body),
        _ => {
            let mut body = reply.body;
            body.push(b'\n');
            with_type(code, TEXT, body)
        }
    };
    status_headers(&mut response, reply.status);
    response
}

/// `X-Rpc-Status` with the status name, and `Retry-After` where retrying later may work.
pub(super) fn status_headers(response: &mut Response<Vec<u8>>, status: Status) {
    let headers = response.headers_mut();
    headers.insert(STATUS_HEADER, HeaderValue::from_static(status.name()));
    if status == Status::ResourceExhausted || status == Status::Unavailable {
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
}

fn with_type(code: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response<Vec<u8>> {
    let mut response = Response::new(body);
    *response.status_mut() = code;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// A plain-text response: `message` and a newline.
pub(super) fn text(code: StatusCode, message: impl Into<String>) -> Response<Vec<u8>> {
    let mut body = message.into().into_bytes();
    body.push(b'\n');
    with_type(code, TEXT, body)
}

/// Asks hyper to close the connection after this response.
fn close(mut response: Response<Vec<u8>>) -> Response<Vec<u8>> {
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

fn too_large(max_body: u32) -> Response<Vec<u8>> {
    close(text(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("the request body exceeds the limit of {max_body} bytes"),
    ))
}

fn not_allowed(allow: &'static str) -> Response<Vec<u8>> {
    let mut response = text(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("this resource answers {allow}"),
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

fn not_found(path: &str) -> Response<Vec<u8>> {
    text(
        StatusCode::NOT_FOUND,
        format!(
            "nothing at `{path}`; try GET /health, GET /describe or POST /{{Service}}/{{method}}"
        ),
    )
}
