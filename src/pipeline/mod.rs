//! Layer 7 — pipeline: threads that wire capture → decode → flow → output.
//!
//! One reader (the calling thread) walks the inputs and hands each frame to the worker that
//! owns its flow, chosen by a symmetric hash of the frame's IP addresses
//! ([`decode::Sharder`]: the innermost packet's addresses for tunnelled traffic), in batches of frame references over bounded crossbeam channels:
//! a batch names byte ranges of the mapped file (or of a shared stdin chunk), so packet data
//! is never copied. Workers decode, reassemble and track flows; finished flow records go to
//! one writer thread. `--threads 1` runs the worker inline on the reader thread. The writer
//! closes each record with the classify stage, writes it as is or as an ECS event
//! ([`Config::format`], [`output::ecs`]), and feeds the run's human summary
//! ([`Outcome::summary`]).
//!
//! Determinism: every worker sweeps its idle flows at the same packet times ("ticks", one per
//! [`TICK_INTERVAL_NS`] of capture time, sent to all workers in band with the frames). The
//! writer collects each tick's records from every worker, sorts them by the flow's first frame
//! and writes them, so the output is the same whatever the number of workers — as long as the
//! flow cap is not reached (the cap is split between workers, so who gets evicted depends on it).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, bounded, unbounded};

use crate::capture::{Damage, Frame, Input, LinkType, MappedFile, OpenError, StreamReader};
use crate::classify::inventory::Inventory;
use crate::classify::{Catalog, Classifier, FlowFacts};
use crate::decode::defrag::DefragLimits;
use crate::decode::{self, Decap, L4, Reassembler};
use crate::flow::announce::Announcement;
use crate::flow::facts::Sighting;
use crate::flow::{EndReason, Flow, FlowConfig, FlowTable, PacketIn};
use crate::output::{self, Format, Stats, Summary, ecs, stats::PACKET_TIME_SAMPLE_EVERY};

/// Capture time between two sweeps of idle flows.
pub const TICK_INTERVAL_NS: u64 = 1_000_000_000;
/// Frames per batch sent to a worker.
pub const BATCH_FRAMES: usize = 512;
/// Batches queued per worker before the reader waits.
pub const QUEUE_BATCHES: usize = 16;
/// A worker asks for the headers of the frame this many ahead in its batch while it decodes
/// one (the first load of a frame's bytes was two thirds of `decode`'s time).
const PREFETCH_FRAMES_AHEAD: usize = 4;
/// Bytes of a frame's start prefetched: link, IP and TCP headers and the first payload bytes.
const PREFETCH_HEADER_BYTES: usize = 128;
/// Frames between the reader's looks at finished batches and at mapped pages it can release.
const HOUSEKEEPING_FRAMES: u64 = 256;
/// Messages (a tick's records from one worker) queued for the writer before workers wait.
pub const WRITER_QUEUE: usize = 64;
/// How far behind the slowest worker mapped pages are released from our resident set.
pub const RELEASE_STEP_BYTES: usize = 32 * 1024 * 1024;

/// What `exwatch read` was asked to do.
#[derive(Debug, Clone)]
pub struct Config {
    pub threads: usize,
    pub flow: FlowConfig,
    pub defrag: DefragLimits,
    /// The tunnel kinds the decoder removes (`--no-decap KIND` turns one off).
    pub decap: Decap,
    /// The data-path catalog the classify stage labels flows with.
    pub catalog: Arc<Catalog>,
    /// Native records or ECS events.
    pub format: Format,
    /// Gather the human summary of the run ([`Outcome::summary`]).
    pub summary: bool,
    /// The site's hosts and roles (`--inventory`).
    pub inventory: Option<Arc<Inventory>>,
    /// Hide user names in findings (`--redact-users`).
    pub redact_users: bool,
    /// Live capture: time between periodic `stats` records (`--stats-interval`; 0: only the
    /// one at exit).
    pub stats_interval_ns: u64,
}

impl Config {
    /// The classify stage this configuration asks for.
    fn classifier(&self) -> Classifier {
        let mut c = Classifier::new(self.catalog.clone(), self.inventory.clone());
        c.redact_users = self.redact_users;
        c.summary = if self.summary { Summary::new() } else { Summary::off() };
        c
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            threads: 1,
            flow: FlowConfig::default(),
            defrag: DefragLimits::default(),
            decap: Decap::ALL,
            catalog: Catalog::embedded(),
            inventory: None,
            redact_users: false,
            format: Format::Native,
            summary: true,
            stats_interval_ns: 0,
        }
    }
}

/// An input that opened and looks like a capture.
pub enum Opened {
    File(String, MappedFile),
    /// The reader is taken out when the run starts.
    Stream(String, Option<StreamReader<Box<dyn Read + Send>>>),
    /// A live interface (taken out when the run starts); the run ends on SIGINT/SIGTERM.
    #[cfg(feature = "live")]
    Live(String, Option<Box<crate::capture::live::LiveCapture>>),
}

impl Opened {
    pub fn open(input: &Input) -> Result<Opened, OpenError> {
        match input {
            Input::File(p) => Ok(Opened::File(input.name(), MappedFile::open(p)?)),
            Input::Stdin => {
                let src: Box<dyn Read + Send> = Box::new(std::io::stdin());
                Ok(Opened::Stream("-".into(), Some(StreamReader::open("<stdin>", src)?)))
            }
        }
    }
    pub fn name(&self) -> &str {
        match self {
            Opened::File(n, _) | Opened::Stream(n, _) => n,
            #[cfg(feature = "live")]
            Opened::Live(n, _) => n,
        }
    }
}

