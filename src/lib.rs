//! exwatch — a passive traffic classifier for Microsoft Exchange environments.
//!
//! Data flows down these layers, never back up (see `DESIGN.md` in the shared folder):
//!
//! 1. [`capture`] — frames from pcap/pcapng files (memory-mapped: a frame is a slice of the
//!    file) or stdin.
//! 2. [`decode`] — link, IP and TCP/UDP headers sliced out of a frame; IP fragment reassembly.
//! 3. [`flow`] — the flow table, TCP state, timeouts, eviction and TCP stream reassembly.
//! 4. [`proto`] — protocol parsers (TLS, SMTP, LDAP, DCE/RPC, SIP, HTTP, IMAP, POP3).
//! 5. [`classify`] — what a flow is in Exchange terms: expectations (endpoints announced by
//!    earlier flows) today; the data-path catalog and findings to come.
//! 6. [`output`] — JSON-lines records (the schema is documented there) and run statistics.
//! 7. [`pipeline`] — reader → sharded workers → writer threads.
//!
//! [`cli`] turns the command line into a pipeline configuration.

pub mod capture;
pub mod classify;
pub mod cli;
pub mod decode;
pub mod flow;
pub mod output;
pub mod pipeline;
pub mod proto;
