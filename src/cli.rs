//! The command line: `exwatch read FILE... [-o OUT] [--format native|ecs] [--summary FILE |
//! --no-summary] [--threads N] [--signatures DIR] [--signatures-extra DIR] [--inventory FILE]
//! [--redact-users]` and the limits as flags; `exwatch signatures check|list [DIR]`; `exwatch
//! inventory check FILE`.
//!
//! `read` ends with a human summary of the run ([`crate::output::summary`]) on stderr, or in
//! `--summary FILE`; never on stdout, where the records go.
//!
//! Exit status: 0 when every input was read to its end, 1 when an input was damaged (every
//! frame before the damage was processed and every flow written; stderr says where), 2 when
//! nothing could be read (no such file, not a capture, bad arguments, a catalog given with
//! `--signatures`/`--signatures-extra` that does not load, an `--inventory` file that does not
//! load: each of its errors is printed as `file:line: message`). `signatures check` and
//! `inventory check`: 0 when valid, 1 when there are errors (each printed as
//! `file:line: message`), 2 when DIR or FILE cannot be read.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::capture::Input;
use crate::classify::catalog::{Catalog, EMBEDDED, LoadError};
use crate::classify::inventory::Inventory;
use crate::decode::defrag::{DEFAULT_FRAG_TIMEOUT_NS, DEFAULT_MAX_BYTES, DEFAULT_MAX_DATAGRAMS, DefragLimits};
use crate::decode::{Decap, TunnelKind};
use crate::flow::reassembly::{
    DEFAULT_MAX_OOO_BYTES_GLOBAL, DEFAULT_MAX_OOO_BYTES_PER_DIR, DEFAULT_MAX_OOO_SEGMENTS_PER_DIR, ReassemblyLimits,
};
use crate::flow::{DEFAULT_MAX_FLOWS, DEFAULT_TCP_TIMEOUT_S, DEFAULT_UDP_TIMEOUT_S, FlowConfig, TCP_CLOSE_LINGER_S};
#[cfg(feature = "live")]
use crate::output::sink::Sink;
use crate::output::{Format, Summary};
use crate::pipeline::{self, Config, Opened};

/// Output buffer; records are flushed when it fills and at the end.
const OUTPUT_BUFFER: usize = 1 << 20;

#[derive(Parser, Debug)]
#[command(
    name = "exwatch",
    version,
    about = "Passive traffic classifier for Microsoft Exchange environments"
)]
pub struct Cli {
    #[command(subcommand)]
    pub cmd: Cmd,
}

/// `--format`: how records are written.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FormatArg {
    /// exwatch's own schema (documented in `src/output/mod.rs`).
    #[default]
    Native,
    /// Elastic Common Schema events, one per line, for Elasticsearch as is.
    Ecs,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Native => Format::Native,
            FormatArg::Ecs => Format::Ecs,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Read pcap/pcapng captures and write one JSON record per flow, then a stats record.
    Read(ReadArgs),
    /// Capture live from an interface (a SPAN/mirror port) until SIGINT or SIGTERM; open flows
    /// are then written with end_reason "shutdown", then a stats record.
    #[cfg(feature = "live")]
    Live(LiveArgs),
    /// Show or validate the data-path catalog (`signatures/*.toml`).
    #[command(subcommand)]
    Signatures(SignaturesCmd),
    /// Validate a site inventory file (`--inventory`).
    #[command(subcommand)]
    Inventory(InventoryCmd),
}