/// What a run produced besides its records.
#[derive(Debug)]
pub struct Outcome {
    pub stats: Stats,
    /// The input and place where reading stopped early.
    pub damage: Option<(String, Damage)>,
    /// Writing the output failed (a closed pipe ends the run quietly).
    pub write_error: Option<std::io::Error>,
    /// The human summary ([`Summary::off`] when [`Config::summary`] is false).
    pub summary: Summary,
}

/// The records one worker finished since its last tick, as open records in one buffer (a flow
/// record is formatted in place: no allocation per record), and the announcements its flows
/// made. The flow's first frame orders a record within its tick; the classify stage closes it.
#[derive(Default)]
struct Records {
    buf: Vec<u8>,
    index: Vec<RecordRef>,
    announcements: Vec<Announcement>,
    /// Open flows whose facts gained a notable bit (the classify stage raises findings now).
    sightings: Vec<Sighting>,
    /// The worker's counters at this tick, when a periodic `stats` record is due.
    snapshot: Option<Box<Stats>>,
}

/// One open record in [`Records::buf`].
struct RecordRef {
    key: u64,
    start: usize,
    end: usize,
    facts: FlowFacts,
    /// An interim record of a flow still open.
    interim: bool,
}

impl Records {
    fn clear(&mut self) {
        self.buf.clear();
        self.index.clear();
        self.announcements.clear();
        self.sightings.clear();
        self.snapshot = None;
    }
}

/// Decode, flow tracking and record formatting for the frames of one shard.
struct Worker {
    table: FlowTable,
    /// IP fragments, on two levels (in a frame, and inside a reassembled tunnel packet).
    reasm: Reassembler,
    /// The tunnel kinds removed (`--no-decap`).
    decap: Decap,
    stats: Stats,
    out: Records,
    /// Written records handed back for reuse (inline mode), so a tick allocates nothing.
    spare: Option<Records>,
}

fn emit<'a>(out: &'a mut Records, apps: &'a mut crate::output::stats::AppCounts) -> impl FnMut(Flow, EndReason) + 'a {
    |f: Flow, reason: EndReason| {
        apps.count(&f.app);
        out.push(&f, Some(reason));
    }
}

impl Records {
    /// Format a flow record (final, or interim when `reason` is `None`) and index it.
    fn push(&mut self, f: &Flow, reason: Option<EndReason>) {
        let start = self.buf.len();
        output::write_flow(&mut self.buf, f, reason);
        self.index.push(RecordRef {
            key: f.first_idx,
            start,
            end: self.buf.len(),
            facts: crate::flow::facts::flow_facts(f),
            interim: reason.is_none(),
        });
    }
}

impl Worker {
    fn new(cfg: &Config, share: usize) -> Worker {
        let mut flow = cfg.flow;
        flow.max_flows = cfg.flow.max_flows.div_ceil(share).max(1);
        flow.reassembly.max_ooo_bytes_global = cfg.flow.reassembly.max_ooo_bytes_global.div_ceil(share);
        let mut defrag = cfg.defrag;
        defrag.max_bytes = cfg.defrag.max_bytes.div_ceil(share);
        defrag.max_datagrams = cfg.defrag.max_datagrams.div_ceil(share).max(1);
        Worker {
            table: FlowTable::new(flow),
            reasm: Reassembler::new(defrag, cfg.decap),
            decap: cfg.decap,
            stats: Stats::default(),
            out: Records::default(),
            spare: None,
        }
    }

    fn frame(&mut self, idx: u64, fr: &Frame<'_>) {
        let st = &mut self.stats;
        st.frames += 1;
        st.bytes += fr.orig_len as u64;
        if st.first_ts_ns.is_none() {
            st.first_ts_ns = Some(fr.ts_ns);
        }
        st.last_ts_ns = Some(st.last_ts_ns.map_or(fr.ts_ns, |t| t.max(fr.ts_ns)));
        let timed = idx.is_multiple_of(PACKET_TIME_SAMPLE_EVERY);
        let t0 = if timed { Some(Instant::now()) } else { None };

        match decode::decode_with(fr, self.decap) {
            Err(e) => st.decode_error(e),
            Ok(meta) => {
                st.decapsulated(meta.tunnels.as_slice());
                match meta.l4 {
                    L4::Fragment(frag) => {
                        st.fragments += 1;
                        let r = self.reasm.fragment(&meta, frag, fr.ts_ns, fr.orig_len);
                        st.fragments_reassembled += r.completed as u64;
                        st.fragments_dropped += r.dropped as u64;
                        match r.packet {
                            None => {}
                            Some(Err(e)) => st.decode_error(e),
                            Some(Ok((m, frames, wire_bytes))) => {
                                // the layers the reassembled datagram revealed
                                st.decapsulated(&m.tunnels.as_slice()[meta.tunnels.len()..]);
                                match m.l4 {
                                    L4::Other | L4::Fragment(_) => st.other_ip_packets += 1,
                                    l4 => {
                                        let p = PacketIn {
                                            idx,
                                            ts_ns: fr.ts_ns,
                                            frames,
                                            wire_bytes,
                                            fragmented: true,
                                            meta: &m,
                                            l4,
                                        };
                                        self.table.packet(&p, &mut emit(&mut self.out, &mut self.stats.apps));
                                    }
                                }
                            }
                        }
                    }
                    L4::Other => st.other_ip_packets += 1,
                    l4 => {
                        let p = PacketIn {
                            idx,
                            ts_ns: fr.ts_ns,
                            frames: 1,
                            wire_bytes: fr.orig_len as u64,
                            fragmented: false,
                            meta: &meta,
                            l4,
                        };
                        self.table.packet(&p, &mut emit(&mut self.out, &mut self.stats.apps));
                    }
                }
            }
        }
        if let Some(t0) = t0 {
            let ns = t0.elapsed().as_nanos() as u64;
            self.stats.record_packet_time(ns);
        }
    }

