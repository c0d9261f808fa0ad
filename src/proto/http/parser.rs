//! Pure HTTP/1.x grammar over one line or one value (RFC 9112, RFC 9110): request and status
//! lines, header fields, chunk sizes, credentials in `Authorization`, and the Exchange
//! client-access endpoint a request target names. Borrowed in, borrowed out.

/// The longest method token accepted (`RPC_OUT_DATA` is 12; WebDAV's longest is 17).
pub const MAX_METHOD_BYTES: usize = 24;

/// RFC 9112 §3: `request-line = method SP request-target SP HTTP-version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLine<'a> {
    pub method: &'a [u8],
    pub target: &'a [u8],
    /// `HTTP/1.0` or `HTTP/1.1` (any `HTTP/d.d`).
    pub version: &'a [u8],
}

/// RFC 9112 §4: `status-line = HTTP-version SP status-code SP [ reason-phrase ]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusLine<'a> {
    pub version: &'a [u8],
    pub code: u16,
    pub reason: &'a [u8],
}

/// RFC 9110 §5.6.2 `tchar`.
pub fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// RFC 9112 §2.3: `HTTP-version = "HTTP" "/" DIGIT "." DIGIT`.
pub fn is_version(v: &[u8]) -> bool {
    matches!(v, [b'H', b'T', b'T', b'P', b'/', a, b'.', b] if a.is_ascii_digit() && b.is_ascii_digit())
}

// request-line = method SP request-target SP HTTP-version
pub fn parse_request_line(line: &[u8]) -> Option<RequestLine<'_>> {
    let sp = line.iter().position(|&b| b == b' ')?;
    let (method, rest) = (&line[..sp], &line[sp + 1..]);
    if method.is_empty() || method.len() > MAX_METHOD_BYTES || !method.iter().all(|&b| is_tchar(b)) {
        return None;
    }
    let sp = rest.iter().rposition(|&b| b == b' ')?;
    let (target, version) = (&rest[..sp], &rest[sp + 1..]);
    if target.is_empty() || target.contains(&b' ') || !is_version(version) {
        return None;
    }
    Some(RequestLine {
        method,
        target,
        version,
    })
}

// status-line = HTTP-version SP status-code SP [ reason-phrase ]
pub fn parse_status_line(line: &[u8]) -> Option<StatusLine<'_>> {
    let version = line.get(..8)?;
    let code = line.get(9..12)?;
    if !is_version(version) || line[8] != b' ' || !code.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if line.len() > 12 && line[12] != b' ' {
        return None;
    }
    let code = code.iter().fold(0u16, |a, &b| a * 10 + (b - b'0') as u16);
    Some(StatusLine {
        version,
        code,
        reason: line.get(13..).unwrap_or(&[]),
    })
}

// field-line = field-name ":" OWS field-value OWS   (RFC 9112 §5)
pub fn parse_header(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = line.iter().position(|&b| b == b':')?;
    let name = &line[..colon];
    if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
        return None;
    }
    Some((name, line[colon + 1..].trim_ascii()))
}

/// RFC 9110 §8.6: `Content-Length = 1*DIGIT` (a list of equal values is tolerated by taking
/// the first; an overflow is `None`).
pub fn parse_content_length(v: &[u8]) -> Option<u64> {
    let first = v.split(|&b| b == b',').next()?.trim_ascii();
    if first.is_empty() || !first.iter().all(u8::is_ascii_digit) {
        return None;
    }
    first
        .iter()
        .try_fold(0u64, |a, &b| a.checked_mul(10)?.checked_add((b - b'0') as u64))
}

/// RFC 9112 §7: the last transfer coding is `chunked`.
pub fn is_chunked(te: &[u8]) -> bool {
    te.rsplit(|&b| b == b',')
        .next()
        .is_some_and(|c| c.trim_ascii().eq_ignore_ascii_case(b"chunked"))
}

