//! The `dcerpc` object of a flow record, from [`DcerpcSummary`]. Never writes a credential:
//! of NTLMSSP only the message types, the sign/seal flags and the names.
//!
//! | field | meaning |
//! |---|---|
//! | `pdus` | PDUs by PTYPE name (`bind`, `request`, ...), `unknown` for others |
//! | `binds` | each bind / alter_context: `kind`, `call_id`, `auth_type`, `auth_level` (or null), `answer` (`bind_ack`, `alter_context_resp`, `bind_nak`, null), `sec_addr`, `nak_reason`, and `contexts`: `ctx_id`, `uuid`, `version` ("major.minor"), `name`, `transfer_syntaxes` (UUIDs or `NDR32`/`NDR64`/`bind_time_feature_negotiation`), `result` (`acceptance`, `user_rejection`, `provider_rejection`, `negotiate_ack`, null), `reason` |
//! | `calls` | per (context, opnum): `ctx_id`, `uuid`, `name`, `opnum`, `requests`, `responses`, `faults` |
//! | `faults` | distinct fault status codes; `fault_count` all faults |
//! | `auth` | per (`auth_type`, `auth_level`) name pair: `pdus` |
//! | `authenticated_pdus`, `integrity_pdus`, `privacy_pdus`, `unauthenticated_calls` | counts |
//! | `lowest_auth_level`, `highest_auth_level` | level names, or null when nothing was authenticated |
//! | `spnego_mechs` | `ntlmssp`, `kerberos` recognised inside SPNEGO tokens |
//! | `ntlmssp` | `message_types`, `sign`, `seal`, `domain`, `user`, `workstation`, `anonymous` (only when NTLMSSP was seen) |
//! | `epm_queries` | interfaces asked in ept_map requests: `uuid`, `version`, `name` |
//! | `epm_endpoints` | endpoints announced: `uuid`, `version`, `name`, `transport`, `ip`, `port`, `pipe`, `op` (`ept_map`/`ept_lookup`), `annotation` |
//! | `integrity` | packet integrity was used on some PDU |
//! | `encryption` | `rpc-privacy` when every authenticated PDU was at packet privacy and no call went unauthenticated, else `none` |
//! | `fragmented_calls`, `fragments`, `reassembly_overflows`, `epm_errors`, `parse_errors`, `gaps`, `dropped` | counters |

use super::json::Obj;
use crate::proto::dcerpc::interfaces::transfer_name;
use crate::proto::dcerpc::parser::{ack_result_name, auth_level_name, auth_type_name, ptype_name};
use crate::proto::dcerpc::{DcerpcSummary, SyntaxId};

fn version(s: &SyntaxId) -> String {
    format!("{}.{}", s.major, s.minor)
}

