//! The site inventory (`--inventory FILE`): which addresses hold which Exchange roles, and which
//! networks are the site's own.
//!
//! This module owns the file format, its checks, and the per-flow lookup. What is done with
//! the answer (labels, passive inference over the gaps) is [`super::roles`].
//!
//! # Format
//! A TOML file with two keys, both optional:
//!
//! ```toml
//! # networks that are ours; any address outside them is `internet`
//! internal = ["10.0.0.0/8", "192.168.0.0/16", "fd00::/8"]
//!
//! [roles]
//! hub = ["10.1.0.5", "10.1.0.6"]
//! edge = "203.0.113.10"            # one address may be a bare string
//! dc = ["10.1.0.0/28"]
//! client = ["10.20.0.0/16", "2001:db8:20::/48"]
//! mailbox = ["10.1.0.20"]          # a 2016 server: mailbox, and cas and hub too
//! cas = ["10.1.0.20"]
//! ```
//!
//! | key | value |
//! |---|---|
//! | `internal` | non-empty list of networks (`ADDR/LEN` or a bare address), IPv4 and IPv6. Absent: the private ranges [`DEFAULT_INTERNAL`] (RFC 1918, loopback, link-local, RFC 4193 unique local) are internal |
//! | `[roles]` | role word = an address or network, or a list of them. Words: every [`Role`] but `internet` (what is outside `internal`) and `any` (a catalog wildcard, not a host's role) |
//!
//! Rules:
//! - **Longest prefix wins**: an address takes the roles of the most specific network that
//!   names it, and only those (a `/32` hub inside a `/16` client range is a hub, not a client).
//! - **Several roles per address**: the same network under several role words gives it all of
//!   them (Exchange 2013+ merges roles on one server).
//! - **Named is internal**: an address the `[roles]` table names is the site's own even when it
//!   is outside `internal` (an Edge with a public address); only an address neither names is
//!   `internet`. An address inside `internal` that no role names is "internal, role unknown".
//! - **Host bits are an error**: `10.1.0.5/16` is rejected (the message names the network,
//!   `10.1.0.0/16`) rather than widened silently: a typo for `/32` would give a whole range a
//!   server's role. IPv4-mapped IPv6 (`::ffff:10.0.0.1`) is rejected too: exwatch sees such
//!   traffic as IPv4, so write the IPv4 address.
//! - Unknown keys, unknown role words, wrong types, unparsable networks, a network listed
//!   twice under one key and more than [`MAX_INVENTORY_PREFIXES`] networks are errors; each is
//!   reported with its file and line, all of them, not only the first (as the catalog's are).
//!
//! # Lookup
//! Per flow, without allocating: one table per address family and prefix length, sorted, so a
//! lookup is a binary search per distinct prefix length present (longest first; a site with
//! hosts, /28s and /16s does three). Built once at load.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::Path;

use toml::de::{DeTable, DeValue};

use super::catalog::{CatalogError, Ctx, Lines, LoadError, Role, RoleSet, V, kind, spanned_strings};
use crate::decode::Addr;

/// Networks an inventory may list (role entries and `internal` together): a site's servers
/// and client ranges are hundreds; this keeps a generated file from growing without bound.
pub const MAX_INVENTORY_PREFIXES: usize = 65_536;
/// The largest inventory file read.
pub const MAX_INVENTORY_BYTES: u64 = 16 << 20;
/// What is internal when the file names no `internal` networks (or there is no inventory):
/// RFC 1918, IPv4 loopback and link-local, RFC 4193 unique local, IPv6 loopback and link-local.
pub const DEFAULT_INTERNAL: &[&str] = &[
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "fc00::/7",
    "::1/128",
    "fe80::/10",
];

/// An error in an inventory file: `file:line: message`, the catalog's shape.
pub type InventoryError = CatalogError;

/// An IPv4 or IPv6 network: address bits (IPv4 in the low 32) and prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cidr {
    pub v6: bool,
    pub net: u128,
    pub len: u8,
}

fn width(v6: bool) -> u8 {
    if v6 { 128 } else { 32 }
}

fn mask(v6: bool, len: u8) -> u128 {
    let w = width(v6);
    let full = if v6 { u128::MAX } else { u32::MAX as u128 };
    if len == 0 { 0 } else { (full << (w - len)) & full }
}