#[derive(Subcommand, Debug)]
pub enum InventoryCmd {
    /// Check FILE: every error as `file:line: message` and exit 1 when there is one; else a
    /// summary line and exit 0. Exit 2 when FILE cannot be read.
    Check {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

#[cfg(feature = "live")]
#[derive(clap::Args, Debug)]
pub struct LiveArgs {
    /// The interface to capture on.
    #[arg(short = 'i', long = "interface", value_name = "IFACE")]
    pub interface: String,
    /// A BPF capture filter (tcpdump syntax).
    #[arg(long, value_name = "EXPR")]
    pub bpf: Option<String>,
    /// Bytes kept of each frame.
    #[arg(long, default_value_t = 262_144, value_name = "N")]
    pub snaplen: i32,
    /// Put the interface in promiscuous mode (a SPAN port's mirrored frames are not addressed
    /// to this host).
    #[arg(long)]
    pub promisc: bool,
    /// Append records to this file instead of writing them to stdout; SIGHUP reopens it (log
    /// rotation).
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: Option<PathBuf>,
    /// Record format.
    #[arg(long, value_enum, default_value_t = FormatArg::Native)]
    pub format: FormatArg,
    /// Seconds between `stats` records (0: only the one at exit).
    #[arg(long, default_value_t = DEFAULT_STATS_INTERVAL_S, value_name = "S")]
    pub stats_interval: u64,
    /// Seconds between interim records of a flow that is still open (0: none), so a SIEM sees
    /// long-lived flows (Outlook RPC and MAPI sessions) before they end.
    #[arg(long, default_value_t = DEFAULT_FLOW_UPDATE_INTERVAL_S, value_name = "S")]
    pub flow_update_interval: u64,
    /// Once the interface and the output are open, drop root and run as this user (its uid,
    /// its primary group, no other groups) before a single packet is parsed.
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// `exwatch live`: seconds between periodic `stats` records.
#[cfg(feature = "live")]
pub const DEFAULT_STATS_INTERVAL_S: u64 = 60;
/// `exwatch live`: seconds between interim records of a long-lived flow.
#[cfg(feature = "live")]
pub const DEFAULT_FLOW_UPDATE_INTERVAL_S: u64 = 300;

#[derive(Subcommand, Debug)]
pub enum SignaturesCmd {
    /// Validate DIR's *.toml files (or the embedded catalog): every error as `file:line:
    /// message`; exit 1 when there is one, 0 and a count line otherwise.
    Check {
        /// A directory of catalog files; the embedded catalog when absent.
        #[arg(value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Check DIR as `read --signatures-extra DIR` loads it: together with the embedded
        /// catalog, so an id that collides with an embedded one is an error too.
        #[arg(long, requires = "dir")]
        extra: bool,
    },
    /// Print the catalog as a table: id, versions, roles, transport/ports, protocol, encryption.
    List {
        /// A directory of catalog files; the embedded catalog when absent.
        #[arg(value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

#[derive(clap::Args, Debug)]
pub struct ReadArgs {
    /// Capture files (pcap or pcapng); `-` reads stdin. Several files are read in order as one
    /// stream (rotated captures of one link).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,
    /// Write records here instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: Option<PathBuf>,
    /// Record format.
    #[arg(long, value_enum, default_value_t = FormatArg::Native)]
    pub format: FormatArg,
    /// Write the human summary of the run (data paths, findings, unexplained flows) to FILE
    /// instead of stderr.
    #[arg(long, value_name = "FILE")]
    pub summary: Option<PathBuf>,
    /// Write no summary.
    #[arg(long, conflicts_with = "summary")]
    pub no_summary: bool,
    /// Seconds of capture time between interim records of a flow still open (0, the default:
    /// one record per flow, when it ends). `live` writes them every 300 s.
    #[arg(long, default_value_t = 0, value_name = "S")]
    pub flow_update_interval: u64,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Worker threads and the limits of flow tracking and reassembly (shared by `read` and `live`).
#[derive(clap::Args, Debug)]
pub struct LimitArgs {
    /// Worker threads (1 runs everything on the reading thread).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: u16,
    /// Seconds a TCP flow may be idle before it is written with end_reason "timeout".
    #[arg(long, default_value_t = DEFAULT_TCP_TIMEOUT_S, value_name = "S")]
    pub tcp_timeout: u64,
    /// Seconds a UDP flow may be idle before it is written with end_reason "timeout".
    #[arg(long, default_value_t = DEFAULT_UDP_TIMEOUT_S, value_name = "S")]
    pub udp_timeout: u64,
    /// Seconds a TCP flow is kept after FIN from both sides or RST.
    #[arg(long, default_value_t = TCP_CLOSE_LINGER_S, value_name = "S")]
    pub tcp_close_linger: u64,
    /// Flows tracked at once; beyond it the least recently active flow is written as "evicted".
    #[arg(long, default_value_t = DEFAULT_MAX_FLOWS, value_name = "N")]
    pub max_flows: usize,
    /// Out-of-order TCP bytes held per flow direction before the hole is given up as missing.
    #[arg(long, default_value_t = DEFAULT_MAX_OOO_BYTES_PER_DIR, value_name = "BYTES")]
    pub max_ooo_bytes_per_dir: usize,
    /// Out-of-order TCP segments held per flow direction.
    #[arg(long, default_value_t = DEFAULT_MAX_OOO_SEGMENTS_PER_DIR, value_name = "N")]
    pub max_ooo_segments_per_dir: usize,
    /// Out-of-order TCP bytes held over all flows.
    #[arg(long, default_value_t = DEFAULT_MAX_OOO_BYTES_GLOBAL, value_name = "BYTES")]
    pub max_ooo_bytes: usize,
    /// IP datagrams under fragment reassembly at once.
    #[arg(long, default_value_t = DEFAULT_MAX_DATAGRAMS, value_name = "N")]
    pub max_frag_datagrams: usize,
    /// Bytes held by IP fragment reassembly.
    #[arg(long, default_value_t = DEFAULT_MAX_BYTES, value_name = "BYTES")]
    pub max_frag_bytes: usize,
    /// Seconds an incomplete fragmented datagram is kept.
    #[arg(long, default_value_t = DEFAULT_FRAG_TIMEOUT_NS / 1_000_000_000, value_name = "S")]
    pub frag_timeout: u64,
    /// Load the data-path catalog from DIR's *.toml files instead of the embedded one.
    #[arg(long, value_name = "DIR")]
    pub signatures: Option<PathBuf>,
    /// Add DIR's *.toml files (site-specific data paths) to the catalog; may be repeated.
    #[arg(long = "signatures-extra", value_name = "DIR")]
    pub signatures_extra: Vec<PathBuf>,
    /// Write `<redacted>` instead of user names in findings (passwords are never written).
    #[arg(long)]
    pub redact_users: bool,
    /// The site inventory: which addresses and networks hold which roles, and which networks
    /// are internal (see `exwatch inventory check`). Without it roles are inferred from
    /// traffic only, and the private ranges are internal.
    #[arg(long, value_name = "FILE")]
    pub inventory: Option<PathBuf>,
    /// Leave this kind of tunnel as it is (its outer packet is the flow), for sites whose own
    /// traffic uses a tunnel's port; may be repeated. Kinds: gre, erspan, vxlan (UDP 4789),
    /// geneve (UDP 6081), gtpu (UDP 2152), ipip (IP protocols 4 and 41), mpls, pppoe, teredo
    /// (UDP 3544), ayiya (UDP 5072).
    #[arg(long = "no-decap", value_name = "KIND", value_parser = parse_tunnel_kind)]
    pub no_decap: Vec<TunnelKind>,
}

/// A `--no-decap` value: one of the flow record's tunnel `kind` names.
fn parse_tunnel_kind(s: &str) -> Result<TunnelKind, String> {
    TunnelKind::from_name(s).ok_or_else(|| format!("unknown tunnel kind (one of: {})", TunnelKind::NAMES.join(", ")))
}

impl LimitArgs {
    /// The catalog `--signatures`/`--signatures-extra` ask for (the embedded one by default).
    pub fn catalog(&self) -> Result<Arc<Catalog>, LoadError> {
        if self.signatures.is_none() && self.signatures_extra.is_empty() {
            return Ok(Catalog::embedded());
        }
        let extra: Vec<&Path> = self.signatures_extra.iter().map(|p| p.as_path()).collect();
        Catalog::load(self.signatures.as_deref(), &extra).map(Arc::new)
    }

    /// The run's configuration, with the embedded catalog (see [`LimitArgs::catalog`]).
    pub fn config(&self) -> Config {
        const NS: u64 = 1_000_000_000;
        Config {
            threads: self.threads as usize,
            flow: FlowConfig {
                tcp_timeout_ns: self.tcp_timeout.saturating_mul(NS),
                udp_timeout_ns: self.udp_timeout.saturating_mul(NS),
                close_linger_ns: self.tcp_close_linger.saturating_mul(NS),
                max_flows: self.max_flows.max(1),
                reassembly: ReassemblyLimits {
                    max_ooo_bytes_per_dir: self.max_ooo_bytes_per_dir,
                    max_ooo_segments_per_dir: self.max_ooo_segments_per_dir,
                    max_ooo_bytes_global: self.max_ooo_bytes,
                },
                update_interval_ns: 0,
            },
            defrag: DefragLimits {
                max_datagrams: self.max_frag_datagrams.max(1),
                max_bytes: self.max_frag_bytes,
                timeout_ns: self.frag_timeout.saturating_mul(NS),
            },
            decap: self.no_decap.iter().fold(Decap::ALL, |d, &k| d.without(k)),
            catalog: Catalog::embedded(),
            inventory: None,
            redact_users: self.redact_users,
            format: Format::Native,
            summary: true,
            stats_interval_ns: 0,
        }
    }
}

/// Parse the command line and run; never panics on user input.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => ExitCode::SUCCESS,
                _ => ExitCode::from(2),
            };
        }
    };
    match cli.cmd {
        Cmd::Read(args) => read(&args),
        #[cfg(feature = "live")]
        Cmd::Live(args) => live(&args),
        Cmd::Signatures(SignaturesCmd::Check { dir, extra }) => signatures_check(dir.as_deref(), extra),
        Cmd::Signatures(SignaturesCmd::List { dir }) => signatures_list(dir.as_deref()),
        Cmd::Inventory(InventoryCmd::Check { file }) => inventory_check(&file),
    }
}

fn inventory_check(file: &Path) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match Inventory::load(file) {
        Ok(i) => {
            let internal = if i.default_internal {
                "the default private ranges"
            } else {
                "from the file"
            };
            let _ = writeln!(
                out,
                "{}: {} role networks, {} internal networks ({internal}): ok",
                file.display(),
                i.role_networks(),
                i.internal_networks()
            );
            ExitCode::SUCCESS
        }
        Err(LoadError::Invalid(errors)) => {
            for e in &errors {
                let _ = writeln!(out, "{e}");
            }
            let _ = writeln!(out, "{} errors in {}", errors.len(), file.display());
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("exwatch: inventory: {e}");
            ExitCode::from(2)
        }
    }
}

/// The inventory `--inventory` names, loaded and checked; every error is printed as
/// `file:line: message` and the run does not start (exit 2).
fn load_inventory(limits: &LimitArgs) -> Result<Option<Arc<Inventory>>, ExitCode> {
    let Some(path) = &limits.inventory else {
        return Ok(None);
    };
    match Inventory::load(path) {
        Ok(i) => Ok(Some(Arc::new(i))),
        Err(LoadError::Invalid(errors)) => {
            for e in &errors {
                eprintln!("{e}");
            }
            eprintln!("exwatch: inventory: {} errors in {}", errors.len(), path.display());
            Err(ExitCode::from(2))
        }
        Err(e) => {
            eprintln!("exwatch: inventory: {e}");
            Err(ExitCode::from(2))
        }
    }
}

/// The files of `dir`, or the embedded ones.
fn catalog_files(dir: Option<&Path>) -> Result<Vec<(String, String)>, LoadError> {
    match dir {
        Some(d) => Catalog::read_dir(d),
        None => Ok(EMBEDDED.iter().map(|(n, t)| (n.to_string(), t.to_string())).collect()),
    }
}

fn signatures_check(dir: Option<&Path>, extra: bool) -> ExitCode {
    let files = match catalog_files(dir) {
        Ok(mut f) if extra => {
            let mut all = catalog_files(None).unwrap_or_default();
            all.append(&mut f);
            all
        }
        Ok(f) => f,
        Err(e) => {
            eprintln!("exwatch: {e}");
            return ExitCode::from(2);
        }
    };
    let mut out = std::io::stdout().lock();
    match Catalog::from_sources(&files) {
        Ok(c) => {
            let _ = writeln!(out, "{} data paths in {} files: ok", c.len(), files.len());
            ExitCode::SUCCESS
        }
        Err(mut errors) => {
            errors.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
            for e in &errors {
                let _ = writeln!(out, "{e}");
            }
            let _ = writeln!(out, "{} errors in {} files", errors.len(), files.len());
            ExitCode::from(1)
        }
    }
}

fn signatures_list(dir: Option<&Path>) -> ExitCode {
    let catalog = match catalog_files(dir).and_then(|f| Catalog::from_sources(&f).map_err(LoadError::Invalid)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("exwatch: signatures: {e} (see `exwatch signatures check`)");
            return ExitCode::from(2);
        }
    };
    let mut out = std::io::stdout().lock();
    match out.write_all(catalog.table().as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            eprintln!("exwatch: {e}");
            ExitCode::from(2)
        }
        _ => ExitCode::SUCCESS,
    }
}

