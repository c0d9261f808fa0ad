//! Live capture from a network interface (cargo feature `live`, libpcap through the `pcap`
//! crate): a SPAN/mirror port.
//!
//! libpcap hands out each frame in its ring buffer, which the kernel reuses: every frame is
//! copied once into a chunk buffer. A chunk goes to the pipeline as one owned, shared segment
//! (the same shape as stdin's chunks), when it is full or when the capture goes quiet; chunks
//! come back to a pool once every worker is done with them, so the steady state allocates
//! nothing. SIGINT and SIGTERM set a flag the reading loop checks (at least every
//! [`READ_TIMEOUT_MS`]): the run then ends as at the end of a file, every open flow written
//! with `end_reason` `shutdown`. SIGHUP sets a flag the output checks when it flushes
//! (`crate::output::sink`): the output file is reopened (log rotation).
//!
//! [`drop_privileges`] gives up root once the interface (and the output) are open, before a
//! single packet is parsed.

use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{Frame, LinkType};

/// Bytes of frames gathered before a chunk is handed on.
pub const CHUNK_BYTES: usize = 1 << 20;
/// How long libpcap waits for packets before returning: the longest a quiet link delays the
/// last frames and the wall-clock checks (timeouts, signals).
pub const READ_TIMEOUT_MS: i32 = 100;
/// The longest a chunk gathers frames once it has one (and the ring runs dry): the latency a
/// busy link adds, against batches large enough that handing them on costs little.
pub const CHUNK_MAX_WAIT_MS: i32 = 10;
/// Kernel capture buffer (libpcap's default of 2 MiB drops bursts on a busy SPAN port).
pub const KERNEL_BUFFER_BYTES: i32 = 64 << 20;
/// How often the reader reads libpcap's counters (so their 32-bit wrap is never missed).
pub const STATS_POLL_MS: u64 = 1000;
/// Chunks kept for reuse.
const POOL_CHUNKS: usize = 64;

static STOP: AtomicBool = AtomicBool::new(false);
/// Set by SIGHUP, taken by the output sink when it next flushes.
pub static REOPEN: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

extern "C" fn on_hangup(_: libc::c_int) {
    REOPEN.store(true, Ordering::SeqCst);
}

/// Route SIGINT and SIGTERM to the stop flag, SIGHUP to the reopen flag.
pub fn install_stop_signals() {
    let stop = on_stop_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    let hup = on_hangup as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handlers only store to atomics, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, stop);
        libc::signal(libc::SIGTERM, stop);
        libc::signal(libc::SIGHUP, hup);
    }
}

/// Become user `name` (its uid, its primary gid, no supplementary groups) for good. Called
/// after the capture handle and the output are open: the descriptors stay usable, nothing new
/// can be opened as root. The error is one line.
pub fn drop_privileges(name: &str) -> Result<(), String> {
    let cname = std::ffi::CString::new(name).map_err(|_| format!("--user {name:?}: not a user name"))?;
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut res: *mut libc::passwd = std::ptr::null_mut();
    let mut buf = vec![0 as libc::c_char; PASSWD_BUFFER_BYTES];
    // SAFETY: every pointer is valid for the call; getpwnam_r writes into pw and buf only.
    let rc = unsafe { libc::getpwnam_r(cname.as_ptr(), &mut pw, buf.as_mut_ptr(), buf.len(), &mut res) };
    if rc != 0 || res.is_null() {
        return Err(format!("--user {name}: no such user"));
    }
    let (uid, gid) = (pw.pw_uid, pw.pw_gid);
    let fail = |what: &str| format!("--user {name}: {what}: {}", std::io::Error::last_os_error());
    // SAFETY: plain system calls on integers; the order matters (groups and gid need root).
    unsafe {
        if libc::setgroups(0, std::ptr::null()) != 0 {
            return Err(fail("setgroups"));
        }
        if libc::setgid(gid) != 0 {
            return Err(fail("setgid"));
        }
        if libc::setuid(uid) != 0 {
            return Err(fail("setuid"));
        }
        // root must be gone for good (setuid as root sets all three uids)
        if uid != 0 && (libc::setuid(0) == 0 || libc::geteuid() != uid) {
            return Err(format!("--user {name}: root could be regained"));
        }
    }
    Ok(())
}

/// Room for getpwnam_r's strings (the name, password, gecos, home and shell fields).
const PASSWD_BUFFER_BYTES: usize = 16 * 1024;

/// A stop signal arrived.
pub fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// What opening an interface takes.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    pub interface: String,
    pub bpf: Option<String>,
    pub snaplen: i32,
    pub promisc: bool,
}