fn addr_bits(a: &Addr) -> u128 {
    if a.v6 {
        u128::from_be_bytes(a.bytes)
    } else {
        u32::from_be_bytes([a.bytes[0], a.bytes[1], a.bytes[2], a.bytes[3]]) as u128
    }
}

impl Cidr {
    /// `ADDR/LEN` or a bare address (a host: /32 or /128).
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let (a, l) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let ip: IpAddr = a
            .parse()
            .map_err(|_| format!("\"{s}\" is not an address or network (ADDR or ADDR/LEN)"))?;
        let (v6, bits) = match ip {
            IpAddr::V4(v) => (false, u32::from(v) as u128),
            IpAddr::V6(v) if v.to_ipv4_mapped().is_some() => {
                return Err(format!(
                    "\"{s}\" is IPv4-mapped IPv6: exwatch sees that traffic as IPv4, write the IPv4 address"
                ));
            }
            IpAddr::V6(v) => (true, u128::from(v)),
        };
        let w = width(v6);
        let len = match l {
            None => w,
            Some(l) => match l.parse::<u8>() {
                Ok(n) if n <= w && l.bytes().all(|b| b.is_ascii_digit()) => n,
                _ => return Err(format!("\"{s}\": prefix length must be 0 to {w}")),
            },
        };
        let net = bits & mask(v6, len);
        if net != bits {
            let c = Cidr { v6, net, len };
            return Err(format!(
                "\"{s}\" has host bits set (the network is {c}; a single host is {a})"
            ));
        }
        Ok(Cidr { v6, net, len })
    }

    pub fn contains(&self, a: &Addr) -> bool {
        a.v6 == self.v6 && addr_bits(a) & mask(self.v6, self.len) == self.net
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ip = if self.v6 {
            IpAddr::from(self.net.to_be_bytes())
        } else {
            IpAddr::from((self.net as u32).to_be_bytes())
        };
        write!(f, "{ip}/{}", self.len)
    }
}

/// Networks of one family and one prefix length, sorted by network.
#[derive(Debug, Clone, Default)]
struct Level<T> {
    len: u8,
    nets: Vec<(u128, T)>,
}

/// Longest-prefix tables: per family, one [`Level`] per prefix length present, longest first.
#[derive(Debug, Clone)]
struct Prefixes<T> {
    fam: [Vec<Level<T>>; 2],
    count: usize,
}

impl<T> Default for Prefixes<T> {
    fn default() -> Self {
        Prefixes {
            fam: [Vec::new(), Vec::new()],
            count: 0,
        }
    }
}

impl<T: Copy> Prefixes<T> {
    fn build(items: impl IntoIterator<Item = (Cidr, T)>) -> Self {
        let mut p = Prefixes::default();
        for (c, v) in items {
            let levels = &mut p.fam[c.v6 as usize];
            match levels.iter_mut().find(|l| l.len == c.len) {
                Some(l) => l.nets.push((c.net, v)),
                None => levels.push(Level {
                    len: c.len,
                    nets: vec![(c.net, v)],
                }),
            }
            p.count += 1;
        }
        for levels in &mut p.fam {
            levels.sort_by_key(|l| std::cmp::Reverse(l.len));
            for l in levels.iter_mut() {
                l.nets.sort_by_key(|&(n, _)| n);
            }
        }
        p
    }

    /// The value of the longest prefix holding `a`.
    fn longest(&self, a: &Addr) -> Option<T> {
        let bits = addr_bits(a);
        self.fam[a.v6 as usize].iter().find_map(|l| {
            let key = bits & mask(a.v6, l.len);
            l.nets.binary_search_by_key(&key, |&(n, _)| n).ok().map(|i| l.nets[i].1)
        })
    }
}

/// A loaded inventory.
#[derive(Debug, Clone)]
pub struct Inventory {
    /// Where it was loaded from (for messages).
    pub file: String,
    roles: Prefixes<RoleSet>,
    internal: Prefixes<()>,
    /// The file named no `internal` networks: [`DEFAULT_INTERNAL`] is used.
    pub default_internal: bool,
}

/// No roles; the default internal ranges. What exwatch uses with no `--inventory`.
impl Default for Inventory {
    fn default() -> Self {
        Inventory {
            file: String::new(),
            roles: Prefixes::default(),
            internal: default_internal(),
            default_internal: true,
        }
    }
}

fn default_internal() -> Prefixes<()> {
    Prefixes::build(
        DEFAULT_INTERNAL
            .iter()
            .filter_map(|s| Cidr::parse(s).ok())
            .map(|c| (c, ())),
    )
}