/// The output file or stdout, buffered; an error is one line and exit 2.
fn open_output(path: &Option<PathBuf>) -> Result<BufWriter<Box<dyn Write + Send>>, ExitCode> {
    let sink: Box<dyn Write + Send> = match path {
        None => Box::new(std::io::stdout()),
        Some(p) => match File::create(p) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!("exwatch: {}: {e}", p.display());
                return Err(ExitCode::from(2));
            }
        },
    };
    Ok(BufWriter::with_capacity(OUTPUT_BUFFER, sink))
}

#[cfg(feature = "live")]
fn live(args: &LiveArgs) -> ExitCode {
    use crate::capture::live::{LiveCapture, LiveConfig, install_stop_signals};
    let cap = match LiveCapture::open(&LiveConfig {
        interface: args.interface.clone(),
        bpf: args.bpf.clone(),
        snaplen: args.snaplen,
        promisc: args.promisc,
    }) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("exwatch: {e}");
            return ExitCode::from(2);
        }
    };
    let sink = match &args.output {
        None => Sink::stdout(),
        Some(p) => match Sink::append(p, Some(&crate::capture::live::REOPEN)) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("exwatch: {}: {e}", p.display());
                return ExitCode::from(2);
            }
        },
    };
    let mut out = BufWriter::with_capacity(OUTPUT_BUFFER, sink);
    let catalog = match load_catalog(&args.limits) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let inventory = match load_inventory(&args.limits) {
        Ok(i) => i,
        Err(code) => return code,
    };
    if let Some(user) = &args.user
        && let Err(e) = crate::capture::live::drop_privileges(user)
    {
        eprintln!("exwatch: {e}");
        return ExitCode::from(2);
    }
    install_stop_signals();
    let name = cap.name().to_string();
    let mut cfg = Config {
        catalog,
        format: args.format.into(),
        summary: false,
        inventory,
        stats_interval_ns: args.stats_interval.saturating_mul(1_000_000_000),
        ..args.limits.config()
    };
    cfg.flow.update_interval_ns = args.flow_update_interval.saturating_mul(1_000_000_000);
    let outcome = pipeline::run(vec![Opened::Live(name.clone(), Some(Box::new(cap)))], &cfg, &mut out);
    if let Some(e) = outcome.write_error {
        eprintln!("exwatch: writing output: {e}");
        return ExitCode::from(2);
    }
    if let Some(w) = outcome
        .stats
        .live
        .and_then(|l| crate::capture::live::drop_warning(&Default::default(), &l))
    {
        eprintln!("exwatch: warning: {name}: {w} in the whole run");
    }
    if let Some((name, d)) = outcome.damage {
        eprintln!("exwatch: {name}: capture stopped: {}", d.reason);
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

/// The catalog `--signatures`/`--signatures-extra` ask for; an error is one line and exit 2.
fn load_catalog(limits: &LimitArgs) -> Result<Arc<Catalog>, ExitCode> {
    match limits.catalog() {
        Ok(c) => Ok(c),
        Err(e @ LoadError::Io(_)) => {
            eprintln!("exwatch: signatures: {e}");
            Err(ExitCode::from(2))
        }
        Err(e) => {
            eprintln!("exwatch: signatures: {e} (`exwatch signatures check DIR` lists every error)");
            Err(ExitCode::from(2))
        }
    }
}

/// The summary, buffered, flushed.
fn write_summary(s: &Summary, w: &mut dyn Write) -> std::io::Result<()> {
    let mut b = std::io::BufWriter::new(w);
    s.write(&mut b)?;
    b.flush()
}

fn read(args: &ReadArgs) -> ExitCode {
    let catalog = match load_catalog(&args.limits) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let inventory = match load_inventory(&args.limits) {
        Ok(i) => i,
        Err(code) => return code,
    };
    let mut opened = Vec::with_capacity(args.files.len());
    if args.files.iter().filter(|f| *f == "-").count() > 1 {
        eprintln!("exwatch: stdin (-) can be read only once");
        return ExitCode::from(2);
    }
    for f in &args.files {
        match Opened::open(&Input::parse(f)) {
            Ok(o) => opened.push(o),
            Err(e) => {
                eprintln!("exwatch: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let mut out = match open_output(&args.output) {
        Ok(o) => o,
        Err(code) => return code,
    };
    // opened before the run, so a path that cannot be written stops before the work
    let mut summary_file = match &args.summary {
        Some(p) => match File::create(p) {
            Ok(f) => Some((p, f)),
            Err(e) => {
                eprintln!("exwatch: {}: {e}", p.display());
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    let mut cfg = Config {
        catalog,
        format: args.format.into(),
        summary: !args.no_summary,
        inventory,
        ..args.limits.config()
    };
    cfg.flow.update_interval_ns = args.flow_update_interval.saturating_mul(1_000_000_000);
    let outcome = pipeline::run(opened, &cfg, &mut out);
    drop(out);
    if let Some((path, f)) = summary_file.as_mut() {
        if let Err(e) = write_summary(&outcome.summary, f) {
            eprintln!("exwatch: {}: {e}", path.display());
            return ExitCode::from(2);
        }
    } else if !args.no_summary {
        // stderr: nothing to do when it is closed
        let _ = write_summary(&outcome.summary, &mut std::io::stderr().lock());
    }
    if let Some(e) = outcome.write_error {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return ExitCode::SUCCESS;
        }
        eprintln!("exwatch: writing output: {e}");
        return ExitCode::from(2);
    }
    if let Some((name, d)) = outcome.damage {
        eprintln!(
            "exwatch: {name}: stopped at byte offset {}: {}; every frame before it was processed ({} frames)",
            d.offset, d.reason, outcome.stats.frames
        );
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
