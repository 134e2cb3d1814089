//! The web page (`/`, `/app.js`, `/app.css`, embedded in the binary) and the headers every
//! response of the REST layer carries.
//!
//! The security headers shut the doors the page does not use: only scripts, styles and
//! `fetch()` from the server's own origin (no inline code, so injected markup cannot run),
//! no framing (clickjacking), no MIME sniffing, no `Referer`. The page keeps its session
//! token in `sessionStorage` and sends it as `Authorization: Bearer`; there are no cookies,
//! so another site cannot make the browser act for the user (no CSRF).

use super::problem::{self, Problem};
use http::{HeaderValue, Method, Response, StatusCode, header};

const INDEX: &str = include_str!("page/index.html");
const SCRIPT: &str = include_str!("page/app.js");
const STYLE: &str = include_str!("page/app.css");

/// The Content-Security-Policy of every response.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// The page's files: path, media type, contents.
const FILES: [(&str, &str, &str); 3] = [
    ("/", "text/html; charset=utf-8", INDEX),
    ("/app.js", "text/javascript; charset=utf-8", SCRIPT),
    ("/app.css", "text/css; charset=utf-8", STYLE),
];

/// The page describing every problem type.
const PROBLEMS: &str = "/problems";

/// Whether `path` is one of the page's files (or the problem types' page).
pub(crate) fn is_page(path: &str) -> bool {
    path == PROBLEMS || FILES.iter().any(|(p, _, _)| *p == path)
}

/// Answers a request for one of the page's files; `None` for any other path.
pub(crate) fn serve(request: &http::Request<Vec<u8>>) -> Option<Response<Vec<u8>>> {
    let path = request.uri().path();
    let (media, body) = if path == PROBLEMS {
        (
            "text/html; charset=utf-8",
            problem::catalogue().into_bytes(),
        )
    } else {
        let (_, media, text) = FILES.iter().find(|(p, _, _)| *p == path)?;
        (*media, text.as_bytes().to_vec())
    };
    let method = request.method();
    if method != Method::GET && method != Method::HEAD {
        return Some(harden(
            Problem::method_not_allowed(method, "GET, HEAD").into_response(),
        ));
    }
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Some(harden(response))
}

/// A JSON response with `status` and `media` type.
pub(crate) fn json_response(
    status: StatusCode,
    media: &'static str,
    json: &serde_json::Value,
) -> Response<Vec<u8>> {
    let mut body = json.to_string().into_bytes();
    body.push(b'\n');
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    // Answers about money and sessions are never to be cached.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Adds the security headers to `response`.
pub(crate) fn harden(mut response: Response<Vec<u8>>) -> Response<Vec<u8>> {
    let headers = response.headers_mut();
    let fixed = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(path: &str) -> Option<Response<Vec<u8>>> {
        serve(&http::Request::get(path).body(Vec::new()).unwrap())
    }

    #[test]
    fn the_page_and_its_assets_are_served_with_strict_headers() {
        for (path, media) in [
            ("/", "text/html"),
            ("/problems", "text/html"),
            ("/app.js", "text/javascript"),
            ("/app.css", "text/css"),
        ] {
            let response = get(path).unwrap();
            assert_eq!(response.status(), 200);
            let headers = response.headers();
            assert!(
                headers[header::CONTENT_TYPE]
                    .to_str()
                    .unwrap()
                    .starts_with(media)
            );
            assert_eq!(
                headers[header::CONTENT_SECURITY_POLICY],
                CONTENT_SECURITY_POLICY
            );
            assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
            assert_eq!(headers[header::REFERRER_POLICY], "no-referrer");
            assert!(!response.body().is_empty());
        }
        assert!(get("/index.htm").is_none());
    }

    #[test]
    fn the_page_has_no_inline_code_and_no_third_party_origin() {
        // The CSP would block them; this keeps them from being written in the first place.
        assert!(!INDEX.contains("<script>") && !INDEX.contains("style="));
        assert!(!INDEX.contains("<style") && !has_event_attribute(INDEX));
        for text in [INDEX, SCRIPT, STYLE] {
            assert!(!text.contains("http://") && !text.contains("https://"));
        }
        // Data reaches the page as text, never as markup.
        assert!(!SCRIPT.contains("innerHTML") && !SCRIPT.contains("outerHTML"));
        assert!(!SCRIPT.contains("insertAdjacentHTML") && !SCRIPT.contains("document.write"));
        assert!(!SCRIPT.contains("eval(") && !SCRIPT.contains("localStorage"));
    }

    /// Whether `html` has an attribute such as ` onclick=`.
    fn has_event_attribute(html: &str) -> bool {
        html.match_indices(" on").any(|(at, _)| {
            let name: String = html[at + 3..]
                .chars()
                .take_while(char::is_ascii_lowercase)
                .collect();
            !name.is_empty() && html[at + 3 + name.len()..].starts_with('=')
        })
    }

    #[test]
    fn head_is_answered_like_get_and_other_methods_are_refused() {
        // The server sends only the head of it, with the body's length.
        let head = serve(&http::Request::head("/").body(Vec::new()).unwrap()).unwrap();
        assert_eq!(head.status(), 200);
        assert_eq!(head.body(), INDEX.as_bytes());
        let post = serve(&http::Request::post("/").body(Vec::new()).unwrap()).unwrap();
        assert_eq!(post.status(), 405);
        assert_eq!(post.headers()[header::ALLOW], "GET, HEAD");
    }
}