impl Inventory {
    /// The roles the longest network holding `a` gives it (empty when none names it).
    pub fn roles_of(&self, a: &Addr) -> RoleSet {
        self.roles.longest(a).unwrap_or_default()
    }

    /// Whether `a` is the site's own: inside an `internal` network, or named in `[roles]`.
    pub fn is_internal(&self, a: &Addr) -> bool {
        self.internal.longest(a).is_some() || self.roles.longest(a).is_some()
    }

    /// Role networks listed (a network under several roles counts once).
    pub fn role_networks(&self) -> usize {
        self.roles.count
    }

    /// Internal networks (the defaults when the file names none).
    pub fn internal_networks(&self) -> usize {
        self.internal.count
    }

    /// Read and check `path`: an unreadable or oversized file is `LoadError::Io`, a file with
    /// errors `LoadError::Invalid` with every error.
    pub fn load(path: &Path) -> Result<Inventory, LoadError> {
        use std::io::Read;
        let io = |e: std::io::Error| LoadError::Io(format!("{}: {e}", path.display()));
        let f = std::fs::File::open(path).map_err(io)?;
        let mut bytes = Vec::new();
        f.take(MAX_INVENTORY_BYTES + 1).read_to_end(&mut bytes).map_err(io)?;
        if bytes.len() as u64 > MAX_INVENTORY_BYTES {
            return Err(LoadError::Io(format!(
                "{}: larger than {MAX_INVENTORY_BYTES} bytes",
                path.display()
            )));
        }
        let text =
            String::from_utf8(bytes).map_err(|e| LoadError::Io(format!("{}: not UTF-8 text ({e})", path.display())))?;
        Inventory::from_text(&path.display().to_string(), &text).map_err(LoadError::Invalid)
    }

    /// Parse and check one file's text (`file` names it in errors): every error, in line order.
    pub fn from_text(file: &str, text: &str) -> Result<Inventory, Vec<InventoryError>> {
        let mut errors = Vec::new();
        let parsed = parse(file, text, &mut errors);
        errors.sort_by_key(|e| e.line);
        match parsed {
            Some((roles, internal)) if errors.is_empty() => Ok(Inventory {
                file: file.to_string(),
                roles: Prefixes::build(roles),
                default_internal: internal.is_none(),
                internal: match internal {
                    Some(nets) => Prefixes::build(nets.into_iter().map(|c| (c, ()))),
                    None => default_internal(),
                },
            }),
            _ => Err(errors),
        }
    }
}

/// Role networks (merged: one entry a network) and the `internal` networks if given.
type Parsed = (Vec<(Cidr, RoleSet)>, Option<Vec<Cidr>>);

fn parse(file: &str, text: &str, errors: &mut Vec<InventoryError>) -> Option<Parsed> {
    let mut cx = Ctx {
        file,
        lines: Lines::new(text),
        errors,
    };
    let (doc, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        for e in syntax {
            let at = e.span().map_or(0, |s| s.start);
            cx.err(at, format!("TOML: {}", e.message().trim()));
        }
        return None;
    }
    let mut count = 0usize;
    let mut internal = None;
    let mut roles: BTreeMap<Cidr, RoleSet> = BTreeMap::new();
    for (k, v) in doc.get_ref().iter() {
        match k.get_ref().as_ref() {
            "internal" => internal = internal_nets(&mut cx, v, &mut count),
            "roles" => role_table(&mut cx, v, &mut roles, &mut count),
            other => cx.err(
                k.span().start,
                format!("unknown top-level key \"{other}\" (known: internal, roles)"),
            ),
        }
    }
    Some((roles.into_iter().collect(), internal))
}

/// The networks of one list; each error reported at its item. `count` bounds the total.
fn networks(cx: &mut Ctx<'_>, key: &str, v: &V<'_>, allow_empty: bool, count: &mut usize) -> Vec<Cidr> {
    let Some(items) = spanned_strings(cx, key, v, allow_empty) else {
        return Vec::new();
    };
    let mut out: Vec<Cidr> = Vec::with_capacity(items.len().min(MAX_INVENTORY_PREFIXES));
    for (at, s) in items {
        match Cidr::parse(s.trim()) {
            Ok(c) if out.contains(&c) => cx.err(at, format!("{key}: {c} twice")),
            Ok(c) => {
                *count += 1;
                if *count == MAX_INVENTORY_PREFIXES + 1 {
                    cx.err(
                        at,
                        format!("{key}: more than {MAX_INVENTORY_PREFIXES} networks in the file"),
                    );
                }
                if *count <= MAX_INVENTORY_PREFIXES {
                    out.push(c);
                }
            }
            Err(m) => cx.err(at, format!("{key}: {m}")),
        }
    }
    out
}

