//! The data-path catalog: every documented Exchange data path, loaded from `signatures/*.toml`.
//!
//! The files are embedded in the binary ([`EMBEDDED`], the one list of them), so exwatch works
//! with no files around; `--signatures DIR` replaces them and `--signatures-extra DIR` adds
//! site-specific entries. The loader parses TOML with the `toml` crate into spanned values and
//! checks the schema below by hand, so that every error — not only the first — is reported
//! with its file and line ([`CatalogError`]).
//!
//! # Schema
//! A file holds `[[path]]` tables and nothing else. Each `[[path]]`:
//!
//! | key | required | value |
//! |---|---|---|
//! | `id` | yes | stable id, `[a-z0-9.-]`, unique over every loaded file (`ex2010.transport.hub-edge-smtp`) |
//! | `name` | yes | what a person calls the path |
//! | `exchange_versions` | yes | non-empty list of [`VERSIONS`] |
//! | `src_role`, `dst_role` | yes | a [`Role`] word or a non-empty list of them (the client and the server side) |
//! | `bidirectional` | no | `true` when either side may open the connection (`hub ↔ hub`); default `false` |
//! | `transport` | yes | `"tcp"`, `"udp"` or a list of both |
//! | `ports` | yes | non-empty list of integers (1-65535), `"LO-HI"` ranges, `"dynamic-rpc"` (a port handed out by the DCE/RPC endpoint mapper) or `"any"` |
//! | `announced_by` | no | `"sdp"`: the ports are negotiated by SIP/SDP and the listed range only bounds them, so a port alone does not match the entry |
//! | `protocol` | yes | a [`Protocol`] word: what the documentation expects on those ports |
//! | `auth_default` | yes | list of [`Auth`] words (`["unknown"]` when the source does not say) |
//! | `auth_supported` | no | list of [`Auth`] words |
//! | `encryption` | yes | `{ level = `[`Level`]`, with = [`[`Crypto`]` words] }` (`with` may be empty only for levels `none` and `unspecified`) |
//! | `source` | yes | `{ seed = "<seed section heading>", row = "<row of exchange-data-paths.md>", ref = true|false }`; `ref = true` when the value comes from Microsoft's English page because the seed lost it; `row` is optional (a note) |
//! | `notes` | no | list of strings: what the classifier must know, above all what it must NOT flag |
//! | `interfaces` | no | `protocol = "dcerpc"` only: the DCE/RPC interfaces (names of [`crate::proto::dcerpc::interfaces::INTERFACES`], e.g. `"EMSMDB"`) the path's service serves; an endpoint-mapper answer for one of them points at this entry among those sharing its ports |

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::{Arc, LazyLock};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::flow::{IPPROTO_TCP, IPPROTO_UDP};
use crate::proto::dcerpc::interfaces::INTERFACES;

/// The embedded catalog: every file of `signatures/`, in load order. Add a file here and it
/// is in the binary.
pub const EMBEDDED: &[(&str, &str)] = &[
    (
        "signatures/exchange-2000-2003.toml",
        include_str!("../../signatures/exchange-2000-2003.toml"),
    ),
    (
        "signatures/exchange-2010.toml",
        include_str!("../../signatures/exchange-2010.toml"),
    ),
    (
        "signatures/exchange-2010-firewall.toml",
        include_str!("../../signatures/exchange-2010-firewall.toml"),
    ),
    (
        "signatures/exchange-2013.toml",
        include_str!("../../signatures/exchange-2013.toml"),
    ),
    (
        "signatures/exchange-2016.toml",
        include_str!("../../signatures/exchange-2016.toml"),
    ),
    (
        "signatures/outlook-com.toml",
        include_str!("../../signatures/outlook-com.toml"),
    ),
];

/// Exchange versions an entry may name (`online`: Exchange Online / Outlook.com).
pub const VERSIONS: &[&str] = &["2000", "2003", "2007", "2010", "2013", "2016", "2019", "se", "online"];

/// A closed vocabulary: an enum, its words, and the lookup.
macro_rules! words {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $w:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vm])* $v),+ }
        impl $name {
            pub const WORDS: &'static [&'static str] = &[$($w),+];
            /// Every word, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$v),+];
            pub fn from_word(s: &str) -> Option<Self> {
                match s { $($w => Some(Self::$v),)+ _ => None }
            }
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $w),+ }
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl Word for $name {
            fn bit(self) -> u64 {
                const { assert!(Self::ALL.len() <= 64, "a WordSet holds 64 words") };
                1 << (self as u32)
            }
            fn all() -> &'static [Self] {
                Self::ALL
            }
        }
    };
}

/// A word of a closed vocabulary, as a member of a [`WordSet`].
pub trait Word: Copy + fmt::Display + 'static {
    fn bit(self) -> u64;
    fn all() -> &'static [Self];
}

/// A set of words of one vocabulary (at most 64): a bitset, `Copy`, no allocation.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct WordSet<T>(u64, std::marker::PhantomData<T>);

/// A set of [`Role`]s (one host may hold several: a 2016 mailbox server is also cas and hub).
pub type RoleSet = WordSet<Role>;
/// A set of [`Protocol`]s.
pub type ProtocolSet = WordSet<Protocol>;

impl<T: Word> WordSet<T> {
    pub const EMPTY: WordSet<T> = WordSet(0, std::marker::PhantomData);

    pub fn of(words: &[T]) -> Self {
        words.iter().fold(Self::EMPTY, |s, &w| s.with(w))
    }
    #[must_use]
    pub fn with(self, w: T) -> Self {
        WordSet(self.0 | w.bit(), self.1)
    }
    pub fn insert(&mut self, w: T) {
        self.0 |= w.bit();
    }
    pub fn contains(self, w: T) -> bool {
        self.0 & w.bit() != 0
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }
    #[must_use]
    pub fn without(self, w: T) -> Self {
        WordSet(self.0 & !w.bit(), self.1)
    }
    pub fn intersects(self, o: Self) -> bool {
        self.0 & o.0 != 0
    }
    #[must_use]
    pub fn union(self, o: Self) -> Self {
        WordSet(self.0 | o.0, self.1)
    }
    /// The members, in vocabulary order.
    pub fn iter(self) -> impl Iterator<Item = T> + Clone {
        T::all().iter().copied().filter(move |w| self.contains(*w))
    }
}