    /// Sweep idle flows and stale fragments at capture time `now`, write the interim records
    /// due, and (`snapshot`) take the counters for a periodic `stats` record; returns the
    /// tick's records.
    fn tick(&mut self, now_ns: u64, snapshot: bool) -> Records {
        self.table.sweep(now_ns, &mut emit(&mut self.out, &mut self.stats.apps));
        let out = &mut self.out;
        self.table.updates_due(now_ns, &mut |f| out.push(f, None));
        self.stats.fragments_timed_out += self.reasm.expire(now_ns) as u64;
        if snapshot {
            self.out.snapshot = Some(Box::new(self.snapshot()));
        }
        self.table.take_announcements(&mut self.out.announcements);
        self.table.take_sightings(&mut self.out.sightings);
        let next = self.spare.take().unwrap_or_default();
        std::mem::replace(&mut self.out, next)
    }

    /// The counters so far, with the gauges of this moment.
    fn snapshot(&self) -> Stats {
        let mut s = self.stats.clone();
        s.flows = self.table.counters.clone();
        s.active_flows = self.table.len() as u64;
        s.reassembly_held_bytes = self.table.reassembly_held_bytes() as u64;
        s.fragment_held_bytes = self.reasm.stats().held_bytes as u64;
        s
    }

    /// Give back a tick's records once written.
    fn recycle(&mut self, mut r: Records) {
        r.clear();
        self.spare = Some(r);
    }

    /// End of input (or of a live capture): every flow is written.
    fn finish(&mut self, reason: EndReason) -> Records {
        self.table.flush(reason, &mut emit(&mut self.out, &mut self.stats.apps));
        self.table.take_announcements(&mut self.out.announcements);
        self.table.take_sightings(&mut self.out.sightings);
        self.stats.flows = self.table.counters.clone();
        std::mem::take(&mut self.out)
    }
}

/// Decides when the capture clock has moved a tick.
struct Clock {
    next_tick: Option<u64>,
    last_ts: u64,
}

impl Clock {
    /// The frame's time (a frame without one, a pcapng SPB, takes the last known time), and
    /// whether a tick falls before it.
    fn advance(&mut self, ts: u64) -> (u64, Option<u64>) {
        let ts = if ts == 0 { self.last_ts } else { ts };
        self.last_ts = self.last_ts.max(ts);
        match self.next_tick {
            None => {
                self.next_tick = Some(ts.saturating_add(TICK_INTERVAL_NS));
                (ts, None)
            }
            Some(t) if ts >= t => {
                self.next_tick = Some(ts.saturating_add(TICK_INTERVAL_NS));
                (ts, Some(ts))
            }
            Some(_) => (ts, None),
        }
    }
}

/// The writer stage: classifies and writes each tick's records.
struct Writer<'o> {
    out: &'o mut dyn Write,
    /// Flush after every tick (a live capture: a SIEM tailing the file sees each second's
    /// records within the second).
    flush_ticks: bool,
    classify: Classifier,
    format: Format,
    /// The classification fields of the record being written.
    tail: Vec<u8>,
    /// Finding and role records the classify stage raised, written before the flow's record.
    events: Vec<u8>,
    /// `--format ecs`: the whole native line, and its translation.
    line: Vec<u8>,
    ecs: Vec<u8>,
    err: Option<std::io::Error>,
    /// The inputs' names, for periodic `stats` records.
    names: Vec<String>,
    /// libpcap's counts as the reader last passed them on, and as of the last periodic record
    /// (the drop-rate warning looks at the difference).
    #[cfg(feature = "live")]
    live: Option<crate::capture::live::LiveStats>,
    #[cfg(feature = "live")]
    live_warned_at: crate::capture::live::LiveStats,
}

impl<'o> Writer<'o> {
    fn new(out: &'o mut dyn Write, flush_ticks: bool, cfg: &Config, names: Vec<String>) -> Self {
        Writer {
            out,
            flush_ticks,
            classify: cfg.classifier(),
            format: cfg.format,
            tail: Vec::new(),
            line: Vec::new(),
            ecs: Vec::new(),
            events: Vec::new(),
            err: None,
            names,
            #[cfg(feature = "live")]
            live: None,
            #[cfg(feature = "live")]
            live_warned_at: Default::default(),
        }
    }