fn internal_nets(cx: &mut Ctx<'_>, v: &V<'_>, count: &mut usize) -> Option<Vec<Cidr>> {
    if matches!(v.get_ref(), DeValue::Array(a) if a.is_empty()) {
        cx.err(
            v.span().start,
            "internal: must not be empty (leave the key out for the default private ranges)".into(),
        );
        return None;
    }
    Some(networks(cx, "internal", v, false, count))
}

fn role_table(cx: &mut Ctx<'_>, v: &V<'_>, roles: &mut BTreeMap<Cidr, RoleSet>, count: &mut usize) {
    let DeValue::Table(t) = v.get_ref() else {
        cx.err(
            v.span().start,
            format!(
                "roles: expected a table ([roles] with role = [addresses]), found {}",
                kind(v.get_ref())
            ),
        );
        return;
    };
    for (k, v) in t.iter() {
        let word = k.get_ref().as_ref();
        let role = match Role::from_word(word) {
            Some(Role::Internet) => {
                cx.err(
                    k.span().start,
                    "roles: \"internet\" is not assigned: it is every address outside `internal`".into(),
                );
                None
            }
            Some(Role::Any) => {
                cx.err(
                    k.span().start,
                    "roles: \"any\" is a catalog wildcard, not a host's role".into(),
                );
                None
            }
            Some(r) => Some(r),
            None => {
                cx.err(
                    k.span().start,
                    format!("roles: unknown role \"{word}\" (known: {})", assignable().join(", ")),
                );
                None
            }
        };
        let key = format!("roles.{word}");
        let nets = networks(cx, &key, v, true, count);
        if let Some(r) = role {
            for c in nets {
                roles.entry(c).or_default().insert(r);
            }
        }
    }
}