impl<T: Word> Default for WordSet<T> {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl<T: Word> FromIterator<T> for WordSet<T> {
    fn from_iter<I: IntoIterator<Item = T>>(it: I) -> Self {
        it.into_iter().fold(Self::EMPTY, |s, w| s.with(w))
    }
}

/// The words joined by `,` (`-` when empty).
impl<T: Word> fmt::Display for WordSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("-");
        }
        for (i, w) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{w}")?;
        }
        Ok(())
    }
}

impl<T: Word> fmt::Debug for WordSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{{self}}}")
    }
}

words!(
    /// Roles: the vocabulary of exchange-data-paths.md (and of the inventory to come).
    Role {
        Hub = "hub",
        Edge = "edge",
        Mailbox = "mailbox",
        Cas = "cas",
        Um = "um",
        Dc = "dc",
        Adrms = "adrms",
        Ocs = "ocs",
        IpGw = "ip-gw",
        Dns = "dns",
        Client = "client",
        Internet = "internet",
        Admin = "admin",
        /// An Exchange 2000/2003 server (roles were not split then).
        Exchange = "exchange",
        /// Any host (firewall rules open a port to everyone).
        Any = "any",
    }
);

words!(
    /// What the documentation expects on a path's ports. `*s` words are the protocol inside
    /// TLS from the first byte; `unspecified` when the source names no protocol.
    Protocol {
        Smtp = "smtp",
        Smtps = "smtps",
        Ldap = "ldap",
        Ldaps = "ldaps",
        Kerberos = "kerberos",
        Dns = "dns",
        Dcerpc = "dcerpc",
        Http = "http",
        Https = "https",
        Imap = "imap",
        Imaps = "imaps",
        Pop3 = "pop3",
        Pop3s = "pop3s",
        Sip = "sip",
        Sips = "sips",
        Rtp = "rtp",
        Smb = "smb",
        Nntp = "nntp",
        Nntps = "nntps",
        Irc = "irc",
        Ircs = "ircs",
        Rvp = "rvp",
        X400 = "x400",
        T120 = "t120",
        Uls = "uls",
        H323 = "h323",
        Socks = "socks",
        Telnet = "telnet",
        Unspecified = "unspecified",
    }
);

words!(
    /// Authentication methods.
    Auth {
        Kerberos = "kerberos",
        Ntlm = "ntlm",
        Negotiate = "negotiate",
        Basic = "basic",
        Digest = "digest",
        Forms = "forms",
        Certificate = "certificate",
        /// Edge/Hub direct trust: certificates published in AD, not an X.509 chain.
        DirectTrust = "direct-trust",
        MutualTls = "mutual-tls",
        Anonymous = "anonymous",
        IpAddress = "ip-address",
        ExchangeServer = "exchange-server",
        Unknown = "unknown",
    }
);

words!(
    /// How strongly the documentation promises encryption.
    Level {
        Required = "required",
        Default = "default",
        Supported = "supported",
        None = "none",
        /// The source says nothing about encryption on this path.
        Unspecified = "unspecified",
    }
);

words!(
    /// What the encryption is.
    Crypto {
        Tls = "tls",
        Starttls = "starttls",
        /// Exchange's in-band TLS between its own transport servers.
        XAnonymousTls = "x-anonymoustls",
        MutualTls = "mutual-tls",
        RpcPrivacy = "rpc-privacy",
        LdapSaslSeal = "ldap-sasl-seal",
        Ipsec = "ipsec",
        Srtp = "srtp",
        Kerberos = "kerberos",
    }
);

/// Which mechanism hands out a path's ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Announcer {
    Sdp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Tcp,
    Udp,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
        }
    }
}

/// One element of `ports`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortSpec {
    One(u16),
    Range(u16, u16),
    /// A port handed out by the DCE/RPC endpoint mapper (matched by expectation, not by port).
    DynamicRpc,
    /// Any port.
    Any,
}

impl fmt::Display for PortSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PortSpec::One(p) => write!(f, "{p}"),
            PortSpec::Range(a, b) => write!(f, "{a}-{b}"),
            PortSpec::DynamicRpc => f.write_str("dynamic-rpc"),
            PortSpec::Any => f.write_str("any"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encryption {
    pub level: Level,
    pub with: Vec<Crypto>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub seed: String,
    pub row: Option<String>,
    pub reference: bool,
}

/// One documented data path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: String,
    pub name: String,
    pub exchange_versions: Vec<String>,
    pub src_role: Vec<Role>,
    pub dst_role: Vec<Role>,
    pub bidirectional: bool,
    pub transport: Vec<Transport>,
    pub ports: Vec<PortSpec>,
    pub announced_by: Option<Announcer>,
    pub protocol: Protocol,
    pub auth_default: Vec<Auth>,
    pub auth_supported: Vec<Auth>,
    pub encryption: Encryption,
    pub source: Source,
    pub notes: Vec<String>,
    /// DCE/RPC interfaces the service serves (empty: the catalog does not say).
    pub interfaces: Vec<&'static str>,
    /// Where it was defined.
    pub file: String,
    pub line: usize,
}

impl Entry {
    /// Whether a flow on `port` can be this path by its port alone.
    pub fn port_matches(&self, port: u16) -> bool {
        self.announced_by.is_none()
            && self.ports.iter().any(|p| match *p {
                PortSpec::One(x) => x == port,
                PortSpec::Range(a, b) => (a..=b).contains(&port),
                PortSpec::DynamicRpc | PortSpec::Any => false,
            })
    }
}

/// An error in a catalog file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for CatalogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// Why a directory could not be loaded at all.
#[derive(Debug)]
pub enum LoadError {
    /// The directory could not be read (message says why).
    Io(String),
    /// The files have errors, each with file and line.
    Invalid(Vec<CatalogError>),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Io(m) => f.write_str(m),
            LoadError::Invalid(e) => match e.as_slice() {
                [one] => write!(f, "{one}"),
                [first, ..] => write!(f, "{} errors, the first: {first}", e.len()),
                [] => f.write_str("invalid"),
            },
        }
    }
}

/// The loaded catalog and its port index.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub entries: Vec<Entry>,
    index: PortIndex,
}

impl PartialEq for Catalog {
    fn eq(&self, o: &Self) -> bool {
        self.entries == o.entries
    }
}

