//! `--inventory FILE` on the command line: a broken file stops `read` before any input is read
//! (exit 2, every error as `file:line: message`); `exwatch inventory check` validates one.

use std::process::Command;

fn exwatch() -> Command {
    Command::new(env!("CARGO_BIN_EXE_exwatch"))
}

#[test]
fn inventory_check_and_read_report_every_error() {
    let dir = std::env::temp_dir().join(format!("exwatch-inv-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "internal = [\"10.0.0.0/8\"]\n[roles]\nhub = [\"10.1.0.5/16\", \"x\"]\nprinter = \"10.0.0.1\"\n",
    )
    .unwrap();
    let good = dir.join("good.toml");
    std::fs::write(&good, "[roles]\nhub = \"10.1.0.5\"\nmailbox = \"10.1.0.5\"\n").unwrap();
    let file = bad.display().to_string();

    let out = exwatch().args(["inventory", "check"]).arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    assert!(
        lines[0].starts_with(&format!("{file}:3: roles.hub: \"10.1.0.5/16\" has host bits")),
        "{stdout}"
    );
    assert!(lines[1].starts_with(&format!("{file}:3: roles.hub: \"x\"")), "{stdout}");
    assert!(
        lines[2].starts_with(&format!("{file}:4: roles: unknown role \"printer\"")),
        "{stdout}"
    );
    assert_eq!(lines[3], format!("3 errors in {file}"));

    let out = exwatch().args(["inventory", "check"]).arg(&good).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("1 role networks, 8 internal networks (the default private ranges): ok"),
        "{stdout}"
    );

    let out = exwatch()
        .args(["inventory", "check"])
        .arg(dir.join("none.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));

    // `read` stops before reading its input: the errors on stderr, exit 2
    let out = exwatch()
        .args(["read", "/dev/null", "--inventory"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 4, "{stderr}");
    assert!(stderr.contains(&format!("{file}:4: roles: unknown role")), "{stderr}");
    assert!(stderr.contains("exwatch: inventory: 3 errors in"), "{stderr}");

    // a good inventory: the run goes on to its input
    let pcap = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/pcap/smtp-swaks-aiosmtpd.pcap");
    let out = exwatch()
        .args(["read", pcap, "--inventory"])
        .arg(&good)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"event_type\":\"stats\""));
    let _ = std::fs::remove_dir_all(&dir);
}