    /// A periodic `stats` record from the workers' snapshots of one tick, the classify
    /// stage's counts and libpcap's; warns on stderr when more than
    /// [`crate::capture::live::DROP_WARN_PERCENT`] of the frames since the last one were lost.
    fn periodic_stats(&mut self, recs: &mut [Records]) {
        let mut st = Stats::default();
        for r in recs.iter_mut() {
            if let Some(s) = r.snapshot.take() {
                st.merge(&s);
            }
        }
        self.classify.fill_stats(&mut st);
        #[cfg(feature = "live")]
        if let Some(l) = self.live {
            st.live = Some(l);
            if let Some(w) = crate::capture::live::drop_warning(&self.live_warned_at, &l) {
                let name = self.names.first().map_or("", String::as_str);
                eprintln!("exwatch: warning: {name}: {w} since the last stats record");
            }
            self.live_warned_at = l;
        }
        self.line.clear();
        st.write(&mut self.line, &self.names, None, false);
        self.line.push(b'\n');
        if self.format == Format::Ecs {
            self.ecs.clear();
            ecs::translate_lines(&self.line, &mut self.ecs);
            std::mem::swap(&mut self.line, &mut self.ecs);
        }
        if self.err.is_none()
            && let Err(e) = self.out.write_all(&self.line)
        {
            self.err = Some(e);
        }
    }

    /// One tick of every worker: first every announcement the tick made (by time, then by
    /// announcing flow), then the finished flows in the order they began, each closed by the
    /// classify stage.
    fn tick(&mut self, recs: &mut [Records]) {
        let mut ann: Vec<Announcement> = recs.iter_mut().flat_map(|r| r.announcements.drain(..)).collect();
        ann.sort_by_key(|a| (a.ts_ns, a.by_idx));
        for a in ann {
            self.events.clear();
            self.classify.announce(a, &mut self.events);
            self.write_events();
        }
        // sightings of open flows: findings raised as soon as their evidence shows
        let mut seen: Vec<(u64, u64, usize, usize)> = recs
            .iter()
            .enumerate()
            .flat_map(|(w, r)| {
                r.sightings
                    .iter()
                    .enumerate()
                    .map(move |(i, s)| (s.ts_ns, s.flow.ends.first_idx, w, i))
            })
            .collect();
        seen.sort_unstable_by_key(|s| (s.0, s.1));
        for (_, _, w, i) in seen {
            self.events.clear();
            self.classify.sighting(&recs[w].sightings[i], &mut self.events);
            self.write_events();
        }
        let mut order: Vec<(u64, usize, usize)> = recs
            .iter()
            .enumerate()
            .flat_map(|(w, r)| r.index.iter().enumerate().map(move |(i, x)| (x.key, w, i)))
            .collect();
        order.sort_unstable_by_key(|r| r.0);
        for (_, w, i) in order {
            let r = &recs[w].index[i];
            self.tail.clear();
            self.events.clear();
            self.classify
                .finish_record(&r.facts, &mut self.tail, &mut self.events, r.interim);
            self.tail.push(b'\n');
            self.write_events();
            if self.err.is_none() {
                let body = &recs[w].buf[r.start..r.end];
                let res = match self.format {
                    Format::Native => self.out.write_all(body).and_then(|_| self.out.write_all(&self.tail)),
                    Format::Ecs => {
                        self.line.clear();
                        self.line.extend_from_slice(body);
                        self.line.extend_from_slice(&self.tail);
                        self.ecs.clear();
                        ecs::translate_lines(&self.line, &mut self.ecs);
                        self.out.write_all(&self.ecs)
                    }
                };
                if let Err(e) = res {
                    self.err = Some(e);
                }
            }
        }
        if recs.iter().any(|r| r.snapshot.is_some()) {
            self.periodic_stats(recs);
        }
        if self.flush_ticks
            && self.err.is_none()
            && let Err(e) = self.out.flush()
        {
            self.err = Some(e);
        }
    }
}

impl Writer<'_> {
    /// Write the finding and role records the classify stage raised (translated for ECS).
    fn write_events(&mut self) {
        if self.err.is_some() || self.events.is_empty() {
            return;
        }
        let res = match self.format {
            Format::Native => self.out.write_all(&self.events),
            Format::Ecs => {
                self.ecs.clear();
                ecs::translate_lines(&self.events, &mut self.ecs);
                self.out.write_all(&self.ecs)
            }
        };
        if let Err(e) = res {
            self.err = Some(e);
        }
    }
}

/// Read every input in order as one stream of frames and write the records to `out`.
pub fn run(inputs: Vec<Opened>, cfg: &Config, out: &mut (dyn Write + Send)) -> Outcome {
    let names: Vec<String> = inputs.iter().map(|i| i.name().to_string()).collect();
    let mut outcome = if cfg.threads <= 1 {
        run_inline(inputs, cfg, out, names.clone())
    } else {
        run_threaded(inputs, cfg, out, names.clone())
    };
    if outcome.write_error.is_none() {
        let mut line = Vec::new();
        let dmg = outcome.damage.as_ref().map(|(n, d)| (n.as_str(), d));
        outcome.stats.write(&mut line, &names, dmg, true);
        line.push(b'\n');
        if cfg.format == Format::Ecs {
            let native = std::mem::take(&mut line);
            ecs::translate_lines(&native, &mut line);
        }
        if let Err(e) = out.write_all(&line).and_then(|_| out.flush()) {
            outcome.write_error = Some(e);
        }
    }
    let st = &outcome.stats;
    outcome.summary.capture(st.frames, st.first_ts_ns, st.last_ts_ns);
    outcome
}

/// Calls `f(segment, frame, offset)` for every frame of every input; stops at the first damage.
/// What the reading loop hands the run: a frame, or (live capture) a quiet spell.
enum Event<'a, 'f> {
    Frame(Seg<'a>, Frame<'f>, usize),
    /// Nothing arrived for a while: the wall-clock time now (timeouts still run).
    #[cfg_attr(not(feature = "live"), allow(dead_code))]
    Idle(u64),
    /// A periodic `stats` record is due (`--stats-interval`), with libpcap's counts now.
    #[cfg(feature = "live")]
    Stats(crate::capture::live::LiveStats),
}