/// The role words an inventory may assign.
pub fn assignable() -> Vec<&'static str> {
    Role::ALL
        .iter()
        .filter(|r| !matches!(r, Role::Internet | Role::Any))
        .map(|r| r.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"# a site
internal = ["10.0.0.0/8", "192.168.0.0/16", "fd00::/8"]

[roles]
hub = ["10.1.0.5", "10.1.0.6"]
edge = "203.0.113.10"
dc = ["10.1.0.0/28"]
client = ["10.20.0.0/16", "fd00:20::/32"]
mailbox = ["10.1.0.20", "fd00:1::20"]
cas = ["10.1.0.20"]
admin = ["10.20.5.5/32"]
"#;

    fn v4(a: [u8; 4]) -> Addr {
        Addr::v4(a)
    }

    fn v6(s: &str) -> Addr {
        match s.parse::<IpAddr>() {
            Ok(IpAddr::V6(v)) => Addr::v6(v.octets()),
            _ => panic!("test address {s}"),
        }
    }

    fn load(text: &str) -> Result<Inventory, Vec<InventoryError>> {
        Inventory::from_text("inv.toml", text)
    }

    fn errors(text: &str) -> Vec<(usize, String)> {
        load(text)
            .expect_err("errors")
            .into_iter()
            .map(|e| {
                assert_eq!(e.file, "inv.toml");
                (e.line, e.message)
            })
            .collect()
    }

    fn roles(i: &Inventory, a: &Addr) -> String {
        i.roles_of(a).to_string()
    }

    #[test]
    fn a_good_file_loads_and_longest_prefix_wins() {
        let i = load(GOOD).expect("loads");
        assert!(!i.default_internal);
        assert_eq!(i.internal_networks(), 3);
        assert_eq!(i.role_networks(), 9, "10.1.0.20 under two roles counts once");
        assert_eq!(roles(&i, &v4([10, 1, 0, 5])), "hub", "the /32 inside the dc /28");
        assert_eq!(roles(&i, &v4([10, 1, 0, 7])), "dc");
        assert_eq!(roles(&i, &v4([10, 1, 0, 16])), "-", "just past the /28");
        assert_eq!(roles(&i, &v4([10, 1, 0, 20])), "mailbox,cas", "several roles");
        assert_eq!(roles(&i, &v4([10, 20, 5, 5])), "admin", "a host inside the client /16");
        assert_eq!(roles(&i, &v4([10, 20, 5, 6])), "client");
        assert_eq!(roles(&i, &v6("fd00:1::20")), "mailbox");
        assert_eq!(roles(&i, &v6("fd00:20:1::9")), "client");
        assert_eq!(roles(&i, &v6("fd00:21::9")), "-");
        assert_eq!(roles(&i, &v4([253, 0, 0, 0])), "-", "the v6 fd00::/8 is not a v4 range");

        assert!(i.is_internal(&v4([10, 200, 0, 1])), "internal, role unknown");
        assert!(
            i.is_internal(&v4([203, 0, 113, 10])),
            "named: ours though outside `internal`"
        );
        assert!(!i.is_internal(&v4([203, 0, 113, 11])));
        assert!(
            !i.is_internal(&v4([172, 16, 0, 1])),
            "the file's ranges replace the defaults"
        );
        assert!(i.is_internal(&v6("fd00:99::1")));
        assert!(!i.is_internal(&v6("2001:db8::1")));
    }

    #[test]
    fn default_internal_ranges_without_the_key() {
        let i = load("[roles]\nhub = \"10.1.0.5\"\n").expect("loads");
        assert!(i.default_internal);
        for a in [
            v4([10, 9, 9, 9]),
            v4([172, 31, 255, 255]),
            v4([192, 168, 1, 1]),
            v4([127, 0, 0, 1]),
            v4([169, 254, 3, 4]),
            v6("fd12::1"),
            v6("fc00::1"),
            v6("::1"),
            v6("fe80::1"),
        ] {
            assert!(i.is_internal(&a), "{a:?}");
        }
        for a in [v4([172, 32, 0, 1]), v4([8, 8, 8, 8]), v6("2001:db8::1"), v6("fe00::1")] {
            assert!(!i.is_internal(&a), "{a:?}");
        }
        let none = Inventory::default();
        assert!(none.is_internal(&v4([192, 168, 0, 1])) && !none.is_internal(&v4([1, 1, 1, 1])));
        assert!(none.roles_of(&v4([192, 168, 0, 1])).is_empty());
        assert!(load("").is_ok(), "an empty file is an inventory with nothing in it");
    }

    #[test]
    fn cidr_parsing() {
        let ok = |s: &str| Cidr::parse(s).expect(s).to_string();
        assert_eq!(ok("10.1.0.5"), "10.1.0.5/32");
        assert_eq!(ok("10.0.0.0/8"), "10.0.0.0/8");
        assert_eq!(ok("0.0.0.0/0"), "0.0.0.0/0");
        assert_eq!(ok("::/0"), "::/0");
        assert_eq!(ok("2001:db8::/32"), "2001:db8::/32");
        assert_eq!(ok("2001:db8::1"), "2001:db8::1/128");
        let any = Cidr::parse("0.0.0.0/0").expect("any");
        assert!(any.contains(&v4([1, 2, 3, 4])) && !any.contains(&v6("::1")));
        for (s, msg) in [
            ("10.1.0.5/16", "host bits set (the network is 10.1.0.0/16"),
            ("2001:db8::1/32", "the network is 2001:db8::/32"),
            ("10.0.0.0/33", "prefix length must be 0 to 32"),
            ("::/129", "0 to 128"),
            ("10.0.0.0/+8", "prefix length"),
            ("10.0.0.0/", "prefix length"),
            ("10.0.0", "not an address"),
            ("host.example", "not an address"),
            ("fe80::1%eth0", "not an address"),
            ("::ffff:10.0.0.1", "IPv4-mapped"),
        ] {
            let e = Cidr::parse(s).expect_err(s);
            assert!(e.contains(msg), "{s}: {e}");
        }
    }

    #[test]
    fn every_error_with_its_line() {
        let text = r#"internal = ["10.0.0.0/8", "10.0.0.0/33"]
colour = "red"
[roles]
hub = ["10.1.0.5/16", "10.1.0.6", "10.1.0.6"]
printer = ["10.9.0.1"]
internet = ["8.8.8.8"]
any = ["10.0.0.0/8"]
dc = 5
cas = ["10.1.0.9", 7]
"#;
        let e = errors(text);
        let lines: Vec<usize> = e.iter().map(|x| x.0).collect();
        assert_eq!(lines, [1, 2, 4, 4, 5, 6, 7, 8, 9], "{e:#?}");
        assert!(e[0].1.contains("internal: \"10.0.0.0/33\": prefix length"), "{e:?}");
        assert!(e[1].1.contains("unknown top-level key \"colour\""));
        assert!(
            e.iter()
                .any(|x| x.1.contains("roles.hub: \"10.1.0.5/16\" has host bits"))
        );
        assert!(e.iter().any(|x| x.1.contains("roles.hub: 10.1.0.6/32 twice")));
        assert!(e[4].1.contains("unknown role \"printer\" (known: hub, edge,"));
        assert!(!e[4].1.contains("internet") && !e[4].1.contains(" any"), "{}", e[4].1);
        assert!(e[5].1.contains("\"internet\" is not assigned"));
        assert!(e[6].1.contains("\"any\" is a catalog wildcard"));
        assert!(
            e[7].1
                .contains("roles.dc: expected a string or a list of strings, found an integer")
        );
        assert!(e[8].1.contains("roles.cas: expected a string, found an integer"));
    }

    #[test]
    fn shapes_that_are_errors() {
        let e = errors("internal = []\n");
        assert_eq!(e.len(), 1);
        assert!(e[0].1.contains("must not be empty"));
        let e = errors("internal = \"10.0.0.0/8\"\nroles = 3\n");
        assert_eq!(e.len(), 1, "a bare string is one network: {e:?}");
        assert_eq!(e[0].0, 2);
        assert!(e[0].1.contains("roles: expected a table"));
        let e = errors("[roles]\nhub = [\"10.0.0.1\"\n");
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].1.starts_with("TOML:"), "{e:?}");
        let e = errors("[roles.hub]\nx = 1\n");
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].1.contains("roles.hub: expected a string or a list"));
    }

    #[test]
    fn the_cap_on_networks() {
        let mut text = String::from("[roles]\nclient = [\n");
        for i in 0..=MAX_INVENTORY_PREFIXES {
            text.push_str(&format!("\"10.{}.{}.{}\",\n", i >> 16, i >> 8 & 0xff, i & 0xff));
        }
        text.push_str("]\n");
        let e = errors(&text);
        assert_eq!(e.len(), 1, "one error, not one a network past the cap");
        assert_eq!(e[0].0, 3 + MAX_INVENTORY_PREFIXES);
        assert!(e[0].1.contains("more than 65536 networks"));
    }

    #[test]
    fn load_reads_a_file_and_reports_io() {
        let dir = std::env::temp_dir().join(format!("exwatch-inv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp");
        let p = dir.join("site.toml");
        std::fs::write(&p, GOOD).expect("write");
        let i = Inventory::load(&p).expect("loads");
        assert_eq!(i.file, p.display().to_string());
        std::fs::write(&p, "[roles]\nhub = \"x\"\n").expect("write");
        match Inventory::load(&p) {
            Err(LoadError::Invalid(e)) => assert_eq!(
                e[0].to_string(),
                format!(
                    "{}:2: roles.hub: \"x\" is not an address or network (ADDR or ADDR/LEN)",
                    p.display()
                )
            ),
            o => panic!("{o:?}"),
        }
        std::fs::write(&p, b"\xff\xfe").expect("write");
        assert!(matches!(Inventory::load(&p), Err(LoadError::Io(m)) if m.contains("not UTF-8")));
        assert!(matches!(Inventory::load(&dir.join("none.toml")), Err(LoadError::Io(_))));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Arbitrary bytes, every prefix of a good file, and deep nesting: errors, never a panic.
    #[test]
    fn garbage_and_truncation_never_panic() {
        for cut in 0..=GOOD.len() {
            if GOOD.is_char_boundary(cut) {
                let _ = load(&GOOD[..cut]);
            }
        }
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let alphabet = b"[]=\"'.,/:#\n abc0123456789roles internal hub fd00::";
        for n in 0..2_000 {
            let mut s = String::new();
            for _ in 0..(n % 97) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                s.push(alphabet[(x % alphabet.len() as u64) as usize] as char);
            }
            let _ = load(&s);
            let bytes: Vec<u8> = s.bytes().map(|b| b.wrapping_add((x >> 3) as u8)).collect();
            let _ = load(&String::from_utf8_lossy(&bytes));
        }
        let deep = format!("internal = {}", "[".repeat(100_000));
        assert!(load(&deep).is_err());
    }
}