/// Entries by transport and port: for each port, a slice of entry numbers (catalog order).
/// Built once; a lookup is two loads and a slice.
#[derive(Debug, Clone, Default)]
struct PortIndex {
    /// `off[t][p]..off[t][p + 1]` are port `p`'s entries in `flat[t]` (t: 0 tcp, 1 udp).
    off: [Vec<u32>; 2],
    flat: [Vec<u16>; 2],
    /// Entries a port alone cannot match, in catalog order: those listing `dynamic-rpc`, those
    /// whose ports are `announced_by = "sdp"`, those listing `any`.
    dynamic_rpc: Vec<u16>,
    sdp: Vec<u16>,
    any_port: Vec<u16>,
}

impl PortIndex {
    /// Work in proportion to the ports the entries list (not entries × 65536): count each
    /// port's entries, lay the counts out, fill in catalog order. An entry counts once per port
    /// even when two of its specs overlap.
    fn build(entries: &[Entry]) -> PortIndex {
        let mut idx = PortIndex::default();
        for (t, tr) in [Transport::Tcp, Transport::Udp].into_iter().enumerate() {
            let users = || {
                entries
                    .iter()
                    .enumerate()
                    .filter(move |(_, e)| e.transport.contains(&tr) && e.announced_by.is_none())
            };
            // every (entry, port) once, in catalog order
            let each = |f: &mut dyn FnMut(usize, usize)| {
                let mut last = vec![u32::MAX; 65_536];
                for (i, e) in users() {
                    for spec in &e.ports {
                        let (a, b) = match *spec {
                            PortSpec::One(p) => (p, p),
                            PortSpec::Range(a, b) => (a, b),
                            PortSpec::DynamicRpc | PortSpec::Any => continue,
                        };
                        let ports = last.iter_mut().enumerate().take(b as usize + 1).skip(a as usize);
                        for (p, seen) in ports {
                            if *seen != i as u32 {
                                *seen = i as u32;
                                f(i, p);
                            }
                        }
                    }
                }
            };
            let mut off = vec![0u32; 65_537];
            each(&mut |_, p| off[p + 1] += 1);
            for p in 1..off.len() {
                off[p] += off[p - 1];
            }
            let mut flat = vec![0u16; off[65_536] as usize];
            let mut next: Vec<u32> = off[..65_536].to_vec();
            each(&mut |i, p| {
                flat[next[p] as usize] = i as u16;
                next[p] += 1;
            });
            idx.off[t] = off;
            idx.flat[t] = flat;
        }
        let having = |f: &dyn Fn(&Entry) -> bool| {
            entries
                .iter()
                .enumerate()
                .filter(|(_, e)| f(e))
                .map(|(i, _)| i as u16)
                .collect::<Vec<u16>>()
        };
        idx.dynamic_rpc = having(&|e| e.ports.contains(&PortSpec::DynamicRpc));
        idx.sdp = having(&|e| e.announced_by == Some(Announcer::Sdp));
        idx.any_port = having(&|e| e.ports.contains(&PortSpec::Any));
        idx
    }

    fn get(&self, proto: u8, port: u16) -> &[u16] {
        let t = match proto {
            IPPROTO_TCP => 0,
            IPPROTO_UDP => 1,
            _ => return &[],
        };
        match (self.off[t].get(port as usize), self.off[t].get(port as usize + 1)) {
            (Some(&a), Some(&b)) => &self.flat[t][a as usize..b as usize],
            _ => &[],
        }
    }
}

static EMBEDDED_CATALOG: LazyLock<Arc<Catalog>> = LazyLock::new(|| {
    Arc::new(Catalog::from_sources(EMBEDDED).unwrap_or_else(|e| {
        panic!(
            "the embedded catalog is invalid: {}",
            e.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; ")
        )
    }))
});

impl Catalog {
    /// The catalog built into the binary (parsed once per process).
    pub fn embedded() -> Arc<Catalog> {
        EMBEDDED_CATALOG.clone()
    }

