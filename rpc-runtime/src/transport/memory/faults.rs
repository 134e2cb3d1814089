//! Seeded faults for memory connections.

use super::DEFAULT_BUFFER;
use std::time::Duration;

/// Seeded misbehaviour for memory connections, for tests.
///
/// Every connection draws its faults from its own random generator, seeded from
/// [`Faults::seeded`]'s seed and the connection's number on its listener, so a seed replays
/// the same faults for the same sequence of reads and writes. The default has no faults.
///
/// # Examples
///
/// ```
/// use rpc_runtime::transport::memory::{Faults, MemoryStream};
/// use smol::io::{AsyncReadExt as _, AsyncWriteExt as _};
/// use std::time::Duration;
///
/// // Writes taken in pieces, delivered up to 2 ms late, read in pieces.
/// let faults = Faults::seeded(7).split(0.5).delay(0.5, Duration::from_millis(2));
/// let (mut a, mut b) = MemoryStream::pair_with(&faults);
/// smol::block_on(async {
///     a.write_all(b"hello, world").await?;
///     let mut got = [0; 12];
///     b.read_exact(&mut got).await?;
///     assert_eq!(&got, b"hello, world");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Faults {
    pub(super) seed: u64,
    pub(super) delay_chance: f64,
    pub(super) max_delay: Duration,
    pub(super) split_chance: f64,
    pub(super) reset_chance: f64,
    pub(super) buffer: usize,
}

impl Default for Faults {
    fn default() -> Self {
        Faults::seeded(0)
    }
}

impl Faults {
    /// No faults yet, with `seed` for those added.
    pub fn seeded(seed: u64) -> Faults {
        Faults {
            seed,
            delay_chance: 0.0,
            max_delay: Duration::ZERO,
            split_chance: 0.0,
            reset_chance: 0.0,
            buffer: DEFAULT_BUFFER,
        }
    }

    /// With probability `chance`, a write's bytes reach the reader after a random delay of
    /// up to `max`. Bytes still arrive in order: a later write never overtakes a delayed one.
    pub fn delay(mut self, chance: f64, max: Duration) -> Faults {
        self.delay_chance = chance.clamp(0.0, 1.0);
        self.max_delay = max;
        self
    }

    /// With probability `chance`, a write takes only a random prefix of what it is given,
    /// and (separately) a read returns only a random prefix of what has arrived.
    pub fn split(mut self, chance: f64) -> Faults {
        self.split_chance = chance.clamp(0.0, 1.0);
        self
    }

    /// With probability `chance` per write, the connection is reset instead: both ends get
    /// `ConnectionReset` from then on and whatever was in flight is lost.
    pub fn reset(mut self, chance: f64) -> Faults {
        self.reset_chance = chance.clamp(0.0, 1.0);
        self
    }

    /// Bytes each direction buffers before writers wait (at least 1). Small buffers make
    /// writers meet backpressure often.
    pub fn buffer(mut self, bytes: usize) -> Faults {
        self.buffer = bytes.max(1);
        self
    }

    /// The faults of connection number `n` in a sequence seeded with `self.seed`.
    pub(super) fn for_connection(&self, n: u64) -> [fastrand::Rng; 2] {
        let mut seeds = fastrand::Rng::with_seed(self.seed ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        [
            fastrand::Rng::with_seed(seeds.u64(..)),
            fastrand::Rng::with_seed(seeds.u64(..)),
        ]
    }
}
