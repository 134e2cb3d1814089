//! `Lab`, the service under test, and [`Gauge`], through which its handlers report what the
//! server does with them: when a call starts, finishes, or is dropped unfinished, and how many
//! run at once.

use rpc_runtime::{Wire, service};
use smol::channel::{Receiver, Sender, unbounded};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A record to echo and list.
#[derive(Wire, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Item {
    pub id: u32,
    pub value: i64,
}

/// Sleep for `ms` milliseconds; `tag` names the call in [`Event`]s and comes back in the reply.
#[derive(Wire, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nap {
    pub tag: u32,
    pub ms: u32,
}

/// How many items to list.
#[derive(Wire, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    pub n: u32,
}

/// The service's own errors.
#[derive(Wire, Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum LabError {
    /// `refuse` always answers this.
    Refused = 1,
    /// `list` was asked for more than [`MAX_LIST`] items.
    TooMany = 2,
}

/// A `nap` tag the gauge ignores: background naps that must not count as running handlers.
pub const QUIET: u32 = u32::MAX;

/// The most items `list` returns.
pub const MAX_LIST: u32 = 60_000;

/// One method per message shape the runtime supports.
#[service]
pub trait Lab {
    /// Returns the item unchanged.
    async fn echo(&self, item: Item) -> Result<Item, LabError>;
    /// Sleeps on a `smol::Timer`, then returns the request.
    async fn nap(&self, nap: Nap) -> Result<Nap, LabError>;
    /// Always fails with [`LabError::Refused`].
    async fn refuse(&self, item: Item) -> Result<Item, LabError>;
    /// Returns items `0..n`, with `value = 10 * id`. Read-only: HTTP serves it to `GET`.
    #[rpc(read_only)]
    async fn list(&self, count: Count) -> Result<Vec<Item>, LabError>;
    /// Takes and returns nothing; counts the call in [`Gauge::touched`].
    async fn touch(&self, unit: ()) -> Result<(), LabError>;
}

/// What a `nap` handler reports, by tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The handler was first polled.
    Started(u32),
    /// The handler ran to completion.
    Finished(u32),
    /// The handler's future was dropped before it completed: the call was cancelled.
    Dropped(u32),
}

/// Shared between a test and the server's handlers.
#[derive(Debug)]
pub struct Gauge {
    running: AtomicUsize,
    peak: AtomicUsize,
    touched: AtomicUsize,
    events: Sender<Event>,
    seen: Receiver<Event>,
}

impl Gauge {
    pub fn new() -> Arc<Gauge> {
        let (events, seen) = unbounded();
        Arc::new(Gauge {
            running: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            touched: AtomicUsize::new(0),
            events,
            seen,
        })
    }

    /// The most `nap` handlers that ever ran at once.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }

    /// How many `touch` calls ran.
    pub fn touched(&self) -> usize {
        self.touched.load(Ordering::SeqCst)
    }

    /// The next event.
    pub async fn event(&self) -> Event {
        self.seen.recv().await.expect("the gauge holds a sender")
    }

    /// The next event, or a panic naming `what` after `limit`.
    pub fn next_event(&self, limit: Duration, what: &str) -> Event {
        super::support::wait(limit, what, self.event())
    }

    /// Skips events until `wanted` arrives; panics after `limit`.
    pub fn wait_for(&self, wanted: Event, limit: Duration) {
        super::support::wait(limit, &format!("{wanted:?}"), async {
            loop {
                if self.event().await == wanted {
                    return;
                }
            }
        });
    }

    /// Waits until `n` handlers have started; returns their tags in order.
    pub fn wait_started(&self, n: usize, limit: Duration) -> Vec<u32> {
        super::support::wait(limit, &format!("{n} started handlers"), async {
            let mut started = Vec::new();
            while started.len() < n {
                if let Event::Started(tag) = self.event().await {
                    started.push(tag);
                }
            }
            started
        })
    }

    fn enter(&self, tag: u32) -> Running<'_> {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        let _ = self.events.try_send(Event::Started(tag));
        Running {
            gauge: self,
            tag,
            finished: false,
        }
    }
}

/// Held by a running `nap` handler; reports how it ended when dropped.
struct Running<'a> {
    gauge: &'a Gauge,
    tag: u32,
    finished: bool,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.gauge.running.fetch_sub(1, Ordering::SeqCst);
        let event = if self.finished {
            Event::Finished(self.tag)
        } else {
            Event::Dropped(self.tag)
        };
        let _ = self.gauge.events.try_send(event);
    }
}

/// The implementation the tests serve.
#[derive(Debug)]
pub struct LabImpl {
    pub gauge: Arc<Gauge>,
}

impl Lab for LabImpl {
    async fn echo(&self, item: Item) -> Result<Item, LabError> {
        Ok(item)
    }

    async fn nap(&self, nap: Nap) -> Result<Nap, LabError> {
        let mut running = (nap.tag != QUIET).then(|| self.gauge.enter(nap.tag));
        smol::Timer::after(Duration::from_millis(u64::from(nap.ms))).await;
        if let Some(running) = &mut running {
            running.finished = true;
        }
        Ok(nap)
    }

    async fn refuse(&self, _: Item) -> Result<Item, LabError> {
        Err(LabError::Refused)
    }

    async fn list(&self, count: Count) -> Result<Vec<Item>, LabError> {
        if count.n > MAX_LIST {
            return Err(LabError::TooMany);
        }
        Ok((0..count.n)
            .map(|id| Item {
                id,
                value: 10 * i64::from(id),
            })
            .collect())
    }

    async fn touch(&self, _: ()) -> Result<(), LabError> {
        self.gauge.touched.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}
