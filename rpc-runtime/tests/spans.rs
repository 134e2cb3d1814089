//! The server's `tracing` spans: what a handler logs is inside a `call` span naming its
//! method and call id, whether the handler finishes on its first poll or waits and runs as a
//! task. Its own test binary, because it installs a process-wide subscriber.

use rpc_runtime::{BlockingClient, Server, Wire, service};
use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// A request naming what the handler logs.
#[derive(Wire, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Note {
    /// Distinguishes the calls' log lines.
    pub tag: u32,
}

/// The error (never returned).
#[derive(Wire, Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum NoteError {
    /// Unused.
    Never = 1,
}

/// Two handlers that log.
#[service]
pub trait Notes {
    /// Logs at once.
    async fn now(&self, note: Note) -> Result<(), NoteError>;
    /// Waits for a timer, then logs.
    async fn later(&self, note: Note) -> Result<(), NoteError>;
}

struct Logger;

impl Notes for Logger {
    async fn now(&self, note: Note) -> Result<(), NoteError> {
        tracing::info!(tag = note.tag, "handled");
        Ok(())
    }

    async fn later(&self, note: Note) -> Result<(), NoteError> {
        smol::Timer::after(std::time::Duration::from_millis(20)).await;
        tracing::info!(tag = note.tag, "handled");
        Ok(())
    }
}

/// A span as recorded: its name and fields.
#[derive(Debug, Clone, Default)]
struct SpanInfo {
    name: &'static str,
    fields: HashMap<&'static str, String>,
}

/// An event's `tag`, and the spans entered on its thread when it happened, outermost first.
#[derive(Debug, Clone)]
struct Seen {
    tag: Option<String>,
    stack: Vec<SpanInfo>,
}

/// Records every span and every event with the spans entered around it.
#[derive(Default)]
struct Recorder {
    next: AtomicU64,
    spans: Mutex<HashMap<u64, SpanInfo>>,
    events: Mutex<Vec<Seen>>,
}

std::thread_local! {
    static ENTERED: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
}

struct Fields<'a>(&'a mut HashMap<&'static str, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0.insert(field.name(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name(), value.to_owned());
    }
}

/// Implemented for the leaked recorder, so the test can still read it once it is installed.
impl Subscriber for &'static Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let mut info = SpanInfo {
            name: span.metadata().name(),
            ..SpanInfo::default()
        };
        span.record(&mut Fields(&mut info.fields));
        self.spans.lock().unwrap().insert(id, info);
        Id::from_u64(id)
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        if let Some(info) = self.spans.lock().unwrap().get_mut(&span.into_u64()) {
            values.record(&mut Fields(&mut info.fields));
        }
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut fields = HashMap::new();
        event.record(&mut Fields(&mut fields));
        let spans = self.spans.lock().unwrap();
        let stack = ENTERED.with(|e| {
            e.borrow()
                .iter()
                .filter_map(|id| spans.get(id).cloned())
                .collect()
        });
        self.events.lock().unwrap().push(Seen {
            tag: fields.remove("tag"),
            stack,
        });
    }

    fn enter(&self, span: &Id) {
        ENTERED.with(|e| e.borrow_mut().push(span.into_u64()));
    }

    fn exit(&self, span: &Id) {
        ENTERED.with(|e| {
            let mut e = e.borrow_mut();
            if let Some(at) = e.iter().rposition(|&id| id == span.into_u64()) {
                e.remove(at);
            }
        });
    }
}

static RECORDER: std::sync::OnceLock<&'static Recorder> = std::sync::OnceLock::new();

/// The span stack the handler's "handled" event with `tag` was logged in.
fn stack_of(tag: u32) -> Vec<SpanInfo> {
    let recorder = RECORDER.get().unwrap();
    let events = recorder.events.lock().unwrap();
    let seen = events
        .iter()
        .find(|s| s.tag.as_deref() == Some(tag.to_string().as_str()))
        .unwrap_or_else(|| panic!("no event with tag {tag} in {events:?}"));
    seen.stack.clone()
}

#[test]
fn handlers_log_inside_a_call_span() {
    let recorder: &'static Recorder = Box::leak(Box::default());
    RECORDER.set(recorder).ok();
    tracing::subscriber::set_global_default(recorder).unwrap();

    let server = Server::builder()
        .listen("memory://spans".parse().unwrap())
        .serve(ServeNotes::new(Logger))
        .workers(1)
        .bind()
        .unwrap()
        .spawn()
        .unwrap();
    let client = NotesBlockingClient::new(BlockingClient::new(server.endpoints()[0].clone()));
    client.now(Note { tag: 1 }).unwrap();
    client.later(Note { tag: 2 }).unwrap();
    server.stop();

    for (tag, method) in [(1, "now"), (2, "later")] {
        let stack = stack_of(tag);
        let call = stack
            .iter()
            .find(|s| s.name == "call")
            .unwrap_or_else(|| panic!("`{method}` logged outside a call span: {stack:?}"));
        assert_eq!(call.fields.get("method").map(String::as_str), Some(method));
        assert_eq!(
            call.fields.get("service").map(String::as_str),
            Some("Notes")
        );
        assert!(call.fields.contains_key("id"), "{call:?}");
    }
    // The handler that finished at once ran inside its connection's span too.
    assert!(stack_of(1).iter().any(|s| s.name == "connection"));
}
