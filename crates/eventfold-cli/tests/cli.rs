//! The `eventfold` binary, driven as a user drives it.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod served;
use served::Served;

fn eventfold(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eventfold"))
        .arg("--data")
        .arg(data)
        .args(args)
        .output()
        .expect("the binary runs")
}

fn ok_lines(output: &Output) -> Vec<serde_json::Value> {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone())
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).expect("every line is JSON"))
        .collect()
}

fn failure(output: &Output) -> String {
    assert_eq!(
        output.status.code(),
        Some(1),
        "stdout: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(output.stdout.is_empty(), "nothing on stdout when failing");
    String::from_utf8(output.stderr.clone()).unwrap()
}

#[test]
fn append_then_read_a_stream_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let appended = ok_lines(&eventfold(
        data,
        &["append", "account-1", "Deposited", r#"{"amount": 10}"#],
    ));
    assert_eq!(appended[0]["first_revision"], 0);
    let mut child = Command::new(env!("CARGO_BIN_EXE_eventfold"))
        .arg("--data")
        .arg(data)
        .args([
            "append",
            "account-1",
            "Withdrawn",
            "--expect",
            "0",
            "--metadata",
            r#"{"by": "teller"}"#,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"amount": 3}"#)
        .unwrap();
    assert!(
        child.wait_with_output().unwrap().status.success(),
        "JSON from standard input"
    );

    let events = ok_lines(&eventfold(data, &["read", "account-1"]));
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["type"], "Deposited");
    assert_eq!(events[0]["data"]["amount"], 10);
    assert_eq!(events[1]["metadata"]["by"], "teller");
    assert_eq!(events[1]["revision"], 1);
    let last = ok_lines(&eventfold(
        data,
        &["read", "account-1", "--backward", "--limit", "1"],
    ));
    assert_eq!(last.len(), 1);
    assert_eq!(last[0]["type"], "Withdrawn");
    let from_one = ok_lines(&eventfold(data, &["read", "account-1", "--from", "1"]));
    assert_eq!(from_one.len(), 1);
}

#[test]
fn idempotent_retry_by_id() {
    let dir = tempfile::tempdir().unwrap();
    let id = "5b0c52a3-8a0e-4a5e-9c1e-0d6b2d1c9a11";
    let args = [
        "append",
        "account-9",
        "Deposited",
        "{}",
        "--expect",
        "no_stream",
        "--id",
        id,
    ];
    let first = ok_lines(&eventfold(dir.path(), &args));
    let again = ok_lines(&eventfold(dir.path(), &args));
    assert_eq!(first, again);
    assert_eq!(
        ok_lines(&eventfold(dir.path(), &["read", "account-9"])).len(),
        1
    );
}

#[test]
fn read_all_filters_and_pages() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    for (stream, event_type) in [
        ("account-1", "Opened"),
        ("order-1", "Placed"),
        ("account-2", "Opened"),
        ("account-1", "Closed"),
    ] {
        ok_lines(&eventfold(data, &["append", stream, event_type, "{}"]));
    }
    let accounts = ok_lines(&eventfold(data, &["read-all", "--category", "account"]));
    assert_eq!(accounts.len(), 3);
    let opened = ok_lines(&eventfold(data, &["read-all", "--type", "Opened"]));
    assert_eq!(opened.len(), 2);
    let prefix = ok_lines(&eventfold(data, &["read-all", "--prefix", "account-1"]));
    assert_eq!(prefix.len(), 2);
    let from_two = ok_lines(&eventfold(
        data,
        &["read-all", "--from", "2", "--limit", "1"],
    ));
    assert_eq!(from_two[0]["position"], 2);
    let newest = ok_lines(&eventfold(
        data,
        &["read-all", "--backward", "--limit", "1"],
    ));
    assert_eq!(newest[0]["type"], "Closed");
    let since = ok_lines(&eventfold(
        data,
        &["read-all", "--since", "2000-01-01T00:00:00Z"],
    ));
    assert_eq!(since.len(), 4);
}

#[test]
fn metadata_and_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    for n in 0..5 {
        ok_lines(&eventfold(
            data,
            &[
                "append",
                "account-1",
                "Deposited",
                &format!(r#"{{"n": {n}}}"#),
            ],
        ));
    }
    let metadata = ok_lines(&eventfold(
        data,
        &["metadata", "account-1", "--set", r#"{"max_count": 2}"#],
    ));
    assert_eq!(metadata[0]["max_count"], 2);
    assert_eq!(ok_lines(&eventfold(data, &["read", "account-1"])).len(), 2);
    let error = failure(&eventfold(
        data,
        &["metadata", "account-1", "--set", r#"{"max_cont": 2}"#],
    ));
    assert!(error.contains("max_cont"), "{error}");

    ok_lines(&eventfold(data, &["delete", "account-1"]));
    assert!(failure(&eventfold(data, &["read", "account-1"])).contains("not found"));
    let again = ok_lines(&eventfold(
        data,
        &["append", "account-1", "Deposited", "{}"],
    ));
    assert_eq!(
        again[0]["first_revision"], 5,
        "revisions continue after a soft delete"
    );

    ok_lines(&eventfold(data, &["delete", "account-1", "--hard"]));
    assert!(failure(&eventfold(
        data,
        &["append", "account-1", "Deposited", "{}"]
    ))
    .contains("tombstoned"));
}

#[test]
fn bad_input_gets_a_clear_error_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    ok_lines(&eventfold(
        data,
        &["append", "account-1", "Deposited", "{}"],
    ));
    let cases: [(&[&str], &str); 6] = [
        (
            &["append", "account-1", "Deposited", "{not json"],
            "not valid JSON",
        ),
        (&["append", "", "Deposited", "{}"], "cannot be empty"),
        (
            &["append", "account-1", "Deposited", "{}", "--expect", "7"],
            "wrong expected revision",
        ),
        (
            &[
                "append",
                "account-1",
                "Deposited",
                "{}",
                "--metadata",
                "[1]",
            ],
            "must be a JSON object",
        ),
        (&["read", "nobody-1"], "not found"),
        (
            &["append", &"x".repeat(300), "T", "{}"],
            "at most 256 bytes",
        ),
    ];
    for (args, message) in cases {
        let error = failure(&eventfold(data, args));
        assert!(error.contains(message), "{args:?}: {error}");
    }
    let usage = eventfold(
        data,
        &[
            "append",
            "account-1",
            "Deposited",
            "{}",
            "--expect",
            "maybe",
        ],
    );
    assert_eq!(
        usage.status.code(),
        Some(2),
        "argument errors are usage errors"
    );
    assert_eq!(
        ok_lines(&eventfold(data, &["read-all"])).len(),
        1,
        "nothing was written"
    );
}

#[test]
fn tail_follows_live_events_appended_by_another_process() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    ok_lines(&eventfold(
        data,
        &["append", "account-1", "Deposited", r#"{"n": 0}"#],
    ));
    let mut tail = Command::new(env!("CARGO_BIN_EXE_eventfold"))
        .arg("--data")
        .arg(data)
        .args(["tail", "--all", "--from", "0", "--category", "account"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(tail.stdout.take().unwrap()).lines();
    let mut next =
        || -> serde_json::Value { serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap() };
    assert_eq!(next()["data"]["n"], 0, "history first");
    // Another process writes while tail runs; tail delivers it live, and skips other categories.
    ok_lines(&eventfold(data, &["append", "order-1", "Placed", "{}"]));
    ok_lines(&eventfold(
        data,
        &["append", "account-2", "Deposited", r#"{"n": 1}"#],
    ));
    let live = next();
    assert_eq!(
        (live["stream"].as_str(), live["data"]["n"].as_u64()),
        (Some("account-2"), Some(1))
    );
    // Reads work beside a writer too.
    assert_eq!(ok_lines(&eventfold(data, &["read-all"])).len(), 3);
    interrupt(&tail);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = tail.try_wait().unwrap() {
            assert!(status.success(), "Ctrl-C ends tail cleanly");
            break;
        }
        assert!(Instant::now() < deadline, "tail stops on interrupt");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn one_writing_process_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    ok_lines(&eventfold(
        dir.path(),
        &["append", "account-1", "Deposited", "{}"],
    ));
    let lock = std::fs::File::open(dir.path().join("LOCK")).unwrap();
    lock.try_lock().unwrap();
    let locked = failure(&eventfold(
        dir.path(),
        &["append", "account-1", "Deposited", "{}"],
    ));
    assert!(locked.contains("in use by another process"), "{locked}");
    assert_eq!(
        ok_lines(&eventfold(dir.path(), &["read", "account-1"])).len(),
        1,
        "reading needs no lock"
    );
}

/// Sends SIGINT, as Ctrl-C does.
fn interrupt(child: &std::process::Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn verify_reports_damage_with_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    for n in 0..3 {
        ok_lines(&eventfold(
            data,
            &[
                "append",
                "account-1",
                "Deposited",
                &format!(r#"{{"n": {n}}}"#),
            ],
        ));
    }
    let clean = eventfold(data, &["verify"]);
    assert!(clean.status.success());
    assert!(String::from_utf8_lossy(&clean.stdout).contains("3 events"));
    let segment = std::fs::read_dir(data.join("log"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&segment).unwrap();
    bytes[40] ^= 0xff; // inside the first frame
    std::fs::write(&segment, &bytes).unwrap();
    let damaged = eventfold(data, &["verify", "--json"]);
    assert_eq!(damaged.status.code(), Some(2));
    let report: serde_json::Value = serde_json::from_slice(&damaged.stdout).unwrap();
    assert_eq!(report["ok"], false);
    let damage = report["damage"].as_str().unwrap();
    assert!(
        damage.contains("00000000000000000000.seg") && damage.contains("offset 32"),
        "{damage}"
    );
    let open = failure(&eventfold(data, &["read", "account-1"]));
    assert!(
        open.contains("corrupted data") && open.contains("offset 32"),
        "{open}"
    );
    assert!(failure(&eventfold(&data.join("nope"), &["verify"]))
        .contains("not an Eventfold data directory"));
}

#[test]
fn bench_prints_the_documented_json() {
    let dir = tempfile::tempdir().unwrap();
    let output = eventfold(
        dir.path(),
        &["bench", "--workload", "w1", "--seconds", "1", "--json"],
    );
    let figures = &ok_lines(&output)[0];
    for key in [
        "workload",
        "events",
        "seconds",
        "events_per_sec",
        "p50_us",
        "p99_us",
        "p999_us",
    ] {
        assert!(!figures[key].is_null(), "{key} in {figures}");
    }
    assert_eq!(figures["workload"], "w1");
    assert!(figures["events"].as_u64().unwrap() > 0);
}

#[test]
fn the_sdk_workloads_report_round_trips_and_a_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("bench");
    let bench_data = data.to_str().unwrap();
    let output = eventfold(
        dir.path(),
        &[
            "bench",
            "--workload",
            "w8",
            "--seconds",
            "1",
            "--json",
            "--bench-data",
            bench_data,
        ],
    );
    let round_trips = &ok_lines(&output)[0];
    assert_eq!(round_trips["workload"], "w8");
    assert!(round_trips["events"].as_u64().unwrap() > 0);
    assert!(round_trips["longest_tail_folded"].as_u64().unwrap() < 10);
    let output = eventfold(
        dir.path(),
        &[
            "bench",
            "--workload",
            "w9",
            "--events",
            "2000",
            "--json",
            "--bench-data",
            bench_data,
        ],
    );
    let rebuild = &ok_lines(&output)[0];
    assert_eq!(rebuild["workload"], "w9");
    assert!(rebuild["events"].as_u64().unwrap() >= 2000, "{rebuild}");
}

#[test]
fn repair_cuts_what_a_power_loss_can_leave_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let mut acknowledged_end = Vec::new();
    for n in 0..3 {
        if n == 1 {
            acknowledged_end = std::fs::read(data.join("durable.end")).unwrap();
        }
        ok_lines(&eventfold(
            data,
            &[
                "append",
                "account-1",
                "Deposited",
                &format!(r#"{{"n": {n}}}"#),
            ],
        ));
    }
    assert!(
        eventfold(data, &["repair"]).status.success(),
        "nothing to repair on a clean log"
    );
    // The machine lost power while the second and third writes were waiting for their sync:
    // neither was acknowledged, so the durable-end record never moved past the first. The
    // second write's first page never reached the disk, the third's did.
    std::fs::write(data.join("durable.end"), &acknowledged_end).unwrap();
    let segment = std::fs::read_dir(data.join("log"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&segment).unwrap();
    let first_len = 12 + u32::from_le_bytes(bytes[32..36].try_into().unwrap()) as usize;
    let second = 32 + first_len;
    bytes[second..second + 40].fill(0);
    std::fs::write(&segment, &bytes).unwrap();

    let refused = failure(&eventfold(data, &["read", "account-1"]));
    assert!(
        refused.contains("damaged in the middle") && refused.contains("eventfold repair"),
        "{refused}"
    );
    let plan = eventfold(data, &["repair"]);
    assert_eq!(plan.status.code(), Some(2));
    let text = String::from_utf8_lossy(&plan.stdout);
    assert!(
        text.contains(&format!("damage at offset {second}"))
            && text.contains("Nothing was changed"),
        "{text}"
    );
    assert_eq!(
        std::fs::read(&segment).unwrap(),
        bytes,
        "a plan changes nothing"
    );

    let done = eventfold(data, &["repair", "--yes"]);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let events = ok_lines(&eventfold(data, &["read", "account-1"]));
    assert_eq!(events.len(), 1, "the write before the damage stays");
    assert!(eventfold(data, &["verify"]).status.success());
    let next = ok_lines(&eventfold(
        data,
        &["append", "account-1", "Deposited", "{}"],
    ));
    assert_eq!(next[0]["first_revision"], 1);
}

#[test]
fn loss_at_the_end_of_the_log_stops_everything_until_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    for n in 0..3 {
        ok_lines(&eventfold(
            data,
            &[
                "append",
                "account-1",
                "Deposited",
                &format!(r#"{{"n": {n}}}"#),
            ],
        ));
    }
    // The last write is cut away after it was acknowledged, exactly at the write before it.
    let segment = std::fs::read_dir(data.join("log"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let bytes = std::fs::read(&segment).unwrap();
    let frame = |at: usize| 12 + u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
    let two_writes = 32 + frame(32) + frame(32 + frame(32));
    std::fs::write(&segment, &bytes[..two_writes]).unwrap();

    let refused = failure(&eventfold(data, &["read", "account-1"]));
    assert!(
        refused.contains("acknowledged writes are missing") && refused.contains("--accept-loss"),
        "{refused}"
    );
    let verified = eventfold(data, &["verify", "--json"]);
    assert_eq!(verified.status.code(), Some(2));
    let report: serde_json::Value = serde_json::from_slice(&verified.stdout).unwrap();
    assert!(
        report["damage"]
            .as_str()
            .unwrap()
            .contains("1 acknowledged events are gone"),
        "{report}"
    );
    let plan = eventfold(data, &["repair", "--yes"]);
    assert_eq!(
        plan.status.code(),
        Some(2),
        "--yes alone does not accept a loss"
    );
    assert!(String::from_utf8_lossy(&plan.stdout).contains("1 acknowledged events"));
    assert_eq!(
        std::fs::read(&segment).unwrap().len(),
        two_writes,
        "nothing changed"
    );

    let accepted = eventfold(data, &["repair", "--accept-loss"]);
    assert!(
        accepted.status.success(),
        "{}",
        String::from_utf8_lossy(&accepted.stderr)
    );
    assert!(String::from_utf8_lossy(&accepted.stdout).contains("2 events remain"));
    assert_eq!(ok_lines(&eventfold(data, &["read", "account-1"])).len(), 2);
    assert!(eventfold(data, &["verify"]).status.success());
    let next = ok_lines(&eventfold(
        data,
        &["append", "account-1", "Deposited", "{}"],
    ));
    assert_eq!(next[0]["first_revision"], 2);
}

#[test]
fn errors_carry_their_stable_code_and_are_json_with_json() {
    let dir = tempfile::tempdir().unwrap();
    ok_lines(&eventfold(
        dir.path(),
        &["append", "account-1", "Opened", "{}"],
    ));
    let missing = failure(&eventfold(dir.path(), &["read", "nobody-1"]));
    assert!(
        missing.starts_with("error [stream_not_found]: "),
        "{missing}"
    );
    let output = eventfold(&dir.path().join("nope"), &["verify", "--json"]);
    assert_eq!(output.status.code(), Some(1));
    let error: serde_json::Value =
        serde_json::from_slice(&output.stderr).expect("one JSON object on stderr");
    assert_eq!(error["error"], "failed", "{error}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("not an Eventfold data directory"),
        "{error}"
    );
}

#[test]
fn completions_and_the_manual_page_come_from_the_command_line_definition() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let output = eventfold(dir.path(), &["completions", shell]);
        assert!(output.status.success(), "{shell}");
        let script = String::from_utf8(output.stdout).unwrap();
        assert!(
            script.contains("eventfold") && script.contains("scavenge"),
            "{shell}: every subcommand is completed"
        );
    }
    assert!(!eventfold(dir.path(), &["completions", "tcsh"])
        .status
        .success());
    let man = eventfold(dir.path(), &["man"]);
    assert!(man.status.success());
    let page = String::from_utf8(man.stdout).unwrap();
    assert!(
        page.starts_with(".ie") || page.contains(".TH eventfold"),
        "{}",
        &page[..200]
    );
    assert!(page.contains("scavenge") && page.contains("repair"));
}

#[test]
fn server_is_refused_by_the_commands_that_would_ignore_it() {
    let dir = tempfile::tempdir().unwrap();
    for command in [&["serve"][..], &["verify"], &["repair"], &["openapi"]] {
        let mut args = vec!["--server", "http://127.0.0.1:9"];
        args.extend_from_slice(command);
        let output = eventfold(dir.path(), &args);
        assert_eq!(output.status.code(), Some(2), "{command:?}");
        let error = String::from_utf8_lossy(&output.stderr);
        assert!(
            error.contains("--server does not apply to `eventfold"),
            "{command:?}: {error}"
        );
    }
    // From the environment it stays quiet: a shell may export it for other commands.
    let appended = eventfold(
        dir.path(),
        &["append", "account-1", "Deposited", r#"{"amount": 10}"#],
    );
    assert!(appended.status.success());
    let output = Command::new(env!("CARGO_BIN_EXE_eventfold"))
        .arg("--data")
        .arg(dir.path())
        .arg("verify")
        .env("EVENTFOLD_SERVER", "http://127.0.0.1:9")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_openapi_document_is_printed_without_a_server() {
    let dir = tempfile::tempdir().unwrap();
    let output = eventfold(dir.path(), &["openapi"]);
    assert!(output.status.success());
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    assert!(document["paths"]["/streams/{stream}"]["post"].is_object());
    assert!(
        !dir.path().join("log").exists(),
        "no data directory is opened"
    );
}

#[test]
fn access_logs_name_each_request_by_its_id_and_can_be_json() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_eventfold"))
        .args(["--log-format", "json", "--data"])
        .arg(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("EVENTFOLD_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let (lines_tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let url = loop {
        let line = lines.recv_timeout(Duration::from_secs(30)).unwrap();
        if let Some(url) = line.split_whitespace().find(|w| w.starts_with("http://")) {
            break url
                .trim_matches('"')
                .trim_end_matches(['"', ')', ','])
                .to_owned();
        }
    };
    let url = url.split(' ').next().unwrap().to_owned();
    let mut stream = std::net::TcpStream::connect(url.trim_start_matches("http://")).unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nhost: x\r\nx-request-id: log-me-7\r\nconnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut stream, &mut answer).unwrap();
    assert!(answer.contains("x-request-id: log-me-7"), "{answer}");
    let deadline = Instant::now() + Duration::from_secs(10);
    let logged = loop {
        let line = lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("an access log line");
        if line.contains("log-me-7") {
            break line;
        }
    };
    let record: serde_json::Value = serde_json::from_str(&logged).expect("a JSON line");
    assert_eq!(record["level"], "INFO", "{record}");
    assert_eq!(record["fields"]["status"], 200, "{record}");
    assert_eq!(record["span"]["request_id"], "log-me-7", "{record}");
    assert_eq!(record["span"]["path"], "/health", "{record}");
    interrupt(&child);
    child.wait().unwrap();
}

/// The files under `dir` whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if std::fs::read(&path)
                .unwrap()
                .windows(needle.len())
                .any(|window| window == needle.as_bytes())
            {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

#[test]
fn scavenge_erases_a_hard_deleted_payload_offline_and_through_a_server() {
    let secret = "SECRET-7d2e91";
    // Offline, on the data directory.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let payload = format!(r#"{{"ssn": "{secret}"}}"#);
    ok_lines(&eventfold(
        data,
        &["append", "person-1", "Registered", &payload],
    ));
    ok_lines(&eventfold(
        data,
        &["append", "account-1", "Deposited", "{}"],
    ));
    ok_lines(&eventfold(data, &["delete", "person-1", "--hard"]));
    assert!(!files_containing(data, secret).is_empty());
    let done = ok_lines(&eventfold(data, &["scavenge"]));
    assert_eq!(done[0]["events_erased"], 1, "{done:?}");
    assert!(done[0]["bytes_reclaimed"].as_u64().unwrap() > 0);
    assert_eq!(files_containing(data, secret), Vec::<String>::new());
    assert_eq!(ok_lines(&eventfold(data, &["read", "account-1"])).len(), 1);
    assert!(eventfold(data, &["verify"]).status.success());

    // Through a running server, which keeps serving.
    let dir = tempfile::tempdir().unwrap();
    let server = Served::start(dir.path());
    ok_lines(&server.run(&["append", "person-2", "Registered", &payload]));
    ok_lines(&server.run(&["append", "account-2", "Deposited", "{}"]));
    ok_lines(&server.run(&["delete", "person-2", "--hard"]));
    let refused = eventfold(dir.path(), &["scavenge"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("--server URL scavenge"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let output = server.run(&["scavenge"]);
    let done = ok_lines(&output);
    assert_eq!(done[0]["events_erased"], 1, "{done:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("events erased"));
    assert_eq!(files_containing(dir.path(), secret), Vec::<String>::new());
    assert_eq!(ok_lines(&server.run(&["read", "account-2"])).len(), 1);
    ok_lines(&server.run(&["append", "account-2", "Deposited", "{}"]));
    assert!(server.stop().success());
}

/// The commands a test runs against a [`Served`] server.
impl Served {
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_eventfold"))
            .args(["--server", &self.url])
            .args(args)
            .output()
            .unwrap()
    }

    fn stop(mut self) -> std::process::ExitStatus {
        interrupt(&self.child);
        self.child.wait().unwrap()
    }
}

#[test]
fn the_cli_works_against_a_server_and_the_server_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let server = Served::start(dir.path());
    let appended = ok_lines(&server.run(&[
        "append",
        "account-1",
        "Deposited",
        r#"{"amount": 5}"#,
        "--expect",
        "no_stream",
    ]));
    assert_eq!(appended[0]["first_revision"], 0);
    let conflict = failure(&server.run(&[
        "append",
        "account-1",
        "Deposited",
        "{}",
        "--expect",
        "no_stream",
    ]));
    assert!(conflict.contains("wrong expected revision"), "{conflict}");
    let events = ok_lines(&server.run(&["read", "account-1"]));
    assert_eq!(events[0]["data"]["amount"], 5);
    assert_eq!(
        ok_lines(&server.run(&["read-all", "--category", "account"])).len(),
        1
    );
    let metadata =
        ok_lines(&server.run(&["metadata", "account-1", "--set", r#"{"max_count": 3}"#]));
    assert_eq!(metadata[0]["max_count"], 3);
    ok_lines(&server.run(&["delete", "account-1", "--hard"]));
    assert!(failure(&server.run(&["read", "account-1"])).contains("tombstoned"));
    assert!(server.stop().success(), "SIGINT stops the server cleanly");
    // What the server wrote is in the data directory.
    let all = ok_lines(&eventfold(dir.path(), &["read-all"]));
    assert!(all.is_empty(), "the tombstoned stream's events are hidden");
    assert!(eventfold(dir.path(), &["verify"]).status.success());
}

#[test]
fn a_configuration_file_sets_the_data_directory_and_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("from-config");
    let config = dir.path().join("eventfold.toml");
    let text = format!(
        "data = {:?}\n[serve]\nlisten = \"127.0.0.1:0\"\nsubscribers_max = 4\n",
        data.to_str().unwrap()
    );
    std::fs::write(&config, text).unwrap();
    let server = Served::start_with(&["--config", config.to_str().unwrap(), "serve"]);
    ok_lines(&server.run(&["append", "account-1", "Deposited", "{}"]));
    assert!(server.stop().success());
    assert_eq!(
        ok_lines(&eventfold(&data, &["read", "account-1"])).len(),
        1,
        "the file's data directory was used"
    );
    // A flag wins over the file.
    let other = dir.path().join("from-flag");
    let config_arg = config.to_str().unwrap();
    let written = Command::new(env!("CARGO_BIN_EXE_eventfold"))
        .args([
            "--config",
            config_arg,
            "--data",
            other.to_str().unwrap(),
            "append",
            "x-1",
            "T",
            "{}",
        ])
        .output()
        .unwrap();
    assert!(written.status.success());
    assert!(other.join("log").is_dir());
    // A mistake in the file is named.
    std::fs::write(&config, "[serve]\nlisen = \"127.0.0.1:0\"\n").unwrap();
    let refused = Command::new(env!("CARGO_BIN_EXE_eventfold"))
        .args(["--config", config_arg, "serve"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains("lisen") && message.contains("eventfold.toml"),
        "{message}"
    );
}

#[test]
fn serve_on_an_unreachable_database_fails_with_one_actionable_line() {
    let dir = tempfile::tempdir().unwrap();
    let output = eventfold(
        dir.path(),
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--postgres",
            "postgres://postgres@127.0.0.1:1/test",
        ],
    );
    let error = failure(&output);
    assert_eq!(error.trim().lines().count(), 1, "{error}");
    assert!(
        error.contains("cannot connect to PostgreSQL at 127.0.0.1:1")
            && error.contains("check the URL"),
        "{error}"
    );
}

#[test]
fn two_servers_on_one_database_see_each_others_appends() {
    let Ok(url) = std::env::var("EVENTFOLD_TEST_POSTGRES") else {
        return;
    };
    let args = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--postgres",
        &url,
        "--postgres-schema",
        "eventfold_cli_nodes",
    ];
    let first = Served::start_with(&args);
    let second = Served::start_with(&args);
    let stream = format!("node-{}", std::process::id());
    ok_lines(&first.run(&["append", &stream, "Hello", r#"{"from": 1}"#]));
    ok_lines(&second.run(&["append", &stream, "Hello", r#"{"from": 2}"#]));
    for served in [&first, &second] {
        let events = ok_lines(&served.run(&["read", &stream]));
        let from: Vec<i64> = events
            .iter()
            .map(|event| event["data"]["from"].as_i64().unwrap())
            .collect();
        assert_eq!(from, vec![1, 2]);
    }
    assert!(first.stop().success());
    assert!(second.stop().success());
}

#[test]
fn serve_with_wrong_credentials_fails_with_one_actionable_line() {
    let Ok(url) = std::env::var("EVENTFOLD_TEST_POSTGRES") else {
        return;
    };
    // The same server, as a role that does not exist.
    let wrong = url.replacen("://", "://eventfold_no_such_role@", 1);
    let wrong = match wrong.find('@') {
        Some(at) if wrong[at + 1..].contains('@') => {
            // The URL named a user already: keep only ours.
            let rest = &wrong[at + 1..];
            let host = &rest[rest.find('@').unwrap() + 1..];
            format!("postgres://eventfold_no_such_role@{host}")
        }
        _ => wrong,
    };
    let dir = tempfile::tempdir().unwrap();
    let error = failure(&eventfold(
        dir.path(),
        &["serve", "--listen", "127.0.0.1:0", "--postgres", &wrong],
    ));
    assert_eq!(error.trim().lines().count(), 1, "{error}");
    assert!(
        error.contains("eventfold_no_such_role") && error.contains("check the URL"),
        "{error}"
    );
}

/// Fetches and acknowledges through the CLI until `wanted` distinct events were delivered;
/// returns every delivery's (event id, data.n).
fn consume(server: &Served, group: &str, wanted: usize, seen: &mut Vec<(String, u64)>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let distinct = |seen: &Vec<(String, u64)>| {
        seen.iter()
            .map(|(id, _)| id.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    };
    while distinct(seen) < wanted {
        assert!(
            Instant::now() < deadline,
            "only {} of {wanted} delivered",
            distinct(seen)
        );
        let batch = ok_lines(&server.run(&[
            "group",
            "fetch",
            group,
            "--max",
            "25",
            "--wait-ms",
            "1000",
            "--ack",
        ]));
        for delivery in batch {
            let event = &delivery["event"];
            seen.push((
                event["id"].as_str().unwrap().to_owned(),
                event["data"]["n"].as_u64().unwrap(),
            ));
        }
    }
}

#[test]
fn a_server_killed_mid_delivery_loses_nothing_and_invents_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Served::start(dir.path());
    ok_lines(&server.run(&[
        "group",
        "save",
        "work",
        "--category",
        "job",
        "--start",
        "start",
    ]));
    ok_lines(&server.run(&["bus", "save", "orders", "--allow-source", "shop"]));
    ok_lines(&server.run(&[
        "bus",
        "rule",
        "orders",
        "to-jobs",
        "--pattern",
        r#"{"source": ["shop"]}"#,
        "--target",
        r#"{"stream": "job-from-bus"}"#,
    ]));
    let refused = failure(&server.run(&["bus", "put", "orders", "evil", "Order", "{}"]));
    assert!(
        refused.contains("forbidden_source") || refused.contains("does not allow"),
        "{refused}"
    );

    // 60 events appended to job streams, 60 put on the bus (the rule copies them to a job stream).
    for n in 0..60u64 {
        let written = ok_lines(&server.run(&[
            "append",
            &format!("job-{}", n % 7),
            "Job",
            &format!(r#"{{"n": {n}}}"#),
        ]));
        assert_eq!(written.len(), 1);
    }
    let appended: Vec<String> = (0..7)
        .flat_map(|k| ok_lines(&server.run(&["read", &format!("job-{k}")])))
        .map(|event| event["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(appended.len(), 60);
    let mut seen = Vec::new();
    consume(&server, "work", 30, &mut seen);
    for n in 60..120u64 {
        ok_lines(&server.run(&[
            "bus",
            "put",
            "orders",
            "shop",
            "Job",
            &format!(r#"{{"n": {n}}}"#),
        ]));
    }

    // Mid-delivery: some acked since the last checkpoint, the rule part-way through the bus.
    let mut server = server;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let server = Served::start(dir.path());
    consume(&server, "work", 120, &mut seen);

    // Nothing lost: every appended event and every bus event (as its copy) was delivered.
    let delivered: std::collections::BTreeSet<u64> = seen.iter().map(|(_, n)| *n).collect();
    assert_eq!(delivered, (0..120).collect(), "every event delivered");
    let ids: std::collections::BTreeSet<&String> = seen.iter().map(|(id, _)| id).collect();
    for id in &appended {
        assert!(
            ids.contains(id),
            "appended event {id} delivered with its own id"
        );
    }
    // Nothing invented: a duplicate carries the same id and data as the first delivery.
    let mut by_id = std::collections::BTreeMap::new();
    for (id, n) in &seen {
        assert_eq!(
            *by_id.entry(id.clone()).or_insert(*n),
            *n,
            "same id, same event"
        );
    }
    let copies = ok_lines(&server.run(&["read", "job-from-bus", "--limit", "1000"]));
    let copied: std::collections::BTreeSet<u64> = copies
        .iter()
        .map(|e| e["data"]["n"].as_u64().unwrap())
        .collect();
    assert_eq!(copied, (60..120).collect());
    let described = ok_lines(&server.run(&["group", "describe", "work"]));
    assert_eq!(described[0]["status"]["in_flight"], 0);
    // The rule's counters catch up with its deliveries a moment later.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let rule = ok_lines(&server.run(&["bus", "describe-rule", "orders", "to-jobs"]));
        if rule[0]["status"]["lag_events"] == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the rule's lag: {}",
            rule[0]["status"]
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // `group tail` follows the group live.
    let mut tail = Command::new(env!("CARGO_BIN_EXE_eventfold"))
        .args(["--server", &server.url, "group", "tail", "work", "--ack"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    ok_lines(&server.run(&["append", "job-live", "Job", r#"{"n": 999}"#]));
    let mut line = String::new();
    BufReader::new(tail.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let delivered: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(delivered["event"]["data"]["n"], 999);
    interrupt(&tail);
    assert!(
        tail.wait().unwrap().success(),
        "Ctrl-C ends the tail cleanly"
    );
    assert!(server.stop().success());
}

/// An idle timeout that would cut live connections (SSE between keep-alives, requests within
/// their time-out) is refused at start, with the reason.
#[test]
fn serve_refuses_an_idle_timeout_shorter_than_live_connections_go_quiet() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--idle-timeout-secs",
            "10",
        ][..],
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--idle-timeout-secs",
            "60",
            "--request-timeout-secs",
            "90",
        ][..],
    ] {
        let message = failure(&eventfold(dir.path(), args));
        assert!(message.contains("--idle-timeout-secs"), "{message}");
    }
}