/// Write the summary's fields into an object body (`o.obj("dcerpc", |d| write_dcerpc(d, s))`).
pub fn write_dcerpc(o: &mut Obj<'_>, s: &DcerpcSummary) {
    o.obj("pdus", |p| {
        for (t, &n) in s.pdu_counts.iter().enumerate() {
            if n > 0 {
                p.u64(ptype_name(t as u8).unwrap_or("unknown"), n);
            }
        }
        if s.unknown_ptypes > 0 {
            p.u64("unknown", s.unknown_ptypes);
        }
    });
    o.obj_array("binds", &s.binds, |b, x| {
        b.str("kind", x.kind).u64("call_id", x.call_id as u64);
        match x.auth {
            Some((t, l)) => b
                .str("auth_type", auth_type_name(t))
                .str("auth_level", auth_level_name(l)),
            None => b.null("auth_type").null("auth_level"),
        };
        b.opt_str("answer", x.answer).opt_str("sec_addr", x.sec_addr.as_deref());
        match x.nak_reason {
            Some(r) => b.u64("nak_reason", r as u64),
            None => b.null("nak_reason"),
        };
        b.obj_array("contexts", &x.contexts, |c, ctx| {
            let ts: Vec<String> = ctx
                .transfer_syntaxes
                .iter()
                .map(|t| transfer_name(t).map_or_else(|| t.uuid.to_string(), str::to_string))
                .collect();
            c.u64("ctx_id", ctx.ctx_id as u64)
                .display("uuid", ctx.interface.uuid)
                .str("version", &version(&ctx.interface))
                .opt_str("name", ctx.name)
                .str_array("transfer_syntaxes", ts.iter().map(String::as_str));
            match ctx.ack {
                Some((r, reason, _)) => c.str("result", ack_result_name(r)).u64("reason", reason as u64),
                None => c.null("result").null("reason"),
            };
        });
    });
    o.obj_array("calls", &s.calls, |c, k| {
        c.u64("ctx_id", k.ctx_id as u64);
        match k.interface {
            Some(i) => c.display("uuid", i.uuid),
            None => c.null("uuid"),
        };
        c.opt_str("name", k.name)
            .u64("opnum", k.opnum as u64)
            .u64("requests", k.requests)
            .u64("responses", k.responses)
            .u64("faults", k.faults);
    });
    o.u64_array("faults", s.faults.iter().map(|&f| f as u64))
        .u64("fault_count", s.fault_count);
    o.obj_array("auth", &s.auth, |a, k| {
        a.str("auth_type", auth_type_name(k.auth_type))
            .str("auth_level", auth_level_name(k.auth_level))
            .u64("pdus", k.pdus);
    });
    o.u64("authenticated_pdus", s.authenticated_pdus)
        .u64("integrity_pdus", s.integrity_pdus)
        .u64("privacy_pdus", s.privacy_pdus)
        .u64("unauthenticated_calls", s.unauthenticated_calls)
        .opt_str("lowest_auth_level", s.lowest_auth_level.map(auth_level_name))
        .opt_str("highest_auth_level", s.highest_auth_level.map(auth_level_name))
        .str_array("spnego_mechs", s.spnego_mechs.iter().copied());
    let n = &s.ntlm;
    if !n.message_types.is_empty() {
        o.obj("ntlmssp", |e| {
            e.u64_array("message_types", n.message_types.iter().map(|&t| t as u64))
                .bool("sign", n.sign)
                .bool("seal", n.seal)
                .opt_str("domain", n.domain.as_deref())
                .opt_str("user", n.user.as_deref())
                .opt_str("workstation", n.workstation.as_deref())
                .bool("anonymous", n.anonymous);
        });
    }
    o.obj_array("epm_queries", &s.epm_queries, |q, i| {
        q.display("uuid", i.uuid)
            .str("version", &version(i))
            .opt_str("name", crate::proto::dcerpc::interfaces::interface_name(&i.uuid));
    });
    o.obj_array("epm_endpoints", &s.epm_endpoints, |e, x| {
        e.display("uuid", x.interface)
            .str("version", &format!("{}.{}", x.version.0, x.version.1))
            .opt_str("name", x.name)
            .str("transport", x.transport);
        match x.ip {
            Some(ip) => e.display("ip", ip),
            None => e.null("ip"),
        };
        match x.port {
            Some(p) => e.u64("port", p as u64),
            None => e.null("port"),
        };
        e.opt_str("pipe", x.pipe.as_deref())
            .str("op", x.op)
            .opt_str("annotation", x.annotation.as_deref());
    });
    o.bool("integrity", s.integrity())
        .str("encryption", s.encryption())
        .u64("fragmented_calls", s.fragmented_calls)
        .u64("fragments", s.fragments)
        .u64("reassembly_overflows", s.reassembly_overflows)
        .u64("epm_errors", s.epm_errors)
        .u64("parse_errors", s.parse_errors)
        .u64("gaps", s.gaps)
        .u64("dropped", s.dropped);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::dcerpc::DcerpcState;
    use crate::proto::segments::segments;
    use crate::proto::{Direction, StreamParser};

    fn render(seg: &[u8]) -> serde_json::Value {
        let mut st = DcerpcState::new();
        for (dir, data) in segments(seg) {
            st.feed(dir, data, 0);
        }
        let _ = Direction::ToServer;
        let mut buf = Vec::new();
        let mut o = Obj::new(&mut buf);
        o.obj("dcerpc", |d| write_dcerpc(d, st.summary()));
        o.close();
        serde_json::from_slice(&buf).unwrap()
    }

    #[test]
    fn epm_endpoints_and_no_secrets() {
        let v = render(include_bytes!("../../fixtures/pdu/dcerpc/epm-ept-map.seg"));
        let d = &v["dcerpc"];
        assert_eq!(d["pdus"]["bind"], 1);
        assert_eq!(d["binds"][0]["contexts"][0]["name"], "EPM");
        assert_eq!(d["binds"][0]["contexts"][0]["transfer_syntaxes"][0], "NDR32");
        assert_eq!(d["binds"][0]["contexts"][0]["result"], "acceptance");
        assert_eq!(d["epm_endpoints"][0]["port"], 49701);
        assert_eq!(d["epm_endpoints"][0]["ip"], "127.0.0.1");
        assert_eq!(d["epm_endpoints"][0]["name"], "EMSMDB");
        assert_eq!(d["epm_endpoints"][0]["version"], "0.81");
        assert_eq!(d["encryption"], "none");

        let v = render(include_bytes!("../../fixtures/pdu/dcerpc/ntlm-privacy.seg"));
        let d = &v["dcerpc"];
        assert_eq!(d["encryption"], "rpc-privacy");
        assert_eq!(d["ntlmssp"]["user"], "alice");
        assert_eq!(d["auth"][0]["auth_type"], "ntlmssp");
        assert_eq!(d["auth"][0]["auth_level"], "packet_privacy");
        assert!(!v.to_string().contains("Passw0rd"));
    }

    /// Offline check against other captures: when `EXWATCH_DCERPC_SEGS` names a folder of
    /// segment files (made with `fixtures/tools/extract_segments.py`), print each one's
    /// `dcerpc` object. Skipped otherwise.
    #[test]
    fn replay_segment_dir() {
        let Some(dir) = std::env::var_os("EXWATCH_DCERPC_SEGS") else {
            return;
        };
        let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().map(|e| e.path()).collect();
        files.sort();
        for f in files.iter().filter(|f| f.extension().is_some_and(|e| e == "seg")) {
            let seg = std::fs::read(f).unwrap();
            println!("{} {}", f.display(), render(&seg)["dcerpc"]);
        }
    }
}
