//! The shared corpus: every capture in `$EXWATCH_CORPUS` against its tshark-made `.truth.json`.
//! Skipped (with a message) when the variable is unset: the corpus does not ship with the
//! project.

mod common;

use std::path::PathBuf;

fn corpus() -> Option<PathBuf> {
    match std::env::var_os("EXWATCH_CORPUS") {
        Some(d) => Some(PathBuf::from(d)),
        None => {
            eprintln!("EXWATCH_CORPUS is not set: skipping the corpus test");
            None
        }
    }
}

/// Every TCP and UDP conversation tshark lists is found, with the same frame and byte counts
/// in each direction; the capture tshark calls damaged stops where tshark stopped.
#[test]
fn conversations_match_tshark() {
    let Some(dir) = corpus() else { return };
    let truths = common::truths(&dir);
    assert!(!truths.is_empty(), "no .truth.json files in {}", dir.display());
    let mut failures = Vec::new();
    for (cap, truth) in &truths {
        let (code, recs, stderr) = common::read(cap, 1);
        let damaged = !truth["capture"]["read_error"].is_null();
        let want_code = if damaged { 1 } else { 0 };
        if code != want_code {
            failures.push(format!(
                "{}: exit {code}, want {want_code}; stderr: {stderr}",
                cap.display()
            ));
        }
        let st = common::stats(&recs);
        if st["packets"].as_u64() != truth["capture"]["packets_read"].as_u64() {
            failures.push(format!(
                "{}: read {} frames, tshark {}",
                cap.display(),
                st["packets"],
                truth["capture"]["packets_read"]
            ));
        }
        for d in common::compare_conversations(truth, &recs) {
            failures.push(format!("{}: {d}", cap.display()));
        }
    }
    eprintln!("{} captures checked", truths.len());
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The protocol facts tshark extracted (SMTP, TLS, LDAP) all appear in exwatch's records.
#[test]
fn protocol_facts_match_tshark() {
    let Some(dir) = corpus() else { return };
    let mut failures = Vec::new();
    for (cap, truth) in common::truths(&dir) {
        let (_, recs, _) = common::read(&cap, 1);
        for d in common::facts::compare_all(&truth, &recs) {
            failures.push(format!("{}: {d}", cap.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Findings never contradict the truth, clear-text credentials tshark saw are all flagged,
/// and every SMTP/LDAP/DCE-RPC/SIP/TLS flow has a data path or a reason why not.
#[test]
fn findings_agree_with_tshark() {
    let Some(dir) = corpus() else { return };
    let mut failures = Vec::new();
    let mut findings = 0;
    for (cap, truth) in common::truths(&dir) {
        let (_, recs, _) = common::read(&cap, 1);
        findings += recs.iter().filter(|r| r["event_type"] == "finding").count();
        for d in common::facts::compare_findings(&truth, &recs) {
            failures.push(format!("{}: {d}", cap.display()));
        }
    }
    eprintln!("{findings} findings checked");
    assert!(findings > 0, "the corpus raised no finding at all");
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// JA3 and JA3S equal tshark's for every TLS handshake of the corpus (skipped without tshark).
#[test]
fn ja3_matches_tshark() {
    let Some(dir) = corpus() else { return };
    let mut failures = Vec::new();
    let mut checked = 0;
    for (cap, truth) in common::truths(&dir) {
        let (_, recs, _) = common::read(&cap, 1);
        let Some(diffs) = common::facts::compare_ja3_with_tshark(&cap, &truth, &recs) else {
            eprintln!("tshark is not installed: skipping the JA3 comparison");
            return;
        };
        checked += truth["tls"].is_object() as usize;
        failures.extend(diffs.into_iter().map(|d| format!("{}: {d}", cap.display())));
    }
    eprintln!("JA3/JA3S compared on {checked} captures");
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The same records whatever the number of worker threads.
#[test]
fn output_is_the_same_for_every_thread_count() {
    let Some(dir) = corpus() else { return };
    for (cap, _) in common::truths(&dir) {
        let (_, one, _) = common::read(&cap, 1);
        for n in [2, 3, 4] {
            let (_, many, _) = common::read(&cap, n);
            let strip = |v: &[serde_json::Value]| common::flows(v).into_iter().cloned().collect::<Vec<_>>();
            assert_eq!(strip(&one), strip(&many), "{} with --threads {n}", cap.display());
        }
    }
}
