//! An application's own HTTP routes (`HttpRoutes`): asked first, falling through to the
//! built-in routes, calling served methods like a frame would, with the body limit applied
//! before they see a request, `HEAD` bodies stripped and panics contained.

use super::http::{read_head, read_reply, request};
use super::lab::{Gauge, Item, LabImpl, ServeLab};
use super::support::method;
use rpc_runtime::http::{Method, Request, Response, StatusCode};
use rpc_runtime::server::{
    HttpContext, HttpFuture, HttpRoutes, Limits, Peer, RunningServer, current_peer,
};
use rpc_runtime::{Endpoint, Server, Status, Wire as _};
use std::io::Write as _;
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Routes under `/app/`: `GET /app/echo/{n}` calls `Lab.echo`, `/app/big` answers 1000
/// bytes, `/app/panic` panics, `/app/peer` names the current peer, `/app/unknown` calls a
/// method id nobody serves. Counts the requests it was asked about.
struct App {
    asked: Arc<AtomicUsize>,
}

fn respond(code: StatusCode, body: impl Into<Vec<u8>>) -> Response<Vec<u8>> {
    Response::builder()
        .status(code)
        .header("content-type", "text/plain")
        .body(body.into())
        .expect("a valid response")
}

fn reply_text(status: Status, body: &[u8]) -> String {
    match status {
        Status::Ok => format!("{:?}", Item::unpack(body).expect("an Item")),
        other => format!("{other}: {}", String::from_utf8_lossy(body)),
    }
}

impl HttpRoutes for App {
    fn route(
        &self,
        request: Request<Vec<u8>>,
        ctx: HttpContext,
    ) -> Result<HttpFuture, Request<Vec<u8>>> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        let path = request.uri().path().to_owned();
        let Some(rest) = path.strip_prefix("/app/") else {
            return Err(request);
        };
        let rest = rest.to_owned();
        let is_post = request.method() == Method::POST;
        Ok(Box::pin(async move {
            match rest.as_str() {
                "big" => respond(StatusCode::OK, vec![b'x'; 1000]),
                "panic" => panic!("a route panics"),
                "peer" => {
                    let same = current_peer() == Some(ctx.peer());
                    respond(StatusCode::OK, format!("{} {same}", ctx.peer()))
                }
                "unknown" => {
                    let reply = ctx.call(0x0bad_0bad, Vec::new()).await;
                    respond(StatusCode::NOT_FOUND, reply_text(reply.status, &reply.body))
                }
                "sink" if is_post => respond(StatusCode::OK, "taken"),
                n => {
                    let Some(id) = n.strip_prefix("echo/").and_then(|n| n.parse::<u32>().ok())
                    else {
                        return respond(StatusCode::NOT_FOUND, "no such app route");
                    };
                    let item = Item {
                        id,
                        value: -i64::from(id),
                    };
                    let reply = ctx.call(method("echo").id, item.pack().to_vec()).await;
                    respond(StatusCode::OK, reply_text(reply.status, &reply.body))
                }
            }
        }))
    }
}

fn serve(limits: Limits) -> (RunningServer, Arc<AtomicUsize>, Endpoint) {
    let asked = Arc::new(AtomicUsize::new(0));
    let server = Server::builder()
        .listen(Endpoint::tcp("127.0.0.1:0"))
        .serve(ServeLab::new(LabImpl {
            gauge: Gauge::new(),
        }))
        .http_routes(App {
            asked: Arc::clone(&asked),
        })
        .limits(limits)
        .bind()
        .expect("bind")
        .spawn()
        .expect("spawn");
    let endpoint = server.endpoints()[0].clone();
    (server, asked, endpoint)
}

fn open(endpoint: &Endpoint) -> TcpStream {
    let Endpoint::Tcp(addr) = endpoint else {
        panic!("tcp")
    };
    let stream = TcpStream::connect(addr.as_str()).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .expect("timeout");
    stream
}

#[test]
fn app_routes_come_first_and_fall_through_to_the_built_in_ones() {
    let (_server, asked, endpoint) = serve(Limits::default());
    let mut http = open(&endpoint);
    let echo = request(&mut http, "GET", "/app/echo/5", b"");
    assert_eq!(
        (echo.code, echo.text().as_str()),
        (200, "Item { id: 5, value: -5 }")
    );

    let health = request(&mut http, "GET", "/health", b"");
    assert_eq!((health.code, health.text().as_str()), (200, "ok\n"));
    assert_eq!(asked.load(Ordering::SeqCst), 2, "asked about both");

    let unknown = request(&mut http, "GET", "/app/unknown", b"");
    assert!(
        unknown.text().starts_with("unknown method: "),
        "{}",
        unknown.text()
    );

    let peer = request(&mut http, "GET", "/app/peer", b"");
    let local = http.local_addr().expect("local addr");
    assert_eq!(peer.text(), format!("{} true", Peer::Tcp(local)));
}

#[test]
fn head_responses_of_app_routes_keep_their_length_and_lose_their_body() {
    let (_server, _asked, endpoint) = serve(Limits::default());
    let mut http = open(&endpoint);
    http.write_all(
        b"HEAD /app/big HTTP/1.1\r\nHost: t\r\n\r\nGET /app/big HTTP/1.1\r\nHost: t\r\n\r\n",
    )
    .expect("write");
    let head = read_head(&mut http).expect("a reply");
    assert_eq!(head.code, 200);
    assert_eq!(head.header("content-length"), Some("1000"));
    let get = read_reply(&mut http);
    assert_eq!(get.body, vec![b'x'; 1000]);
}

#[test]
fn a_panicking_route_gets_500_and_the_connection_carries_on() {
    let (_server, _asked, endpoint) = serve(Limits::default());
    let mut http = open(&endpoint);
    assert_eq!(request(&mut http, "GET", "/app/panic", b"").code, 500);
    assert_eq!(request(&mut http, "GET", "/app/echo/1", b"").code, 200);
}

#[test]
fn the_body_limit_applies_before_an_app_route_is_asked() {
    let (_server, asked, endpoint) = serve(Limits {
        max_body: 64,
        ..Limits::default()
    });
    let mut http = open(&endpoint);
    assert_eq!(request(&mut http, "POST", "/app/sink", &[0; 64]).code, 200);
    assert_eq!(asked.load(Ordering::SeqCst), 1);
    let mut http = open(&endpoint);
    assert_eq!(request(&mut http, "POST", "/app/sink", &[0; 65]).code, 413);
    assert_eq!(
        asked.load(Ordering::SeqCst),
        1,
        "never asked about the large one"
    );
}