// chunk-size = 1*HEXDIG [ chunk-ext ]   (RFC 9112 §7.1)
pub fn parse_chunk_size(line: &[u8]) -> Option<u64> {
    let end = line.iter().position(|&b| !b.is_ascii_hexdigit()).unwrap_or(line.len());
    if end == 0 || end > 16 {
        return None;
    }
    let digits = &line[..end];
    let rest = line[end..].trim_ascii_start();
    if !rest.is_empty() && rest[0] != b';' {
        return None;
    }
    let n = digits
        .iter()
        .fold(0u64, |a, &b| (a << 4) | (b as char).to_digit(16).unwrap_or(0) as u64);
    Some(n)
}

/// RFC 9110 §11.6.2: `credentials = auth-scheme [ 1*SP ( token68 / #auth-param ) ]`.
pub fn split_credentials(v: &[u8]) -> (&[u8], &[u8]) {
    match v.iter().position(|&b| b == b' ') {
        Some(p) => (&v[..p], v[p..].trim_ascii()),
        None => (v, &[]),
    }
}

/// RFC 7617 §2: `user-pass = user-id ":" password`; the user id only.
pub fn basic_user(decoded: &[u8]) -> &[u8] {
    decoded.split(|&b| b == b':').next().unwrap_or(&[])
}

/// The path of a request target (origin-form, or absolute-form with its scheme and authority
/// removed, RFC 9112 §3.2), without the query.
pub fn target_path(target: &[u8]) -> &[u8] {
    let mut t = target;
    if let Some(p) = t.windows(3).position(|w| w == b"://") {
        let after = &t[p + 3..];
        t = after.iter().position(|&b| b == b'/').map_or(&[][..], |s| &after[s..]);
    }
    t.split(|&b| b == b'?').next().unwrap_or(t)
}

/// The query of a request target (after `?`), if any.
pub fn target_query(target: &[u8]) -> Option<&[u8]> {
    target.iter().position(|&b| b == b'?').map(|p| &target[p + 1..])
}

/// Exchange client-access services, named from the request path (protocol-notes §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExchangeService {
    Owa,
    Ews,
    ActiveSync,
    MapiEmsmdb,
    MapiNspi,
    RpcOverHttp,
    Autodiscover,
    Oab,
    Ecp,
    PowerShell,
}

impl ExchangeService {
    pub fn as_str(self) -> &'static str {
        match self {
            ExchangeService::Owa => "owa",
            ExchangeService::Ews => "ews",
            ExchangeService::ActiveSync => "activesync",
            ExchangeService::MapiEmsmdb => "mapi_emsmdb",
            ExchangeService::MapiNspi => "mapi_nspi",
            ExchangeService::RpcOverHttp => "rpc_over_http",
            ExchangeService::Autodiscover => "autodiscover",
            ExchangeService::Oab => "oab",
            ExchangeService::Ecp => "ecp",
            ExchangeService::PowerShell => "powershell",
        }
    }
}

/// Path prefixes (lower case) and the service each names. A prefix matches a whole path
/// segment: it ends the path or is followed by `/`. Longer prefixes come first.
const SERVICE_PATHS: [(&[u8], ExchangeService); 12] = [
    (b"/ews/exchange.asmx", ExchangeService::Ews),
    (b"/ews", ExchangeService::Ews),
    (b"/owa", ExchangeService::Owa),
    (b"/microsoft-server-activesync", ExchangeService::ActiveSync),
    (b"/mapi/emsmdb", ExchangeService::MapiEmsmdb),
    (b"/mapi/nspi", ExchangeService::MapiNspi),
    (b"/rpc/rpcproxy.dll", ExchangeService::RpcOverHttp),
    (b"/rpcwithcert/rpcproxy.dll", ExchangeService::RpcOverHttp),
    (b"/autodiscover", ExchangeService::Autodiscover),
    (b"/oab", ExchangeService::Oab),
    (b"/ecp", ExchangeService::Ecp),
    (b"/powershell", ExchangeService::PowerShell),
];

/// The Exchange service a request path names, case-insensitively (`/OWA/`, `/EWS/Exchange.asmx`,
/// `/Microsoft-Server-ActiveSync`...).
pub fn exchange_service(path: &[u8]) -> Option<ExchangeService> {
    SERVICE_PATHS.iter().find_map(|(p, s)| {
        let head = path.get(..p.len())?;
        let next = path.get(p.len()).copied();
        (head.eq_ignore_ascii_case(p) && matches!(next, None | Some(b'/'))).then_some(*s)
    })
}