/// How reading ended, beyond the frames.
#[derive(Default)]
struct ReadEnd {
    damage: Option<(String, Damage)>,
    /// A live capture ended (on a signal): flows end as `shutdown`.
    live: bool,
    #[cfg(feature = "live")]
    live_stats: Option<crate::capture::live::LiveStats>,
}

impl ReadEnd {
    /// Why the flows still open are written.
    fn reason(&self) -> EndReason {
        if self.live {
            EndReason::Shutdown
        } else {
            EndReason::EndOfInput
        }
    }

    /// The capture's own counts (and the frames the reader dropped for full worker queues),
    /// into the stats record.
    fn fill(&self, _stats: &mut Stats, _queue_dropped: u64) {
        #[cfg(feature = "live")]
        if let Some(mut l) = self.live_stats {
            l.queue_dropped = _queue_dropped;
            _stats.live = Some(l);
        }
    }
}

fn read_inputs<'a>(
    inputs: &'a [Opened],
    streams: Vec<StreamReader<Box<dyn Read + Send>>>,
    mut f: impl FnMut(Event<'a, '_>),
) -> ReadEnd {
    let mut streams = streams.into_iter();
    let mut progress = Progress::new();
    let mut end = ReadEnd::default();
    for inp in inputs {
        let name = inp.name();
        let res = match inp {
            Opened::File(_, m) => m.for_each(|fr, off| {
                progress.frame(name, Some((off, m.bytes().len())));
                f(Event::Frame(Seg::Mapped(m), fr, off))
            }),
            Opened::Stream(..) => match streams.next() {
                Some(s) => s.for_each(|chunk, fr, off| {
                    progress.frame(name, None);
                    f(Event::Frame(Seg::Owned(chunk.clone()), fr, off))
                }),
                None => Ok(()),
            },
            #[cfg(feature = "live")]
            Opened::Live(..) => Ok(()),
        };
        if let Err(d) = res {
            end.damage = Some((name.to_string(), d));
            break;
        }
    }
    progress.clear();
    end
}

/// The live capture taken out of the inputs for the run (nothing without the `live` feature).
#[cfg(feature = "live")]
type LiveSource = Option<Box<crate::capture::live::LiveCapture>>;
/// Without the `live` feature there is never a live capture.
#[cfg(not(feature = "live"))]
struct LiveSource;

#[cfg(feature = "live")]
fn take_live(inputs: &mut [Opened]) -> LiveSource {
    inputs.iter_mut().find_map(|i| match i {
        Opened::Live(_, c) => c.take(),
        _ => None,
    })
}
#[cfg(not(feature = "live"))]
fn take_live(_: &mut [Opened]) -> LiveSource {
    LiveSource
}

#[cfg(feature = "live")]
fn is_live(l: &LiveSource) -> bool {
    l.is_some()
}
#[cfg(not(feature = "live"))]
fn is_live(_: &LiveSource) -> bool {
    false
}

/// Read the files and streams, or the live interface.
fn read_all<'a>(
    inputs: &'a [Opened],
    streams: Vec<StreamReader<Box<dyn Read + Send>>>,
    #[cfg_attr(not(feature = "live"), allow(unused_variables))] live: LiveSource,
    #[cfg_attr(not(feature = "live"), allow(unused_variables))] stats_interval_ns: u64,
    f: impl FnMut(Event<'a, '_>),
) -> ReadEnd {
    #[cfg(feature = "live")]
    if let Some(mut cap) = live {
        return read_live(&mut cap, stats_interval_ns, f);
    }
    read_inputs(inputs, streams, f)
}

/// Read a live interface until a stop signal (or a capture error); every `stats_interval_ns`
/// of wall-clock time (0: never) a periodic `stats` record is asked for.
#[cfg(feature = "live")]
fn read_live<'a>(
    cap: &mut crate::capture::live::LiveCapture,
    stats_interval_ns: u64,
    mut f: impl FnMut(Event<'a, '_>),
) -> ReadEnd {
    use crate::capture::live;
    let mut end = ReadEnd {
        live: true,
        ..ReadEnd::default()
    };
    let started = Instant::now();
    let mut polled = started;
    let mut next_stats = stats_interval_ns;
    while !live::stop_requested() {
        match cap.next_chunk() {
            Ok(Some(chunk)) => cap.frames(&chunk, |fr, off| f(Event::Frame(Seg::Owned(chunk.clone()), fr, off))),
            Ok(None) => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as u64);
                f(Event::Idle(now));
            }
            Err(e) => {
                end.damage = Some((cap.name().to_string(), Damage { offset: 0, reason: e }));
                break;
            }
        }
        // libpcap's counters are read often (their 32-bit wrap), a record made less often
        if polled.elapsed().as_millis() as u64 >= live::STATS_POLL_MS {
            polled = Instant::now();
            let counts = cap.stats();
            let elapsed = started.elapsed().as_nanos() as u64;
            if stats_interval_ns > 0 && elapsed >= next_stats {
                while next_stats <= elapsed {
                    next_stats = next_stats.saturating_add(stats_interval_ns);
                }
                f(Event::Stats(counts));
            }
        }
    }
    end.live_stats = Some(cap.stats());
    end
}

