//! The server under attack: a real `account-server` process on a fresh database in a temporary
//! directory, listening on a free loopback port with default limits, and a thread that samples
//! its memory from `/proc`.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long the server may take to start listening.
const START_WAIT: Duration = Duration::from_secs(60);
/// How many of the server's last log lines are kept for error reports.
const LOG_TAIL: usize = 20;
/// How often the sampler reads `/proc/PID/status`.
const SAMPLE_EVERY: Duration = Duration::from_millis(10);

/// A running `account-server`. Dropping it kills the process (SIGKILL), waits for it and
/// removes its directory.
#[derive(Debug)]
pub struct Server {
    child: Child,
    /// The TCP address it listens on.
    pub addr: SocketAddr,
    log: Arc<Mutex<VecDeque<String>>>,
    reader: Option<JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Starts `binary` on `DIR/accounts.db` and `tcp://127.0.0.1:0`, with every other setting
    /// at its default (no `ACCOUNT_*` variable is passed on), and waits until it listens.
    pub fn start(binary: &Path) -> Result<Server, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
        let mut command = Command::new(binary);
        command
            .current_dir(dir.path())
            .arg("--db")
            .arg(dir.path().join("accounts.db"))
            .args(["--listen", "tcp://127.0.0.1:0", "--log-level", "info"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (var, _) in std::env::vars_os() {
            if var.to_string_lossy().starts_with("ACCOUNT_") {
                command.env_remove(var);
            }
        }
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
        let Some(stderr) = child.stderr.take() else {
            let _ = child.kill();
            let _ = child.wait();
            return Err("no stderr pipe".into());
        };
        let log = Arc::new(Mutex::new(VecDeque::new()));
        let (tx, rx) = channel();
        let reader = {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if let Some((_, rest)) = line.split_once("listening endpoint=tcp://") {
                        let text = rest.split_whitespace().next().unwrap_or_default();
                        if let Ok(addr) = text.parse::<SocketAddr>() {
                            let _ = tx.send(addr);
                        }
                    }
                    let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
                    if log.len() == LOG_TAIL {
                        log.pop_front();
                    }
                    log.push_back(line);
                }
            })
        };
        let mut server = Server {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            log,
            reader: Some(reader),
            _dir: dir,
        };
        match rx.recv_timeout(START_WAIT) {
            Ok(addr) if addr.ip().is_loopback() => {
                server.addr = addr;
                Ok(server)
            }
            Ok(addr) => Err(format!("the server listens on {addr}, not on loopback")),
            Err(RecvTimeoutError::Timeout) => Err(format!(
                "the server did not listen within {START_WAIT:?}:\n{}",
                server.log_tail()
            )),
            Err(RecvTimeoutError::Disconnected) => Err(format!(
                "the server exited before listening:\n{}",
                server.log_tail()
            )),
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The last lines the server logged.
    pub fn log_tail(&self) -> String {
        let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        log.iter().map(|l| format!("  {l}\n")).collect()
    }

    /// The resident set size now, in KiB (0 once the process is gone).
    pub fn rss_kib(&self) -> u64 {
        status_kib(self.pid(), "VmRSS:").unwrap_or(0)
    }

    /// Waits until the server has used (almost) no CPU for a second, or `limit` has passed;
    /// returns how long it waited. "Almost": at most 2 clock ticks (20 ms) in that second, so
    /// that a timer or a checkpoint does not count as work.
    pub fn wait_idle(&mut self, limit: Duration) -> Duration {
        let started = Instant::now();
        let mut window = VecDeque::from([cpu_ticks(self.pid())]);
        while started.elapsed() < limit && self.alive() {
            std::thread::sleep(Duration::from_millis(250));
            window.push_back(cpu_ticks(self.pid()));
            if window.len() > 5 {
                window.pop_front();
            }
            if let (5, Some(first), Some(last)) = (window.len(), window.front(), window.back())
                && last.saturating_sub(*first) <= 2
            {
                break;
            }
        }
        started.elapsed()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

/// Field `key` (such as `VmRSS:`) of `/proc/PID/status`, in KiB.
fn status_kib(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// User + system CPU time of process `pid` in clock ticks, from `/proc/PID/stat`.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit_once(')')
        .map(|(_, rest)| {
            // utime and stime are fields 14 and 15; after the ')' they are the 12th and 13th.
            rest.split_whitespace()
                .skip(11)
                .take(2)
                .filter_map(|v| v.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0)
}

/// Samples a process's `VmRSS` every 10 ms on a thread and keeps the largest value since the
/// last [`Sampler::reset`].
#[derive(Debug)]
pub struct Sampler {
    pid: u32,
    max_kib: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    hwm_reset: bool,
    thread: Option<JoinHandle<()>>,
}

impl Sampler {
    /// Starts sampling process `pid`.
    pub fn start(pid: u32) -> Sampler {
        let max_kib = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (max_kib, stop) = (Arc::clone(&max_kib), Arc::clone(&stop));
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match status_kib(pid, "VmRSS:") {
                        Some(kib) => max_kib.fetch_max(kib, Ordering::Relaxed),
                        None => break,
                    };
                    std::thread::sleep(SAMPLE_EVERY);
                }
            })
        };
        Sampler {
            pid,
            max_kib,
            stop,
            hwm_reset: false,
            thread: Some(thread),
        }
    }

    /// Starts a new peak from the current RSS. Also resets the kernel's own peak (`VmHWM`)
    /// by writing 5 to `/proc/PID/clear_refs`, so that peaks shorter than a sample still
    /// count; where that is not allowed only the samples count.
    pub fn reset(&mut self) {
        self.hwm_reset = std::fs::write(format!("/proc/{}/clear_refs", self.pid), "5").is_ok();
        let now = status_kib(self.pid, "VmRSS:").unwrap_or(0);
        self.max_kib.store(now, Ordering::Relaxed);
    }

    /// The largest RSS since the last reset, in KiB, and whether the kernel's `VmHWM` backs it
    /// (`false`: 10 ms samples only).
    pub fn peak_kib(&self) -> (u64, bool) {
        let sampled = self.max_kib.load(Ordering::Relaxed);
        let hwm = if self.hwm_reset {
            status_kib(self.pid, "VmHWM:")
        } else {
            None
        };
        (sampled.max(hwm.unwrap_or(0)), hwm.is_some())
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