    /// Parse and check `(file name, text)` pairs as one catalog: every error of every file.
    pub fn from_sources<N: AsRef<str>, T: AsRef<str>>(files: &[(N, T)]) -> Result<Catalog, Vec<CatalogError>> {
        let mut entries = Vec::new();
        let mut errors = Vec::new();
        for (name, text) in files {
            parse_file(name.as_ref(), text.as_ref(), &mut entries, &mut errors);
        }
        let mut seen: HashMap<&str, (&str, usize)> = HashMap::new();
        for e in &entries {
            if let Some((f, l)) = seen.get(e.id.as_str()) {
                errors.push(CatalogError {
                    file: e.file.clone(),
                    line: e.line,
                    message: format!("duplicate id \"{}\" (first defined at {f}:{l})", e.id),
                });
            } else {
                seen.insert(&e.id, (&e.file, e.line));
            }
        }
        if entries.len() > u16::MAX as usize {
            errors.push(CatalogError {
                file: "catalog".into(),
                line: 0,
                message: format!("{} entries; at most {}", entries.len(), u16::MAX),
            });
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let index = PortIndex::build(&entries);
        Ok(Catalog { entries, index })
    }

    /// The `*.toml` files of `dir`, sorted by name, as `(path, text)`.
    pub fn read_dir(dir: &Path) -> Result<Vec<(String, String)>, LoadError> {
        let rd = std::fs::read_dir(dir).map_err(|e| LoadError::Io(format!("{}: {e}", dir.display())))?;
        let mut paths = Vec::new();
        for ent in rd {
            let ent = ent.map_err(|e| LoadError::Io(format!("{}: {e}", dir.display())))?;
            let p = ent.path();
            if p.extension().is_some_and(|x| x == "toml") && p.is_file() {
                paths.push(p);
            }
        }
        paths.sort();
        if paths.is_empty() {
            return Err(LoadError::Io(format!("{}: no *.toml files", dir.display())));
        }
        paths
            .into_iter()
            .map(|p| {
                std::fs::read_to_string(&p)
                    .map(|t| (p.display().to_string(), t))
                    .map_err(|e| LoadError::Io(format!("{}: {e}", p.display())))
            })
            .collect()
    }

    /// Load a catalog: `base` replaces the embedded files when given, each of `extra` adds
    /// its files; ids must be unique over all of them.
    pub fn load(base: Option<&Path>, extra: &[&Path]) -> Result<Catalog, LoadError> {
        let mut files: Vec<(String, String)> = match base {
            Some(d) => Catalog::read_dir(d)?,
            None => EMBEDDED.iter().map(|(n, t)| (n.to_string(), t.to_string())).collect(),
        };
        for d in extra {
            files.extend(Catalog::read_dir(d)?);
        }
        Catalog::from_sources(&files).map_err(LoadError::Invalid)
    }

    /// The entries a flow to `port` over IP protocol `proto` can be by its port alone, in
    /// catalog order.
    pub fn port_candidates(&self, proto: u8, port: u16) -> impl ExactSizeIterator<Item = &Entry> + Clone {
        self.index.get(proto, port).iter().map(|&i| &self.entries[i as usize])
    }

    /// [`Catalog::port_candidates`] as entry numbers (for the label matcher).
    pub(super) fn port_ids(&self, proto: u8, port: u16) -> &[u16] {
        self.index.get(proto, port)
    }

    /// The entry numbers of the `dynamic-rpc`, `sdp` and `any`-port lists.
    pub(super) fn special_ids(&self) -> (&[u16], &[u16], &[u16]) {
        (&self.index.dynamic_rpc, &self.index.sdp, &self.index.any_port)
    }

    /// The entries listing `dynamic-rpc` (a port the endpoint mapper hands out), in catalog order.
    pub fn dynamic_rpc_entries(&self) -> impl ExactSizeIterator<Item = &Entry> + Clone {
        self.index.dynamic_rpc.iter().map(|&i| &self.entries[i as usize])
    }

    /// The entries whose ports SIP/SDP announces (`announced_by = "sdp"`), in catalog order.
    pub fn sdp_entries(&self) -> impl ExactSizeIterator<Item = &Entry> + Clone {
        self.index.sdp.iter().map(|&i| &self.entries[i as usize])
    }

    /// The entries listing the port `any`, in catalog order.
    pub fn any_port_entries(&self) -> impl ExactSizeIterator<Item = &Entry> + Clone {
        self.index.any_port.iter().map(|&i| &self.entries[i as usize])
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The catalog as a table for people: id, versions, roles, transport/ports, protocol,
    /// encryption; one line an entry, columns padded.
    pub fn table(&self) -> String {
        let join = |v: &mut dyn Iterator<Item = String>, sep: &str| v.collect::<Vec<_>>().join(sep);
        let mut rows: Vec<[String; 6]> = vec![[
            "ID".into(),
            "VERSIONS".into(),
            "SRC -> DST".into(),
            "TRANSPORT/PORTS".into(),
            "PROTOCOL".into(),
            "ENCRYPTION".into(),
        ]];
        for e in &self.entries {
            let roles = |r: &[Role]| join(&mut r.iter().map(|r| r.to_string()), ",");
            let arrow = if e.bidirectional { " <-> " } else { " -> " };
            let transport = join(&mut e.transport.iter().map(|t| t.as_str().to_string()), "+");
            let ports = join(&mut e.ports.iter().map(|p| p.to_string()), ",");
            let sdp = if e.announced_by.is_some() { " (sdp)" } else { "" };
            let enc = match e.encryption.with.as_slice() {
                [] => e.encryption.level.to_string(),
                w => format!(
                    "{} {}",
                    e.encryption.level,
                    join(&mut w.iter().map(|c| c.to_string()), "/")
                ),
            };
            rows.push([
                e.id.clone(),
                e.exchange_versions.join(","),
                format!("{}{arrow}{}", roles(&e.src_role), roles(&e.dst_role)),
                format!("{transport}/{ports}{sdp}"),
                e.protocol.to_string(),
                enc,
            ]);
        }
        let mut width = [0usize; 6];
        for r in &rows {
            for (w, c) in width.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let mut out = String::new();
        for r in &rows {
            let mut line = String::new();
            for (i, c) in r.iter().enumerate() {
                line.push_str(c);
                if i + 1 < r.len() {
                    line.extend(std::iter::repeat_n(' ', width[i] - c.chars().count() + 2));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Line numbers of byte offsets.
pub(super) struct Lines(Vec<usize>);

impl Lines {
    pub(super) fn new(text: &str) -> Lines {
        let mut v = vec![0];
        v.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Lines(v)
    }
    pub(super) fn line(&self, offset: usize) -> usize {
        self.0.partition_point(|&s| s <= offset).max(1)
    }
}

pub(super) struct Ctx<'a> {
    pub(super) file: &'a str,
    pub(super) lines: Lines,
    pub(super) errors: &'a mut Vec<CatalogError>,
}

impl Ctx<'_> {
    pub(super) fn err(&mut self, offset: usize, message: String) {
        let line = self.lines.line(offset);
        self.errors.push(CatalogError {
            file: self.file.to_string(),
            line,
            message,
        });
    }
}

pub(super) type V<'i> = Spanned<DeValue<'i>>;

pub(super) fn kind(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

fn parse_file(file: &str, text: &str, out: &mut Vec<Entry>, errors: &mut Vec<CatalogError>) {
    let mut cx = Ctx {
        file,
        lines: Lines::new(text),
        errors,
    };
    let (doc, syntax) = DeTable::parse_recoverable(text);
    let had_syntax = !syntax.is_empty();
    for e in syntax {
        let at = e.span().map_or(0, |s| s.start);
        cx.err(at, format!("TOML: {}", e.message().trim()));
    }
    if had_syntax {
        // what was recovered may be half an entry: its errors would be noise
        return;
    }
    let start = out.len();
    for (k, v) in doc.get_ref().iter() {
        if k.get_ref() != "path" {
            cx.err(
                k.span().start,
                format!(
                    "unknown top-level key \"{}\" (a file holds [[path]] tables)",
                    k.get_ref()
                ),
            );
            continue;
        }
        match v.get_ref() {
            DeValue::Array(items) => {
                for item in items {
                    match item.get_ref() {
                        DeValue::Table(t) => {
                            if let Some(e) = entry(&mut cx, item.span().start, t) {
                                out.push(e);
                            }
                        }
                        other => cx.err(
                            item.span().start,
                            format!("path: expected a table, found {}", kind(other)),
                        ),
                    }
                }
            }
            other => cx.err(
                v.span().start,
                format!("path: expected [[path]] tables, found {}", kind(other)),
            ),
        }
    }
    // the map is ordered by key, the array by position: entries stay in file order
    out[start..].sort_by_key(|e| e.line);
}

const KEYS: &[&str] = &[
    "id",
    "name",
    "exchange_versions",
    "src_role",
    "dst_role",
    "bidirectional",
    "transport",
    "ports",
    "announced_by",
    "protocol",
    "auth_default",
    "auth_supported",
    "encryption",
    "source",
    "notes",
    "interfaces",
];

/// The line of a table: the span of an array-of-tables item starts at its first key, so the
/// `[[path]]` header is the line above the earliest key; report at the earliest key.
fn table_start(at: usize, t: &DeTable<'_>) -> usize {
    t.iter().map(|(k, _)| k.span().start).min().unwrap_or(at)
}

fn entry(cx: &mut Ctx<'_>, at: usize, t: &DeTable<'_>) -> Option<Entry> {
    let at = table_start(at, t);
    let before = cx.errors.len();
    for (k, _) in t.iter() {
        if !KEYS.contains(&k.get_ref().as_ref()) {
            cx.err(
                k.span().start,
                format!("unknown key \"{}\" (known: {})", k.get_ref(), KEYS.join(", ")),
            );
        }
    }
    let id_for_msgs = match t.get("id").map(|v| v.get_ref()) {
        Some(DeValue::String(s)) => s.to_string(),
        _ => String::from("(no id)"),
    };
    let req = |cx: &mut Ctx<'_>, key: &str| required(cx, t, at, &id_for_msgs, key);
    let id = req(cx, "id").and_then(|v| string(cx, "id", v));
    let name = req(cx, "name").and_then(|v| string(cx, "name", v));
    let versions = req(cx, "exchange_versions").and_then(|v| versions(cx, v));
    let src_role = req(cx, "src_role").and_then(|v| word_list(cx, "src_role", v, Role::from_word, Role::WORDS, false));
    let dst_role = req(cx, "dst_role").and_then(|v| word_list(cx, "dst_role", v, Role::from_word, Role::WORDS, false));
    let transport = req(cx, "transport").and_then(|v| transports(cx, v));
    let ports = req(cx, "ports").and_then(|v| ports(cx, v));
    let protocol = req(cx, "protocol").and_then(|v| word(cx, "protocol", v, Protocol::from_word, Protocol::WORDS));
    let auth_default =
        req(cx, "auth_default").and_then(|v| word_list(cx, "auth_default", v, Auth::from_word, Auth::WORDS, false));
    let encryption = req(cx, "encryption").and_then(|v| encryption(cx, v));
    let source = req(cx, "source").and_then(|v| source(cx, v));
    let bidirectional = match t.get("bidirectional") {
        None => Some(false),
        Some(v) => match v.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            o => {
                cx.err(
                    v.span().start,
                    format!("bidirectional: expected true or false, found {}", kind(o)),
                );
                None
            }
        },
    };
    let auth_supported = match t.get("auth_supported") {
        None => Some(Vec::new()),
        Some(v) => word_list(cx, "auth_supported", v, Auth::from_word, Auth::WORDS, true),
    };
    let announced_by = match t.get("announced_by") {
        None => Some(None),
        Some(v) => match string(cx, "announced_by", v).as_deref() {
            Some("sdp") => Some(Some(Announcer::Sdp)),
            Some(o) => {
                cx.err(
                    v.span().start,
                    format!("announced_by: unknown word \"{o}\" (known: sdp)"),
                );
                None
            }
            None => None,
        },
    };
    let notes = match t.get("notes") {
        None => Some(Vec::new()),
        Some(v) => string_list(cx, "notes", v, true),
    };
    let interfaces = match t.get("interfaces") {
        None => Some(Vec::new()),
        Some(v) => {
            let names: Vec<&'static str> = INTERFACES.iter().map(|&(_, n)| n).collect();
            let list = word_list(
                cx,
                "interfaces",
                v,
                |s| names.iter().copied().find(|n| *n == s),
                &names,
                false,
            );
            if list.is_some() && protocol.is_some_and(|p| p != Protocol::Dcerpc) {
                cx.err(v.span().start, "interfaces: only for protocol \"dcerpc\"".into());
            }
            list
        }
    };
    if let Some(id) = &id
        && (id.is_empty()
            || !id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-'))
    {
        let v = t.get("id").map_or(at, |v| v.span().start);
        cx.err(v, format!("id \"{id}\": use lower-case letters, digits, '.' and '-'"));
    }
    if let Some(n) = &name
        && n.trim().is_empty()
    {
        cx.err(t.get("name").map_or(at, |v| v.span().start), "name is empty".into());
    }
    if cx.errors.len() > before {
        return None;
    }
    Some(Entry {
        id: id?,
        name: name?,
        exchange_versions: versions?,
        src_role: src_role?,
        dst_role: dst_role?,
        bidirectional: bidirectional?,
        transport: transport?,
        ports: ports?,
        announced_by: announced_by?,
        protocol: protocol?,
        auth_default: auth_default?,
        auth_supported: auth_supported?,
        encryption: encryption?,
        source: source?,
        notes: notes?,
        interfaces: interfaces?,
        file: cx.file.to_string(),
        line: cx.lines.line(at),
    })
}

fn required<'t, 'i>(cx: &mut Ctx<'_>, t: &'t DeTable<'i>, at: usize, id: &str, key: &str) -> Option<&'t V<'i>> {
    let v = t.get(key);
    if v.is_none() {
        cx.err(at, format!("{id}: missing required key \"{key}\""));
    }
    v
}

fn string(cx: &mut Ctx<'_>, key: &str, v: &V<'_>) -> Option<String> {
    match v.get_ref() {
        DeValue::String(s) => Some(s.to_string()),
        o => {
            cx.err(v.span().start, format!("{key}: expected a string, found {}", kind(o)));
            None
        }
    }
}

/// A string, or a list of strings (`allow_empty`: whether `[]` is fine).
fn string_list(cx: &mut Ctx<'_>, key: &str, v: &V<'_>, allow_empty: bool) -> Option<Vec<String>> {
    Some(
        spanned_strings(cx, key, v, allow_empty)?
            .into_iter()
            .map(|(_, s)| s)
            .collect(),
    )
}

pub(super) fn spanned_strings(
    cx: &mut Ctx<'_>,
    key: &str,
    v: &V<'_>,
    allow_empty: bool,
) -> Option<Vec<(usize, String)>> {
    match v.get_ref() {
        DeValue::String(s) => Some(vec![(v.span().start, s.to_string())]),
        DeValue::Array(a) => {
            if a.is_empty() && !allow_empty {
                cx.err(v.span().start, format!("{key}: must not be empty"));
                return None;
            }
            let mut out = Vec::with_capacity(a.len());
            let mut ok = true;
            for x in a {
                match x.get_ref() {
                    DeValue::String(s) => out.push((x.span().start, s.to_string())),
                    o => {
                        cx.err(x.span().start, format!("{key}: expected a string, found {}", kind(o)));
                        ok = false;
                    }
                }
            }
            ok.then_some(out)
        }
        o => {
            cx.err(
                v.span().start,
                format!("{key}: expected a string or a list of strings, found {}", kind(o)),
            );
            None
        }
    }
}

fn word<T>(cx: &mut Ctx<'_>, key: &str, v: &V<'_>, from: impl Fn(&str) -> Option<T>, known: &[&str]) -> Option<T> {
    let s = string(cx, key, v)?;
    let w = from(&s);
    if w.is_none() {
        cx.err(
            v.span().start,
            format!("{key}: unknown word \"{s}\" (known: {})", known.join(", ")),
        );
    }
    w
}

fn word_list<T: PartialEq>(
    cx: &mut Ctx<'_>,
    key: &str,
    v: &V<'_>,
    from: impl Fn(&str) -> Option<T>,
    known: &[&str],
    allow_empty: bool,
) -> Option<Vec<T>> {
    let items = spanned_strings(cx, key, v, allow_empty)?;
    let mut out = Vec::with_capacity(items.len());
    let mut ok = true;
    for (at, s) in items {
        match from(&s) {
            Some(w) if out.contains(&w) => {
                cx.err(at, format!("{key}: \"{s}\" twice"));
                ok = false;
            }
            Some(w) => out.push(w),
            None => {
                cx.err(at, format!("{key}: unknown word \"{s}\" (known: {})", known.join(", ")));
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

fn versions(cx: &mut Ctx<'_>, v: &V<'_>) -> Option<Vec<String>> {
    let items = spanned_strings(cx, "exchange_versions", v, false)?;
    let mut ok = true;
    for (at, s) in &items {
        if !VERSIONS.contains(&s.as_str()) {
            cx.err(
                *at,
                format!(
                    "exchange_versions: unknown version \"{s}\" (known: {})",
                    VERSIONS.join(", ")
                ),
            );
            ok = false;
        }
    }
    ok.then(|| items.into_iter().map(|(_, s)| s).collect())
}

fn transports(cx: &mut Ctx<'_>, v: &V<'_>) -> Option<Vec<Transport>> {
    let from = |s: &str| match s {
        "tcp" => Some(Transport::Tcp),
        "udp" => Some(Transport::Udp),
        _ => None,
    };
    word_list(cx, "transport", v, from, &["tcp", "udp"], false)
}

fn ports(cx: &mut Ctx<'_>, v: &V<'_>) -> Option<Vec<PortSpec>> {
    let DeValue::Array(a) = v.get_ref() else {
        cx.err(
            v.span().start,
            format!("ports: expected a list, found {}", kind(v.get_ref())),
        );
        return None;
    };
    if a.is_empty() {
        cx.err(v.span().start, "ports: must not be empty".into());
        return None;
    }
    let mut out = Vec::with_capacity(a.len());
    let mut ok = true;
    for x in a {
        let at = x.span().start;
        let p = match x.get_ref() {
            DeValue::Integer(i) => match u16::from_str_radix(i.as_str(), i.radix()) {
                Ok(p) if p > 0 => Ok(PortSpec::One(p)),
                _ => Err(format!("ports: {i} is not a port (1-65535)")),
            },
            DeValue::String(s) => port_str(s),
            o => Err(format!(
                "ports: expected a port, a \"LO-HI\" range or \"dynamic-rpc\", found {}",
                kind(o)
            )),
        };
        match p {
            Ok(p) if out.contains(&p) => {
                cx.err(at, format!("ports: {p} twice"));
                ok = false;
            }
            Ok(p) => out.push(p),
            Err(m) => {
                cx.err(at, m);
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

fn port_str(s: &str) -> Result<PortSpec, String> {
    match s {
        "dynamic-rpc" => return Ok(PortSpec::DynamicRpc),
        "any" => return Ok(PortSpec::Any),
        _ => {}
    }
    let bad =
        || format!("ports: \"{s}\" is not a port, a \"LO-HI\" range (1-65535, LO < HI), \"dynamic-rpc\" or \"any\"");
    let (a, b) = s.split_once('-').ok_or_else(bad)?;
    let num = |x: &str| {
        let x = x.trim();
        (!x.is_empty() && x.bytes().all(|c| c.is_ascii_digit()))
            .then(|| x.parse::<u16>().ok())
            .flatten()
            .filter(|&p| p > 0)
    };
    match (num(a), num(b)) {
        (Some(a), Some(b)) if a < b => Ok(PortSpec::Range(a, b)),
        _ => Err(bad()),
    }
}

fn encryption(cx: &mut Ctx<'_>, v: &V<'_>) -> Option<Encryption> {
    let DeValue::Table(t) = v.get_ref() else {
        cx.err(
            v.span().start,
            format!(
                "encryption: expected {{ level = \"...\", with = [...] }}, found {}",
                kind(v.get_ref())
            ),
        );
        return None;
    };
    let at = v.span().start;
    for (k, _) in t.iter() {
        if !["level", "with"].contains(&k.get_ref().as_ref()) {
            cx.err(
                k.span().start,
                format!("encryption: unknown key \"{}\" (known: level, with)", k.get_ref()),
            );
        }
    }
    let level = match t.get("level") {
        None => {
            cx.err(at, "encryption: missing required key \"level\"".into());
            None
        }
        Some(l) => word(cx, "encryption.level", l, Level::from_word, Level::WORDS),
    };
    let with = match t.get("with") {
        None => Some(Vec::new()),
        Some(w) => word_list(cx, "encryption.with", w, Crypto::from_word, Crypto::WORDS, true),
    };
    let (level, with) = (level?, with?);
    if with.is_empty() && !matches!(level, Level::None | Level::Unspecified) {
        cx.err(
            at,
            format!("encryption: level \"{level}\" needs `with` (what encryption)"),
        );
        return None;
    }
    if !with.is_empty() && level == Level::None {
        cx.err(at, "encryption: level \"none\" with an encryption listed".into());
        return None;
    }
    Some(Encryption { level, with })
}

fn source(cx: &mut Ctx<'_>, v: &V<'_>) -> Option<Source> {
    let DeValue::Table(t) = v.get_ref() else {
        cx.err(
            v.span().start,
            format!(
                "source: expected {{ seed = \"...\", row = \"...\", ref = false }}, found {}",
                kind(v.get_ref())
            ),
        );
        return None;
    };
    let at = v.span().start;
    for (k, _) in t.iter() {
        if !["seed", "row", "ref"].contains(&k.get_ref().as_ref()) {
            cx.err(
                k.span().start,
                format!("source: unknown key \"{}\" (known: seed, row, ref)", k.get_ref()),
            );
        }
    }
    let seed = match t.get("seed") {
        None => {
            cx.err(at, "source: missing required key \"seed\"".into());
            None
        }
        Some(s) => string(cx, "source.seed", s),
    };
    let row = match t.get("row") {
        None => Some(None),
        Some(r) => string(cx, "source.row", r).map(Some),
    };
    let reference = match t.get("ref") {
        None => Some(false),
        Some(r) => match r.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            o => {
                cx.err(
                    r.span().start,
                    format!("source.ref: expected true or false, found {}", kind(o)),
                );
                None
            }
        },
    };
    Some(Source {
        seed: seed?,
        row: row?,
        reference: reference?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"# a comment
[[path]]
id = "t.hub-edge-smtp"
name = "Hub to Edge (SMTP)"
exchange_versions = ["2010"]
src_role = "hub"
dst_role = ["edge"]
transport = "tcp"
ports = [25, "6001-6004", "dynamic-rpc"]
protocol = "smtp"
auth_default = ["direct-trust"]
encryption = { level = "default", with = ["starttls", "mutual-tls"] }
source = { seed = "전송 서버의 데이터 경로", row = "hub → edge", ref = true }
notes = ["self-signed certificate is expected here"]

[[path]]
id = "t.rtp"
name = "RTP"
exchange_versions = ["2010"]
src_role = "ip-gw"
dst_role = "um"
bidirectional = true
transport = ["udp"]
ports = ["1024-65535"]
announced_by = "sdp"
protocol = "rtp"
auth_default = ["ip-address"]
encryption = { level = "supported", with = ["srtp"] }
source = { seed = "통합 메시징" }
"#;

    fn load(text: &str) -> Result<Catalog, Vec<CatalogError>> {
        Catalog::from_sources(&[("t.toml", text)])
    }

    /// The errors of `text` as `(line, message)`.
    fn errors(text: &str) -> Vec<(usize, String)> {
        let mut v: Vec<_> = load(text)
            .expect_err("errors")
            .into_iter()
            .map(|e| {
                assert_eq!(e.file, "t.toml");
                (e.line, e.message)
            })
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_good_file_loads() {
        let c = load(GOOD).expect("loads");
        assert_eq!(c.len(), 2);
        let e = &c.entries[0];
        assert_eq!(e.id, "t.hub-edge-smtp");
        assert_eq!(e.line, 3, "the line of its first key");
        assert_eq!(e.src_role, vec![Role::Hub]);
        assert_eq!(e.dst_role, vec![Role::Edge]);
        assert_eq!(e.transport, vec![Transport::Tcp]);
        assert_eq!(
            e.ports,
            vec![PortSpec::One(25), PortSpec::Range(6001, 6004), PortSpec::DynamicRpc]
        );
        assert_eq!(e.protocol, Protocol::Smtp);
        assert_eq!(e.auth_default, vec![Auth::DirectTrust]);
        assert_eq!(e.encryption.level, Level::Default);
        assert_eq!(e.encryption.with, vec![Crypto::Starttls, Crypto::MutualTls]);
        assert_eq!(e.source.row.as_deref(), Some("hub → edge"));
        assert!(e.source.reference);
        assert_eq!(e.notes.len(), 1);
        let r = &c.entries[1];
        assert!(r.bidirectional);
        assert_eq!(r.announced_by, Some(Announcer::Sdp));
        assert!(!r.source.reference);

        let ids = |proto, port| {
            c.port_candidates(proto, port)
                .map(|e| e.id.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(IPPROTO_TCP, 25), ["t.hub-edge-smtp"]);
        assert_eq!(ids(IPPROTO_TCP, 6003), ["t.hub-edge-smtp"]);
        assert!(ids(IPPROTO_TCP, 6005).is_empty());
        assert!(ids(IPPROTO_UDP, 25).is_empty(), "other transport");
        assert!(
            ids(IPPROTO_UDP, 30000).is_empty(),
            "SDP-announced ports are not matched by port"
        );
        assert!(ids(1, 25).is_empty(), "ICMP");
    }

    #[test]
    fn word_sets_and_the_lists_a_port_cannot_find() {
        let s = RoleSet::of(&[Role::Cas, Role::Hub, Role::Cas]);
        assert_eq!(s.len(), 2);
        assert!(s.contains(Role::Hub) && !s.contains(Role::Edge));
        assert_eq!(s.to_string(), "hub,cas", "vocabulary order");
        assert_eq!(format!("{:?}", RoleSet::EMPTY), "{-}");
        assert!(s.intersects(RoleSet::EMPTY.with(Role::Cas)));
        assert_eq!(Role::ALL.len(), Role::WORDS.len());
        let all: ProtocolSet = Protocol::ALL.iter().copied().collect();
        assert_eq!(all.len(), Protocol::ALL.len());

        let c = load(GOOD).expect("loads");
        let ids = |it: &mut dyn Iterator<Item = &Entry>| it.map(|e| e.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&mut c.dynamic_rpc_entries()), ["t.hub-edge-smtp"]);
        assert_eq!(ids(&mut c.sdp_entries()), ["t.rtp"]);
        assert!(c.any_port_entries().len() == 0);
        let emb = Catalog::embedded();
        for e in emb.any_port_entries() {
            assert!(e.ports.contains(&PortSpec::Any), "{}", e.id);
        }
        assert!(emb.dynamic_rpc_entries().len() > 20);
    }

    #[test]
    fn the_index_is_the_definition() {
        let text = GOOD.replace("[25, \"6001-6004\", \"dynamic-rpc\"]", "[6002, \"6001-6004\", 25]");
        let c = load(&text).expect("loads");
        assert_eq!(
            c.port_candidates(IPPROTO_TCP, 6002).len(),
            1,
            "overlapping specs count once"
        );
        let emb = Catalog::embedded();
        for (proto, tr) in [(IPPROTO_TCP, Transport::Tcp), (IPPROTO_UDP, Transport::Udp)] {
            for port in 0..=u16::MAX {
                let want: Vec<&str> = emb
                    .entries
                    .iter()
                    .filter(|e| e.transport.contains(&tr) && e.port_matches(port))
                    .map(|e| e.id.as_str())
                    .collect();
                let got: Vec<&str> = emb.port_candidates(proto, port).map(|e| e.id.as_str()).collect();
                assert_eq!(got, want, "{tr:?} {port}");
            }
        }
    }

    #[test]
    fn toml_syntax_errors_have_their_line() {
        let e = errors("[[path]]\nid = \"a\"\nname = \"unterminated\n");
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].0, 3);
        assert!(e[0].1.starts_with("TOML:"), "{e:?}");
    }

    #[test]
    fn unknown_and_missing_keys() {
        let text = GOOD
            .replace("notes = [", "colour = \"red\"\nnotes = [")
            .replace("protocol = \"rtp\"\n", "");
        let e = errors(&text);
        assert_eq!(e.len(), 2, "{e:?}");
        assert_eq!(e[0].0, 14);
        assert!(e[0].1.contains("unknown key \"colour\""), "{e:?}");
        assert_eq!(e[1].0, 18, "reported at the entry's first line");
        assert!(e[1].1.contains("t.rtp: missing required key \"protocol\""), "{e:?}");
    }

    #[test]
    fn unknown_words() {
        let text = GOOD
            .replace("dst_role = [\"edge\"]", "dst_role = [\"edge\", \"printer\"]")
            .replace("protocol = \"smtp\"", "protocol = \"gopher\"")
            .replace("level = \"supported\"", "level = \"maybe\"")
            .replace("\"mutual-tls\"] }", "\"rot13\"] }")
            .replace("[\"ip-address\"]", "[\"password\"]")
            .replace("[\"2010\"]\nsrc_role = \"ip-gw\"", "[\"2011\"]\nsrc_role = \"ip-gw\"");
        let e = errors(&text);
        let lines: Vec<usize> = e.iter().map(|x| x.0).collect();
        assert_eq!(lines, [7, 10, 12, 19, 27, 28], "{e:?}");
        assert!(e[0].1.contains("dst_role: unknown word \"printer\""));
        assert!(e[1].1.contains("protocol: unknown word \"gopher\""));
        assert!(e[2].1.contains("encryption.with: unknown word \"rot13\""));
        assert!(e[3].1.contains("unknown version \"2011\""));
        assert!(e[4].1.contains("auth_default: unknown word \"password\""));
        assert!(e[5].1.contains("encryption.level: unknown word \"maybe\""));
    }

    #[test]
    fn bad_ports() {
        for (ports, msg) in [
            ("[0]", "0 is not a port"),
            ("[70000]", "70000 is not a port"),
            ("[\"6004-6001\"]", "\"6004-6001\" is not a port"),
            ("[\"6001-\"]", "\"6001-\" is not a port"),
            ("[\"x-y\"]", "\"x-y\" is not a port"),
            ("[\"dynamic\"]", "\"dynamic\" is not a port"),
            ("[25, 25]", "25 twice"),
            ("[]", "must not be empty"),
            ("25", "expected a list"),
        ] {
            let text = GOOD.replace(
                "ports = [25, \"6001-6004\", \"dynamic-rpc\"]",
                &format!("ports = {ports}"),
            );
            let e = errors(&text);
            assert_eq!(e.len(), 1, "{ports}: {e:?}");
            assert_eq!(e[0].0, 9, "{ports}");
            assert!(e[0].1.contains(msg), "{ports}: {e:?}");
        }
    }

    #[test]
    fn wrong_types_and_a_top_level_key() {
        let text = format!(
            "version = 2\n{}",
            GOOD.replace("bidirectional = true", "bidirectional = \"yes\"")
                .replace("name = \"RTP\"", "name = 5")
        );
        let e = errors(&text);
        assert_eq!(e.len(), 3, "{e:?}");
        assert_eq!(e[0].0, 1);
        assert!(e[0].1.contains("unknown top-level key \"version\""));
        assert_eq!(e[1].0, 19);
        assert!(e[1].1.contains("name: expected a string"));
        assert_eq!(e[2].0, 23);
        assert!(e[2].1.contains("bidirectional: expected true or false"));
    }

    #[test]
    fn rpc_interfaces() {
        let rpc = GOOD.replace(
            "protocol = \"smtp\"",
            "protocol = \"dcerpc\"\ninterfaces = [\"EMSMDB\", \"NSPI\"]",
        );
        let c = load(&rpc).expect("loads");
        assert_eq!(c.entries[0].interfaces, ["EMSMDB", "NSPI"]);
        assert!(c.entries[1].interfaces.is_empty());
        let e = errors(&rpc.replace("\"NSPI\"]", "\"nspi\"]"));
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].1.contains("interfaces: unknown word \"nspi\" (known: EPM,"),
            "{e:?}"
        );
        let e = errors(&GOOD.replace("protocol = \"smtp\"", "protocol = \"smtp\"\ninterfaces = [\"EMSMDB\"]"));
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].0, 11);
        assert!(e[0].1.contains("only for protocol \"dcerpc\""), "{e:?}");
    }

    #[test]
    fn encryption_must_say_what() {
        let e = errors(&GOOD.replace("with = [\"srtp\"]", "with = []"));
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].0, 28);
        assert!(e[0].1.contains("needs `with`"));
    }

    #[test]
    fn duplicate_ids_across_files() {
        let e = Catalog::from_sources(&[("a.toml", GOOD), ("b.toml", GOOD)]).expect_err("duplicates");
        assert_eq!(e.len(), 2, "{e:?}");
        assert_eq!(
            e[0].to_string(),
            "b.toml:3: duplicate id \"t.hub-edge-smtp\" (first defined at a.toml:3)"
        );
        assert_eq!(e[1].file, "b.toml");
        assert_eq!(e[1].line, 17);
    }
}