/// Frames between two looks at the clock for the progress line.
const PROGRESS_CHECK_EVERY: u64 = 1 << 16;

/// A progress line on stderr, only when stderr is a terminal (quiet in pipes and files).
struct Progress {
    on: bool,
    frames: u64,
    shown: bool,
    last: Instant,
}

impl Progress {
    fn new() -> Progress {
        use std::io::IsTerminal;
        Progress {
            on: std::io::stderr().is_terminal(),
            frames: 0,
            shown: false,
            last: Instant::now(),
        }
    }

    #[inline]
    fn frame(&mut self, name: &str, at: Option<(usize, usize)>) {
        self.frames += 1;
        if !self.on || !self.frames.is_multiple_of(PROGRESS_CHECK_EVERY) || self.last.elapsed().as_secs() < 1 {
            return;
        }
        self.last = Instant::now();
        self.shown = true;
        match at {
            Some((off, len)) => {
                let pct = off as f64 * 100.0 / len.max(1) as f64;
                eprint!("\rexwatch: {name}: {} frames, {pct:.0}%\x1b[K", self.frames)
            }
            None => eprint!("\rexwatch: {name}: {} frames\x1b[K", self.frames),
        }
    }

    fn clear(&self) {
        if self.shown {
            eprint!("\r\x1b[K");
        }
    }
}

/// Split stdin readers out of the inputs (they are consumed by reading).
fn take_streams(inputs: &mut [Opened]) -> Vec<StreamReader<Box<dyn Read + Send>>> {
    inputs
        .iter_mut()
        .filter_map(|i| match i {
            Opened::Stream(_, s) => s.take(),
            _ => None,
        })
        .collect()
}

fn run_inline(mut inputs: Vec<Opened>, cfg: &Config, out: &mut dyn Write, names: Vec<String>) -> Outcome {
    let streams = take_streams(&mut inputs);
    let live = take_live(&mut inputs);
    let mut w = Worker::new(cfg, 1);
    let mut clock = Clock {
        next_tick: None,
        last_ts: 0,
    };
    let mut idx = 0u64;
    let mut writer = Writer::new(out, is_live(&live), cfg, names);
    let mut released = 0usize;
    let end = read_all(&inputs, streams, live, cfg.stats_interval_ns, |ev| {
        let (seg, mut fr, off) = match ev {
            Event::Frame(seg, fr, off) => (seg, fr, off),
            Event::Idle(now) => {
                if let (_, Some(now)) = clock.advance(now) {
                    let mut recs = w.tick(now, false);
                    writer.tick(std::slice::from_mut(&mut recs));
                    w.recycle(recs);
                }
                return;
            }
            #[cfg(feature = "live")]
            Event::Stats(counts) => {
                writer.live = Some(counts);
                let mut recs = w.tick(clock.last_ts, true);
                writer.tick(std::slice::from_mut(&mut recs));
                w.recycle(recs);
                return;
            }
        };
        idx += 1;
        let (ts, tick) = clock.advance(fr.ts_ns);
        fr.ts_ns = ts;
        if let Some(now) = tick {
            let mut recs = w.tick(now, false);
            writer.tick(std::slice::from_mut(&mut recs));
            w.recycle(recs);
        }
        w.frame(idx, &fr);
        if let Seg::Mapped(m) = seg
            && off >= released + 2 * RELEASE_STEP_BYTES
        {
            m.release(released, off - RELEASE_STEP_BYTES);
            released = off - RELEASE_STEP_BYTES;
        }
    });
    let mut recs = w.finish(end.reason());
    writer.tick(std::slice::from_mut(&mut recs));
    let mut stats = w.stats;
    writer.classify.fill_stats(&mut stats);
    end.fill(&mut stats, 0);
    Outcome {
        stats,
        damage: end.damage,
        write_error: writer.err,
        summary: std::mem::take(&mut writer.classify.summary),
    }
}

/// Where a batch's frames live.
#[derive(Clone)]
enum Seg<'a> {
    Mapped(&'a MappedFile),
    Owned(Arc<Vec<u8>>),
}

