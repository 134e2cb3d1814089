//! `rpc ping`: round-trip times of `Ping` frames, summarised as `ping` does.

use crate::conn::Connection;
use crate::error::{Result, ToolError};
use rpc_runtime::frame::{FrameKind, Header};
use std::time::{Duration, Instant};

/// Sends one empty `Ping` and waits for its `Pong`.
///
/// # Errors
///
/// A connection failure, or [`ToolError::Refused`] when the server answers with an error.
pub fn once(conn: &mut Connection) -> Result<Duration> {
    let start = Instant::now();
    let (_, reply) = conn.round_trip(Header::new(FrameKind::Ping, 0), &[])?;
    let elapsed = start.elapsed();
    if reply.header.kind != FrameKind::Pong {
        return Err(ToolError::Refused {
            status: reply.header.status,
            message: String::from_utf8_lossy(&reply.body).into_owned(),
        });
    }
    Ok(elapsed)
}

/// Min, average, max and mean deviation of round trips, as `ping` prints them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Pings sent.
    pub sent: usize,
    /// Pongs received.
    pub received: usize,
    /// Fastest round trip.
    pub min: Duration,
    /// Mean round trip.
    pub avg: Duration,
    /// Slowest round trip.
    pub max: Duration,
    /// Mean absolute deviation from the mean.
    pub mdev: Duration,
}

impl Summary {
    /// Summarises `rtts` out of `sent` pings; `None` when none came back.
    pub fn new(sent: usize, rtts: &[Duration]) -> Option<Summary> {
        let min = *rtts.iter().min()?;
        let max = *rtts.iter().max()?;
        let n = u32::try_from(rtts.len()).ok()?;
        let avg = rtts.iter().sum::<Duration>() / n;
        let mdev = rtts.iter().map(|r| r.abs_diff(avg)).sum::<Duration>() / n;
        Some(Summary {
            sent,
            received: rtts.len(),
            min,
            avg,
            max,
            mdev,
        })
    }
}

impl core::fmt::Display for Summary {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let lost = (self.sent - self.received) * 100 / self.sent.max(1);
        writeln!(
            f,
            "{} pings sent, {} pongs received, {lost}% lost",
            self.sent, self.received
        )?;
        write!(
            f,
            "rtt min/avg/max/mdev = {:.3}/{:.3}/{:.3}/{:.3} ms",
            ms(self.min),
            ms(self.avg),
            ms(self.max),
            ms(self.mdev)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_is_min_avg_max_mdev() {
        let ms = Duration::from_millis;
        let s = Summary::new(4, &[ms(1), ms(3), ms(2)]).unwrap();
        assert_eq!((s.min, s.avg, s.max), (ms(1), ms(2), ms(3)));
        assert_eq!(s.mdev, Duration::from_nanos(666_666));
        assert!(
            s.to_string()
                .contains("4 pings sent, 3 pongs received, 25% lost")
        );
        assert_eq!(Summary::new(1, &[]), None);
    }
}
