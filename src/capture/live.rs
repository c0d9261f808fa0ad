//! Live capture from a network interface (cargo feature `live`, libpcap through the `pcap`
//! crate): a SPAN/mirror port.
//!
//! libpcap hands out each frame in its ring buffer, which the kernel reuses: every frame is
//! copied once into a chunk buffer. A chunk goes to the pipeline as one owned, shared segment
//! (the same shape as stdin's chunks), when it is full or when the capture goes quiet; chunks
//! come back to a pool once every worker is done with them, so the steady state allocates
//! nothing. SIGINT and SIGTERM set a flag the reading loop checks (at least every
//! [`READ_TIMEOUT_MS`]): the run then ends as at the end of a file, every open flow written
//! with `end_reason` `shutdown`.

use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{Frame, LinkType};

/// Bytes of frames gathered before a chunk is handed on.
pub const CHUNK_BYTES: usize = 1 << 20;
/// How long libpcap waits for packets before returning: the longest a quiet link delays the
/// last frames and the wall-clock checks (timeouts, signals).
pub const READ_TIMEOUT_MS: i32 = 100;
/// Kernel capture buffer (libpcap's default of 2 MiB drops bursts on a busy SPAN port).
pub const KERNEL_BUFFER_BYTES: i32 = 64 << 20;
/// Chunks kept for reuse.
const POOL_CHUNKS: usize = 64;

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// Route SIGINT and SIGTERM to the stop flag.
pub fn install_stop_signals() {
    let handler = on_stop_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
}

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
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn stats(&mut self) -> LiveStats {
        match self.cap.stats() {
            Ok(s) => LiveStats {
                received: s.received as u64,
                dropped: s.dropped as u64,
                if_dropped: s.if_dropped as u64,
            },
            Err(_) => LiveStats::default(),
        }
    }

    /// Read one batch: gather frames until the chunk is full or the read times out. Returns
    /// the chunk to hand on (with [`LiveCapture::frames`]), or `None` when nothing arrived.
    pub fn next_chunk(&mut self) -> Result<Option<Arc<Vec<u8>>>, String> {
        loop {
            if stop_requested() {
                break;
            }
            match self.cap.next_packet() {
                Ok(p) => {
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
                    if !self.frames.is_empty() {
                        break;
                    }
                    // nothing buffered: wait for the descriptor, a signal or the timeout
                    let mut fd = libc::pollfd {
                        fd: self.cap.as_raw_fd(),
                        events: libc::POLLIN,
                        revents: 0,
                    };
                    // SAFETY: one valid pollfd for the duration of the call.
                    let n = unsafe { libc::poll(&mut fd, 1, READ_TIMEOUT_MS) };
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
