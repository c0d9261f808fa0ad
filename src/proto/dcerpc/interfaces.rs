//! Interface and transfer-syntax names. Only UUIDs with a source: `protocol-notes.md` §3.3
//! (MS-OXCRPC 1.9, MS-NSPI 1.9, MS-OXABREF, MS-RPCE 2.2.1.2.5, MS-DRSR, Zeek/Suricata/Arkime
//! tables), the DCOM interfaces of MS-DCOM 1.9, and the transfer syntaxes of MS-RPCE
//! §2.2.4.12 (NDR), §2.2.4.13 (NDR64) and §3.3.1.5.3 (bind-time feature negotiation).

use super::parser::{SyntaxId, Uuid, is_bind_time_feature_negotiation};

/// Known interfaces: UUID and short name.
pub const INTERFACES: &[(Uuid, &str)] = &[
    (Uuid::parse("e1af8308-5d1f-11c9-91a4-08002b14a0fa"), "EPM"),
    (Uuid::parse("afa8bd80-7d8a-11c9-bef4-08002b102989"), "MGMT"),
    (Uuid::parse("a4f1db00-ca47-1067-b31f-00dd010662da"), "EMSMDB"),
    (Uuid::parse("5261574a-4572-206e-b268-6b199213b4e4"), "AsyncEMSMDB"),
    (Uuid::parse("f5cc5a18-4264-101a-8c59-08002b2f8426"), "NSPI"),
    (Uuid::parse("1544f5e0-613c-11d1-93df-00c04fd7bd09"), "RFR"),
    (Uuid::parse("e3514235-4b06-11d1-ab04-00c04fc2dcd2"), "DRSUAPI"),
    (Uuid::parse("12345678-1234-abcd-ef00-01234567cffb"), "NETLOGON"),
    (Uuid::parse("12345778-1234-abcd-ef00-0123456789ab"), "LSARPC"),
    (Uuid::parse("12345778-1234-abcd-ef00-0123456789ac"), "SAMR"),
    (Uuid::parse("3919286a-b10c-11d0-9ba8-00c04fd92ef5"), "DSSETUP"),
    (Uuid::parse("367abb81-9844-35f1-ad32-98f038001003"), "SVCCTL"),
    (Uuid::parse("338cd001-2244-31f1-aaaa-900038001003"), "WINREG"),
    (Uuid::parse("4b324fc8-1670-01d3-1278-5a47bf6ee188"), "SRVSVC"),
    (Uuid::parse("6bffd098-a112-3610-9833-46c3f87e345a"), "WKSSVC"),
    (Uuid::parse("99fcfec4-5260-101b-bbcb-00aa0021347a"), "IOXIDResolver"),
    (Uuid::parse("000001a0-0000-0000-c000-000000000046"), "ISystemActivator"),
    (Uuid::parse("00000131-0000-0000-c000-000000000046"), "IRemUnknown"),
    (Uuid::parse("00000143-0000-0000-c000-000000000046"), "IRemUnknown2"),
];

/// MS-RPCE §2.2.4.12: NDR 2.0 transfer syntax.
pub const NDR32: Uuid = Uuid::parse("8a885d04-1ceb-11c9-9fe8-08002b104860");
/// MS-RPCE §2.2.4.13: NDR64 transfer syntax.
pub const NDR64: Uuid = Uuid::parse("71710533-beba-4937-8319-b5dbef9ccc36");
/// The endpoint mapper's own interface.
pub const EPM: Uuid = INTERFACES[0].0;

/// The short name of an interface, if known.
pub fn interface_name(u: &Uuid) -> Option<&'static str> {
    INTERFACES.iter().find(|(k, _)| k == u).map(|&(_, n)| n)
}

/// `NDR32`, `NDR64`, `bind_time_feature_negotiation` or `None`.
pub fn transfer_name(s: &SyntaxId) -> Option<&'static str> {
    if s.uuid == NDR32 {
        Some("NDR32")
    } else if s.uuid == NDR64 {
        Some("NDR64")
    } else if is_bind_time_feature_negotiation(s) {
        Some("bind_time_feature_negotiation")
    } else {
        None
    }
}
