//! Request bodies collected under the size limit, and the response body type.

use super::io::InFlight;
use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Why a request body could not be collected.
#[derive(Debug)]
pub(super) enum BodyError {
    /// It is longer than the limit (declared or found so).
    TooLarge,
    /// The rest of it did not arrive within the read timeout.
    TimedOut,
    /// The client broke the framing or the connection.
    Broken(hyper::Error),
}

/// Whether the body's declared length already exceeds `max`.
pub(super) fn declared_too_large(body: &Incoming, max: u32) -> bool {
    body.size_hint().lower() > u64::from(max)
}

/// Reads the whole body, growing the buffer only as bytes arrive: a declared length is never
/// trusted for an allocation.
pub(super) async fn collect(body: &mut Incoming, max: u32) -> Result<Vec<u8>, BodyError> {
    let max = max as usize;
    let mut out = Vec::new();
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx)).await {
        let frame = frame.map_err(BodyError::Broken)?;
        if let Ok(data) = frame.into_data() {
            if data.len() > max - out.len() {
                return Err(BodyError::TooLarge);
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(out)
}

/// A response body: all of it at once. It holds the request's [`InFlight`] mark, so the
/// connection counts the request as in flight until hyper has taken the body.
#[derive(Debug)]
pub(super) struct ReplyBody {
    data: Option<Bytes>,
    _in_flight: Option<InFlight>,
}

impl ReplyBody {
    pub(super) fn new(data: Vec<u8>, in_flight: Option<InFlight>) -> Self {
        ReplyBody {
            data: (!data.is_empty()).then(|| Bytes::from(data)),
            _in_flight: in_flight,
        }
    }
}

impl Body for ReplyBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.get_mut().data.take().map(|d| Ok(Frame::data(d))))
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.data.as_ref().map_or(0, |d| d.len() as u64))
    }
}