/// Packet counts from libpcap (`pcap_stats`): received by the filter, dropped by the kernel
/// for lack of buffer, dropped by the interface or its driver.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LiveStats {
    pub received: u64,
    pub dropped: u64,
    pub if_dropped: u64,
    /// Not from libpcap: frames the reader dropped because the worker that owns them had a
    /// full queue (the workers fell behind).
    pub queue_dropped: u64,
}

impl LiveStats {
    /// Frames lost in all: by the kernel, the interface and the worker queues.
    pub fn lost(&self) -> u64 {
        self.dropped + self.if_dropped + self.queue_dropped
    }
}

/// Lost frames above this share (percent) of those that reached the capture draw a warning.
pub const DROP_WARN_PERCENT: f64 = 1.0;

/// What was lost between two readings of the counters, when it passes [`DROP_WARN_PERCENT`]
/// of the frames seen: "2.3% of frames lost (…)". On Linux libpcap's `received` counts the
/// frames the kernel then dropped (and those our queues dropped); the interface's drops come
/// on top.
pub fn drop_warning(prev: &LiveStats, cur: &LiveStats) -> Option<String> {
    let kernel = cur.dropped.saturating_sub(prev.dropped);
    let iface = cur.if_dropped.saturating_sub(prev.if_dropped);
    let queue = cur.queue_dropped.saturating_sub(prev.queue_dropped);
    let lost = kernel + iface + queue;
    if lost == 0 {
        return None;
    }
    let seen = cur.received.saturating_sub(prev.received) + iface;
    let pct = if seen == 0 {
        100.0
    } else {
        (lost as f64 * 100.0 / seen as f64).min(100.0)
    };
    (pct > DROP_WARN_PERCENT).then(|| {
        format!(
            "{pct:.2}% of frames lost ({kernel} by the kernel, {iface} by the interface, {queue} in full worker queues, of {seen} seen)"
        )
    })
}

/// One open interface.
pub struct LiveCapture {
    cap: pcap::Capture<pcap::Active>,
    link: LinkType,
    /// Frames gathered and not yet handed on: (time, offset, captured length, wire length).
    pending: Vec<u8>,
    frames: Vec<(u64, usize, u32, u32)>,
    pool: Vec<Arc<Vec<u8>>>,
    name: String,
    /// libpcap's 32-bit counters as last read, and the 64-bit totals (see [`LiveCapture::stats`]).
    last_raw: [u32; 3],
    totals: LiveStats,
}