/// MS-RPCH §2.1.2.1.1: the RPC over HTTP v2 target names the back end as the whole query,
/// `?<server>:<port>` (6001 store, 6002 referral, 6004 NSPI). Returns the server and port.
pub fn rpc_backend(query: &[u8]) -> Option<(&[u8], u16)> {
    let colon = query.iter().rposition(|&b| b == b':')?;
    let (host, port) = (&query[..colon], &query[colon + 1..]);
    if host.is_empty() || port.is_empty() || port.len() > 5 || !port.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let p = port.iter().fold(0u32, |a, &b| a * 10 + (b - b'0') as u32);
    u16::try_from(p).ok().map(|p| (host, p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        let r = parse_request_line(b"RPC_IN_DATA /rpc/rpcproxy.dll?mail.example.test:6001 HTTP/1.1").unwrap();
        assert_eq!(r.method, b"RPC_IN_DATA");
        assert_eq!(
            rpc_backend(target_query(r.target).unwrap()),
            Some((&b"mail.example.test"[..], 6001))
        );
        assert!(parse_request_line(b"GET / HTTP/2").is_none());
        assert!(parse_request_line(b"GET  HTTP/1.1").is_none());
        assert!(parse_request_line(b"G\x01T / HTTP/1.1").is_none());
        let s = parse_status_line(b"HTTP/1.1 401 Unauthorized").unwrap();
        assert_eq!((s.code, s.reason), (401, &b"Unauthorized"[..]));
        assert_eq!(parse_status_line(b"HTTP/1.0 200").unwrap().code, 200);
        assert!(parse_status_line(b"HTTP/1.1 20x OK").is_none());
        assert_eq!(
            parse_header(b"Content-Length:  12 "),
            Some((&b"Content-Length"[..], &b"12"[..]))
        );
        assert!(parse_header(b"Bad Name: x").is_none());
    }

    #[test]
    fn values() {
        assert_eq!(parse_content_length(b"42"), Some(42));
        assert_eq!(parse_content_length(b"99999999999999999999999"), None);
        assert_eq!(parse_content_length(b"-1"), None);
        assert!(is_chunked(b"gzip, Chunked"));
        assert!(!is_chunked(b"chunked, gzip"));
        assert_eq!(parse_chunk_size(b"1a;ext=1"), Some(26));
        assert_eq!(parse_chunk_size(b"0"), Some(0));
        assert_eq!(parse_chunk_size(b"zz"), None);
        assert_eq!(parse_chunk_size(b"11111111111111111"), None);
        assert_eq!(basic_user(b"alice:pa:ss"), b"alice");
    }

    #[test]
    fn services() {
        let svc = |t: &[u8]| exchange_service(target_path(t)).map(ExchangeService::as_str);
        assert_eq!(svc(b"/EWS/Exchange.asmx"), Some("ews"));
        assert_eq!(svc(b"/owa/"), Some("owa"));
        assert_eq!(svc(b"/OWA"), Some("owa"));
        assert_eq!(svc(b"/owasp"), None);
        assert_eq!(svc(b"/Microsoft-Server-ActiveSync?Cmd=Sync&User=a"), Some("activesync"));
        assert_eq!(svc(b"/mapi/emsmdb/?MailboxId=x@y"), Some("mapi_emsmdb"));
        assert_eq!(svc(b"/mapi/nspi/?MailboxId=x@y"), Some("mapi_nspi"));
        assert_eq!(
            svc(b"http://mail.example.test/rpc/rpcproxy.dll?a:6004"),
            Some("rpc_over_http")
        );
        assert_eq!(svc(b"/Autodiscover/Autodiscover.xml"), Some("autodiscover"));
        assert_eq!(svc(b"/OAB/x/oab.xml"), Some("oab"));
        assert_eq!(svc(b"/ecp/"), Some("ecp"));
        assert_eq!(svc(b"/PowerShell?serializationLevel=Full"), Some("powershell"));
        assert_eq!(svc(b"/index.html"), None);
        assert_eq!(rpc_backend(b"host:99999"), None);
        assert_eq!(rpc_backend(b":6001"), None);
    }
}
