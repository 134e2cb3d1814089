//! The process-wide registry of memory listeners, and the listeners themselves.

use super::{Faults, MemoryStream, Wakers};
use core::fmt;
use core::task::{Context, Poll, Waker};
use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, Weak};

/// How many connections may wait for `accept` before `connect` is refused.
const BACKLOG: usize = 1024;

/// What the registry knows about one name.
#[derive(Debug, Default)]
struct Name {
    listener: Weak<Backlog>,
    faults: Option<Faults>,
    /// Connections made to this name so far; numbers each connection's faults.
    connections: u64,
}

static REGISTRY: LazyLock<Mutex<HashMap<String, Name>>> = LazyLock::new(Mutex::default);

fn registry() -> MutexGuard<'static, HashMap<String, Name>> {
    // Every update leaves the map consistent, so a panic elsewhere cannot corrupt it.
    REGISTRY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Applies `faults` to every connection made to the memory listener `name` from now on,
/// whether or not it is bound yet. [`Faults::default`] turns them off again.
///
/// # Examples
///
/// ```
/// use rpc_runtime::transport::memory::{Faults, MemoryListener, MemoryStream, set_faults};
///
/// set_faults("faults-doc", Faults::seeded(1).reset(1.0));
/// let _listener = MemoryListener::bind("faults-doc")?;
/// let mut client = MemoryStream::connect("faults-doc")?;
/// // Every write resets the connection.
/// let err = smol::block_on(smol::io::AsyncWriteExt::write(&mut client, b"x")).unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn set_faults(name: &str, faults: Faults) {
    let mut names = registry();
    let entry = names.entry(name.to_owned()).or_default();
    entry.faults = (faults != Faults::default()).then_some(faults);
    if entry.faults.is_none() && entry.listener.strong_count() == 0 {
        names.remove(name);
    }
}

/// A listener bound to a name in this process; [`MemoryStream::connect`] reaches it.
///
/// Dropping it frees the name; connections not yet accepted are reset.
pub struct MemoryListener {
    name: String,
    backlog: Arc<Backlog>,
}

#[derive(Default)]
struct Backlog {
    state: Mutex<BacklogState>,
}

#[derive(Default)]
struct BacklogState {
    queue: VecDeque<MemoryStream>,
    wakers: Wakers,
}

impl Backlog {
    fn lock(&self) -> MutexGuard<'_, BacklogState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl fmt::Debug for MemoryListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryListener")
            .field("name", &self.name)
            .field("waiting", &self.backlog.lock().queue.len())
            .finish()
    }
}

impl MemoryListener {
    /// Binds `name`.
    ///
    /// # Errors
    ///
    /// `AddrInUse` when a live listener holds the name.
    pub fn bind(name: &str) -> io::Result<MemoryListener> {
        let mut names = registry();
        let entry = names.entry(name.to_owned()).or_default();
        if entry.listener.strong_count() > 0 {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!("memory://{name} is already bound"),
            ));
        }
        let backlog = Arc::new(Backlog::default());
        entry.listener = Arc::downgrade(&backlog);
        Ok(MemoryListener {
            name: name.to_owned(),
            backlog,
        })
    }

    /// The name this listener is bound to.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Waits for the next connection.
    ///
    /// # Errors
    ///
    /// None today; the signature matches the socket listeners'.
    pub async fn accept(&self) -> io::Result<MemoryStream> {
        std::future::poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Takes the next connection, or registers `cx` to be woken when one arrives.
    ///
    /// # Errors
    ///
    /// None today; the signature matches the socket listeners'.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<MemoryStream>> {
        let mut st = self.backlog.lock();
        match st.queue.pop_front() {
            Some(stream) => Poll::Ready(Ok(stream)),
            None => {
                let replaced = st.wakers.register(0, cx.waker());
                drop(st);
                drop(replaced);
                Poll::Pending
            }
        }
    }
}

impl Drop for MemoryListener {
    fn drop(&mut self) {
        {
            let mut names = registry();
            if let Some(entry) = names.get_mut(&self.name)
                && core::ptr::eq(entry.listener.as_ptr(), Arc::as_ptr(&self.backlog))
            {
                entry.listener = Weak::new();
                if entry.faults.is_none() {
                    names.remove(&self.name);
                }
            }
        }
        let waiting = std::mem::take(&mut self.backlog.lock().queue);
        for stream in waiting {
            stream.reset();
        }
    }
}

/// Connects to the listener bound to `name`: see [`MemoryStream::connect`].
pub(super) fn connect(name: &str) -> io::Result<MemoryStream> {
    let refused = || {
        io::Error::new(
            io::ErrorKind::ConnectionRefused,
            format!("nothing listens on memory://{name}"),
        )
    };
    let (backlog, faults, n) = {
        let mut names = registry();
        let entry = names.get_mut(name).ok_or_else(refused)?;
        let backlog = entry.listener.upgrade().ok_or_else(refused)?;
        entry.connections += 1;
        let faults = entry.faults.unwrap_or_default();
        (backlog, faults, entry.connections)
    };
    let (client, server) = MemoryStream::pair_numbered(&faults, n);
    let mut wake = Vec::new();
    {
        let mut st = backlog.lock();
        if st.queue.len() >= BACKLOG {
            return Err(refused());
        }
        st.queue.push_back(server);
        st.wakers.take_into(&mut wake);
    }
    wake.into_iter().for_each(Waker::wake);
    Ok(client)
}