impl LiveCapture {
    /// Open and activate the interface, and set the filter. The error is one line.
    pub fn open(c: &LiveConfig) -> Result<LiveCapture, String> {
        let fail = |e: pcap::Error| format!("{}: {e}", c.interface);
        let cap = pcap::Capture::from_device(c.interface.as_str())
            .map_err(fail)?
            .snaplen(c.snaplen)
            .promisc(c.promisc)
            .timeout(READ_TIMEOUT_MS)
            .buffer_size(KERNEL_BUFFER_BYTES)
            .immediate_mode(true)
            .open()
            .map_err(fail)?;
        // libpcap's read timeout does not fire on a quiet Linux interface (TPACKET_V3 retires
        // only blocks that hold packets): read without blocking and wait in poll() instead.
        let mut cap = cap.setnonblock().map_err(fail)?;
        if let Some(f) = &c.bpf {
            cap.filter(f, true)
                .map_err(|e| format!("{}: BPF filter {f:?}: {e}", c.interface))?;
        }
        let link = LinkType(cap.get_datalink().0 as u16);
        Ok(LiveCapture {
            cap,
            link,
            pending: Vec::with_capacity(CHUNK_BYTES),
            frames: Vec::new(),
            pool: Vec::new(),
            name: c.interface.clone(),
            last_raw: [0; 3],
            totals: LiveStats::default(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// libpcap's counts since the capture opened, in 64 bits. libpcap keeps them in 32-bit
    /// counters that wrap (after 4.3 billion packets: hours on a busy link); each call adds
    /// the wrapped difference since the last one, so calling this at least every few minutes
    /// (the reader does every [`STATS_POLL_MS`]) keeps the totals right.
    pub fn stats(&mut self) -> LiveStats {
        if let Ok(s) = self.cap.stats() {
            let raw = [s.received, s.dropped, s.if_dropped];
            let acc = [
                &mut self.totals.received,
                &mut self.totals.dropped,
                &mut self.totals.if_dropped,
            ];
            for ((a, r), last) in acc.into_iter().zip(raw).zip(self.last_raw.iter_mut()) {
                *a += r.wrapping_sub(*last) as u64;
                *last = r;
            }
        }
        self.totals
    }

    /// Read one batch: gather frames until the chunk is full, or the ring runs dry and the chunk
    /// is [`CHUNK_MAX_WAIT_MS`] old, or nothing comes for [`READ_TIMEOUT_MS`]. Returns
    /// the chunk to hand on (with [`LiveCapture::frames`]), or `None` when nothing arrived.
    pub fn next_chunk(&mut self) -> Result<Option<Arc<Vec<u8>>>, String> {
        let mut started: Option<std::time::Instant> = None;
        loop {
            if stop_requested() {
                break;
            }
            match self.cap.next_packet() {
                Ok(p) => {
                    if started.is_none() {
                        started = Some(std::time::Instant::now());
                    }
                    let ts = p.header.ts;
                    let ts_ns = (ts.tv_sec as u64).saturating_mul(1_000_000_000) + (ts.tv_usec as u64) * 1000;
                    let off = self.pending.len();
                    self.pending.extend_from_slice(p.data);
                    self.frames.push((ts_ns, off, p.data.len() as u32, p.header.len));
                    if self.pending.len() + 65_536 > CHUNK_BYTES {
                        break;
                    }
                }
                Err(pcap::Error::TimeoutExpired) => {
                    // the ring is empty: wait for the descriptor, a signal or the timeout;
                    // with frames gathered, only until the chunk is CHUNK_MAX_WAIT_MS old
                    // (handing on a chunk whenever the ring ran dry made batches of a few
                    // frames on a busy link, and the queues' overhead per batch dominated)
                    let wait = match started {
                        None => READ_TIMEOUT_MS,
                        Some(t) => match CHUNK_MAX_WAIT_MS.checked_sub(t.elapsed().as_millis() as i32) {
                            Some(ms) if ms > 0 => ms,
                            _ => break,
                        },
                    };
                    let mut fd = libc::pollfd {
                        fd: self.cap.as_raw_fd(),
                        events: libc::POLLIN,
                        revents: 0,
                    };
                    // SAFETY: one valid pollfd for the duration of the call.
                    let n = unsafe { libc::poll(&mut fd, 1, wait) };
                    if n <= 0 {
                        break;
                    }
                }
                Err(e) => return Err(format!("{}: {e}", self.name)),
            }
        }
        if self.frames.is_empty() {
            return Ok(None);
        }
        // a pooled chunk nobody holds any more takes the gathered bytes; its old buffer
        // becomes the next one to gather into
        let mut chunk = match self.pool.iter().position(|c| Arc::strong_count(c) == 1) {
            Some(i) => self.pool.swap_remove(i),
            None => Arc::new(Vec::with_capacity(CHUNK_BYTES)),
        };
        let buf = Arc::get_mut(&mut chunk).expect("held only by the pool");
        std::mem::swap(buf, &mut self.pending);
        self.pending.clear();
        if self.pool.len() < POOL_CHUNKS {
            self.pool.push(chunk.clone());
        }
        Ok(Some(chunk))
    }

    /// The frames of the chunk [`LiveCapture::next_chunk`] returned, in order: each with its
    /// offset in the chunk.
    pub fn frames<'c>(&mut self, chunk: &'c Arc<Vec<u8>>, mut f: impl FnMut(Frame<'c>, usize)) {
        for (ts_ns, off, len, orig) in self.frames.drain(..) {
            let data = &chunk[off..off + len as usize];
            f(
                Frame {
                    ts_ns,
                    link_type: self.link,
                    data,
                    orig_len: orig,
                },
                off,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(received: u64, dropped: u64, if_dropped: u64, queue_dropped: u64) -> LiveStats {
        LiveStats {
            received,
            dropped,
            if_dropped,
            queue_dropped,
        }
    }

    #[test]
    fn drop_warning_passes_one_percent_of_the_interval() {
        let base = at(1_000_000, 50_000, 0, 0);
        // 1% exactly is not over the line; 1.01% is
        assert_eq!(drop_warning(&base, &at(1_010_000, 50_100, 0, 0)), None);
        let w = drop_warning(&base, &at(1_010_000, 50_060, 0, 41)).expect("over 1%");
        assert_eq!(
            w,
            "1.01% of frames lost (60 by the kernel, 0 by the interface, 41 in full worker queues, of 10000 seen)"
        );
        // earlier losses do not count again: only the difference since the last reading
        assert_eq!(drop_warning(&base, &at(2_000_000, 50_000, 0, 0)), None);
        // interface drops are not among `received`
        let w = drop_warning(&base, &at(1_000_100, 50_000, 100, 0)).expect("half lost");
        assert!(w.starts_with("50.00% of frames lost"), "{w}");
        // frames lost while nothing was received: all of them
        assert!(
            drop_warning(&base, &at(1_000_000, 50_007, 0, 0))
                .unwrap()
                .starts_with("100.00%")
        );
        assert_eq!(drop_warning(&base, &base), None);
    }
}