impl Seg<'_> {
    fn bytes(&self) -> &[u8] {
        match self {
            Seg::Mapped(m) => m.bytes(),
            Seg::Owned(v) => v,
        }
    }
    fn same(&self, o: &Seg<'_>) -> bool {
        match (self, o) {
            (Seg::Mapped(a), Seg::Mapped(b)) => std::ptr::eq(*a, *b),
            (Seg::Owned(a), Seg::Owned(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// A frame named by its place in a segment.
#[derive(Clone, Copy)]
struct FrameRef {
    idx: u64,
    ts_ns: u64,
    off: usize,
    len: u32,
    orig_len: u32,
    link: LinkType,
}

struct Batch<'a> {
    seq: u64,
    seg: Seg<'a>,
    frames: Vec<FrameRef>,
}

enum ToWorker<'a> {
    Batch(Batch<'a>),
    /// Sweep at this time; `true`: with a snapshot of the counters for a periodic record.
    Tick(u64, bool),
    End(EndReason),
}

enum ToWriter {
    Tick(usize, Records),
    Done(Box<Stats>),
    /// libpcap's counts for the periodic `stats` record of the ticks that follow.
    #[cfg(feature = "live")]
    Live(crate::capture::live::LiveStats),
}

fn worker_loop<'a>(
    id: usize,
    mut w: Worker,
    rx: Receiver<ToWorker<'a>>,
    tx: Sender<ToWriter>,
    recycle: Sender<(u64, Vec<FrameRef>)>,
    written: Receiver<Records>,
) {
    // a closed channel without End (the reader panicked) still writes what there is
    let mut reason = EndReason::EndOfInput;
    for msg in rx {
        match msg {
            ToWorker::Batch(b) => {
                let bytes = b.seg.bytes();
                for (i, r) in b.frames.iter().enumerate() {
                    // the headers of a frame a few ahead: decoding waited on their first load
                    if let Some(n) = b.frames.get(i + PREFETCH_FRAMES_AHEAD) {
                        crate::capture::format::prefetch(bytes, n.off, n.off + PREFETCH_HEADER_BYTES);
                    }
                    let fr = Frame {
                        ts_ns: r.ts_ns,
                        link_type: r.link,
                        data: &bytes[r.off..r.off + r.len as usize],
                        orig_len: r.orig_len,
                    };
                    w.frame(r.idx, &fr);
                }
                let mut v = b.frames;
                v.clear();
                let _ = recycle.send((b.seq, v));
            }
            ToWorker::Tick(now, snapshot) => {
                // take back a written tick's buffers, so a tick allocates nothing
                if let Ok(r) = written.try_recv() {
                    w.recycle(r);
                }
                let _ = tx.send(ToWriter::Tick(id, w.tick(now, snapshot)));
            }
            ToWorker::End(why) => {
                reason = why;
                break;
            }
        }
    }
    let recs = w.finish(reason);
    let _ = tx.send(ToWriter::Tick(id, recs));
    let _ = tx.send(ToWriter::Done(Box::new(w.stats)));
}

/// Collects each tick's records from all workers, then writes them in order.
fn writer_loop(
    n: usize,
    rx: Receiver<ToWriter>,
    out: &mut dyn Write,
    flush_ticks: bool,
    cfg: &Config,
    backs: Vec<Sender<Records>>,
    names: Vec<String>,
) -> (Stats, Option<std::io::Error>, Summary) {
    let mut pending: Vec<std::collections::VecDeque<Records>> = (0..n).map(|_| Default::default()).collect();
    let mut stats = Stats::default();
    let mut writer = Writer::new(out, flush_ticks, cfg, names);
    for msg in rx {
        match msg {
            ToWriter::Tick(id, recs) => {
                pending[id].push_back(recs);
                while pending.iter().all(|q| !q.is_empty()) {
                    let mut all: Vec<Records> = pending
                        .iter_mut()
                        .map(|q| q.pop_front().expect("checked non-empty"))
                        .collect();
                    writer.tick(&mut all);
                    // the buffers go back to their workers (dropped when a worker has enough)
                    for (w, mut r) in all.into_iter().enumerate() {
                        r.clear();
                        let _ = backs[w].try_send(r);
                    }
                }
            }
            ToWriter::Done(s) => stats.merge(&s),
            #[cfg(feature = "live")]
            ToWriter::Live(counts) => writer.live = Some(counts),
        }
    }
    writer.classify.fill_stats(&mut stats);
    (stats, writer.err, std::mem::take(&mut writer.classify.summary))
}

fn file_index(inputs: &[Opened], m: &MappedFile) -> Option<usize> {
    inputs
        .iter()
        .position(|i| matches!(i, Opened::File(_, f) if std::ptr::eq(f, m)))
}

/// The reader's side of the worker queues: the batches being filled, the queues, and the
/// mapped-file places batches in flight still hold.
struct Dispatch<'a, 'i> {
    inputs: &'i [Opened],
    txs: Vec<Sender<ToWorker<'a>>>,
    /// The batch being filled for each worker.
    cur: Vec<Option<Batch<'a>>>,
    /// Batches sent and not yet recycled: seq -> (mapped file, first offset).
    outstanding: BTreeMap<u64, (usize, usize)>,
    /// Frame lists back from the workers, for reuse.
    pool: Vec<Vec<FrameRef>>,
    /// A live capture: a batch whose worker's queue is full is dropped (and counted) rather
    /// than stalling the reader, which would make the kernel drop frames unseen.
    lossy: bool,
    queue_dropped: u64,
}

impl<'a> Dispatch<'a, '_> {
    /// Send a batch to worker `w`, remembering where it starts in a mapped file until it
    /// comes back.
    fn send(&mut self, w: usize, b: Batch<'a>) {
        if let (Seg::Mapped(m), Some(first)) = (&b.seg, b.frames.first())
            && let Some(fi) = file_index(self.inputs, m)
        {
            self.outstanding.insert(b.seq, (fi, first.off));
        }
        if !self.lossy {
            let _ = self.txs[w].send(ToWorker::Batch(b));
            return;
        }
        if let Err(crossbeam_channel::TrySendError::Full(ToWorker::Batch(mut b))) =
            self.txs[w].try_send(ToWorker::Batch(b))
        {
            self.queue_dropped += b.frames.len() as u64;
            b.frames.clear();
            self.pool.push(b.frames);
        }
    }

    /// Hand on every batch being filled and tell every worker to sweep at `now`.
    fn tick(&mut self, now: u64, snapshot: bool) {
        for w in 0..self.txs.len() {
            if let Some(b) = self.cur[w].take() {
                self.send(w, b);
            }
            let _ = self.txs[w].send(ToWorker::Tick(now, snapshot));
        }
    }
}

fn run_threaded(mut inputs: Vec<Opened>, cfg: &Config, out: &mut (dyn Write + Send), names: Vec<String>) -> Outcome {
    let n = cfg.threads;
    let streams = take_streams(&mut inputs);
    let live = take_live(&mut inputs);
    let inputs = &inputs;
    std::thread::scope(|s| {
        let (wtx, wrx) = bounded::<ToWriter>(WRITER_QUEUE);
        let (rtx, rrx) = unbounded::<(u64, Vec<FrameRef>)>();
        let mut txs = Vec::with_capacity(n);
        let mut backs = Vec::with_capacity(n);
        for id in 0..n {
            let (tx, rx) = bounded::<ToWorker<'_>>(QUEUE_BATCHES);
            txs.push(tx);
            let w = Worker::new(cfg, n);
            let wtx = wtx.clone();
            let rtx = rtx.clone();
            let (back_tx, back_rx) = bounded::<Records>(2);
            backs.push(back_tx);
            s.spawn(move || worker_loop(id, w, rx, wtx, rtx, back_rx));
        }
        // the reader passes libpcap's counts to the writer ahead of the ticks they go with
        #[cfg(feature = "live")]
        let to_writer = wtx.clone();
        drop(wtx);
        drop(rtx);
        let flush_ticks = is_live(&live);
        let writer = s.spawn(move || writer_loop(n, wrx, out, flush_ticks, cfg, backs, names));

        let mut clock = Clock {
            next_tick: None,
            last_ts: 0,
        };
        let mut idx = 0u64;
        let mut sharder = decode::Sharder::new(cfg.decap);
        let mut seq = 0u64;
        let mut d = Dispatch {
            inputs,
            txs,
            cur: (0..n).map(|_| None).collect(),
            outstanding: BTreeMap::new(),
            pool: Vec::new(),
            lossy: flush_ticks,
            queue_dropped: 0,
        };
        let mut released: Vec<usize> = vec![0; inputs.len()];
        let file_index = |m: &MappedFile| file_index(inputs, m);
        let end = read_all(inputs, streams, live, cfg.stats_interval_ns, |ev| {
            let (seg, fr, off) = match ev {
                Event::Frame(seg, fr, off) => (seg, fr, off),
                Event::Idle(now) => {
                    // a quiet link: hand on what is gathered, and run the timers
                    match clock.advance(now).1 {
                        Some(now) => d.tick(now, false),
                        None => {
                            for w in 0..n {
                                if let Some(b) = d.cur[w].take() {
                                    d.send(w, b);
                                }
                            }
                        }
                    }
                    return;
                }
                #[cfg(feature = "live")]
                Event::Stats(mut counts) => {
                    counts.queue_dropped = d.queue_dropped;
                    let _ = to_writer.send(ToWriter::Live(counts));
                    d.tick(clock.last_ts, true);
                    return;
                }
            };
            idx += 1;
            let (ts, tick) = clock.advance(fr.ts_ns);
            if let Some(now) = tick {
                d.tick(now, false);
            }
            let w = (sharder.hash(&fr) % n as u64) as usize;
            // a batch holds frames of one segment
            if let Some(b) = &d.cur[w]
                && !b.seg.same(&seg)
            {
                let b = d.cur[w].take().expect("checked");
                d.send(w, b);
            }
            let pool = &mut d.pool;
            let b = d.cur[w].get_or_insert_with(|| {
                seq += 1;
                let mut frames = pool.pop().unwrap_or_default();
                frames.reserve(BATCH_FRAMES);
                Batch {
                    seq,
                    seg: seg.clone(),
                    frames,
                }
            });
            b.frames.push(FrameRef {
                idx,
                ts_ns: ts,
                off,
                len: fr.data.len() as u32,
                orig_len: fr.orig_len,
                link: fr.link_type,
            });
            if b.frames.len() >= BATCH_FRAMES {
                let b = d.cur[w].take().expect("just filled");
                d.send(w, b);
            }
            // take back finished batches; release mapped pages every worker is done with (every
            // few hundred frames: a look per frame cost the reader a tenth of its time)
            if !idx.is_multiple_of(HOUSEKEEPING_FRAMES) {
                return;
            }
            while let Ok((done, v)) = rrx.try_recv() {
                d.outstanding.remove(&done);
                d.pool.push(v);
            }
            if let Seg::Mapped(m) = &seg
                && let Some(fi) = file_index(m)
            {
                let mut low = off;
                for b in d.cur.iter().flatten() {
                    if let (Seg::Mapped(bm), Some(f)) = (&b.seg, b.frames.first())
                        && std::ptr::eq(*bm, *m)
                    {
                        low = low.min(f.off);
                    }
                }
                if let Some((_, &(ofi, o))) = d.outstanding.iter().next()
                    && ofi == fi
                {
                    low = low.min(o);
                }
                if low >= released[fi] + 2 * RELEASE_STEP_BYTES {
                    m.release(released[fi], low - RELEASE_STEP_BYTES);
                    released[fi] = low - RELEASE_STEP_BYTES;
                }
            }
        });
        for w in 0..n {
            if let Some(b) = d.cur[w].take() {
                d.send(w, b);
            }
            let _ = d.txs[w].send(ToWorker::End(end.reason()));
        }
        let queue_dropped = d.queue_dropped;
        drop(d);
        #[cfg(feature = "live")]
        drop(to_writer);
        let (mut stats, write_error, summary) = writer.join().expect("writer thread panicked");
        end.fill(&mut stats, queue_dropped);
        Outcome {
            stats,
            damage: end.damage,
            write_error,
            summary,
        }
    })
}
