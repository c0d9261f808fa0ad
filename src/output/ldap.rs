//! The `ldap` object of a flow record, from [`LdapSummary`]. Never writes a password: a simple
//! bind shows only `password_present` and `password_len`.

use super::json::Obj;
use crate::proto::ldap::{LdapSummary, result_name};

fn scope_name(s: i64) -> &'static str {
    match s {
        0 => "baseObject",
        1 => "singleLevel",
        2 => "wholeSubtree",
        _ => "unknown",
    }
}

fn result(o: &mut Obj<'_>, code: Option<i64>) {
    match code {
        Some(c) => {
            o.u64("result_code", c.max(0) as u64).opt_str("result", result_name(c));
        }
        None => {
            o.null("result_code");
        }
    }
}

/// Write the summary's fields into an object body (`o.obj("ldap", |l| write_ldap(l, s))`).
pub fn write_ldap(o: &mut Obj<'_>, s: &LdapSummary) {
    o.str("transport", if s.cldap { "udp" } else { "tcp" });
    o.obj("operations", |l| {
        for (name, n) in &s.ops {
            l.u64(name, *n);
        }
        for (tag, n) in &s.unknown_ops {
            l.u64(&format!("tag-{tag}"), *n);
        }
    });
    o.obj_array("binds", &s.binds, |b, x| {
        b.u64("message_id", x.message_id.max(0) as u64)
            .u64("version", x.version.max(0) as u64)
            .str("name", &x.name)
            .str("auth", &x.auth);
        if x.auth == "simple" {
            b.bool("password_present", x.password_present)
                .u64("password_len", x.password_len as u64);
        }
        b.opt_str("sasl_mechanism", x.sasl_mechanism.as_deref());
        result(b, x.result_code);
    });
    if !s.ntlm.message_types.is_empty() {
        o.obj("ntlmssp", |n| {
            n.u64_array("message_types", s.ntlm.message_types.iter().map(|&t| t as u64))
                .bool("sign", s.ntlm.sign)
                .bool("seal", s.ntlm.seal)
                .opt_str("domain", s.ntlm.domain.as_deref())
                .opt_str("user", s.ntlm.user.as_deref());
        });
    }
    o.bool("simple_bind_in_cleartext", s.simple_bind_in_cleartext);
    o.obj_array("extended", &s.extended, |e, x| {
        e.str("oid", &x.oid).opt_str("name", x.name);
        result(e, x.result_code);
    });
    o.bool("starttls_requested", s.starttls_requested)
        .bool("starttls_accepted", s.starttls_accepted);
    o.obj_array("searches", &s.searches, |e, x| {
        e.str("base", &x.base)
            .str("scope", scope_name(x.scope))
            .str("filter", &x.filter)
            .str_array("attributes", x.attributes.iter().map(String::as_str))
            .u64("entries", x.entries)
            .u64("refs", x.refs)
            .bool("done", x.done);
        result(e, x.result_code);
    });
    o.obj_array("result_codes", &s.result_codes, |e, (c, n)| {
        e.u64("code", c.max(&0).unsigned_abs())
            .opt_str("name", result_name(*c))
            .u64("count", *n);
    });
    if let Some(p) = &s.cldap_ping {
        o.obj("ldap_ping", |e| {
            e.opt_str("dns_domain", p.dns_domain.as_deref())
                .opt_str("host", p.host.as_deref())
                .opt_str("nt_ver", p.nt_ver.as_deref())
                .bool("domain_guid", p.domain_guid)
                .bool("domain_sid", p.domain_sid);
            match p.response_bytes {
                Some(n) => e.u64("response_bytes", n as u64),
                None => e.null("response_bytes"),
            };
        });
    }
    o.u64("sasl_wrapped_pdus", s.sasl_wrapped_pdus)
        .bool("sealed", s.sealed)
        .str("encryption", s.encryption())
        .u64("parse_errors", s.parse_errors)
        .u64("oversize_pdus", s.oversize_pdus)
        .u64("gaps", s.gaps);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::ldap::LdapState;
    use crate::proto::{Direction, StreamParser};

    #[test]
    fn never_writes_the_password() {
        let mut st = LdapState::new();
        let c2s = include_bytes!("../../fixtures/pdu/ldap/stream1_to_server.bin");
        st.feed(Direction::ToServer, c2s, 0);
        let mut buf = Vec::new();
        let mut o = Obj::new(&mut buf);
        o.obj("ldap", |l| write_ldap(l, st.summary()));
        o.close();
        let text = String::from_utf8(buf).unwrap();
        assert!(!text.contains("secret"));
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["ldap"]["binds"][0]["name"], "cn=admin,dc=exwatch,dc=test");
        assert_eq!(v["ldap"]["binds"][0]["password_len"], 6);
        assert_eq!(
            v["ldap"]["searches"][0]["filter"],
            "(&(objectClass=inetOrgPerson)(uid=ali*))"
        );
    }
}
