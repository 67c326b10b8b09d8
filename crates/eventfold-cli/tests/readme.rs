//! Every shell example of the README and of the guides, run against a live server, so the
//! documentation cannot drift from what the server and the CLI really do.
//!
//! In README.md, docs/BUSES.md and docs/SDK.md (one test each, below), every fenced block whose
//! info string starts with `sh` is an example. Each file gets a fresh `eventfold serve` (on an
//! ephemeral port, on a temporary data directory), and its blocks run in order, each with
//! `bash -euo pipefail`, in one working directory (so `./eventfold-data`, the CLI's default, is
//! the same for all of them): later examples rely on earlier ones, as for a reader who types them
//! in one terminal. Shell variables a block sets (`S=…`, `export EVENTFOLD_SERVER=…`) are carried
//! to the next blocks. No `EVENTFOLD_*` variable of the test's own environment reaches them.
//!
//! What the test changes, and nothing else:
//! - `localhost:7117` and `127.0.0.1:7117` become the test server's address (a runnable block
//!   that still names port 7117 fails the test, so no example can reach a real server);
//! - `eventfold` is the binary of this build (its directory is first on `PATH`);
//! - a prelude defines two shell functions. `curl` adds `--silent --show-error --fail-with-body`
//!   (an HTTP error fails the block) and `--max-time 60`. A request that follows a live response
//!   (`curl -N`, Server-Sent Events) is stopped after [`FOLLOW_SECS`] seconds: curl's time-out
//!   (exit status 28) counts as success only after a `200` status line was received. `eventfold`
//!   stops the commands that follow live (`tail`, `group tail`) the same way: after
//!   [`FOLLOW_SECS`] seconds it interrupts them (SIGINT, as Ctrl-C), and the time-out (status 124
//!   of `timeout`) counts as success; any other failure is a failure. `eventfold bench` gets
//!   `--seconds 1 --events 2000` (unless the example gives them): the examples check that the
//!   documented commands work, not the figures.
//!
//! Blocks that are not run:
//! - the first block of README.md, the quick start (`cargo run --release -- serve`, `./test.sh`):
//!   it builds and serves Eventfold and runs the test suite, which includes this test;
//! - blocks marked not runnable in their info string: ```` ```sh no-run: REASON ````. The reason
//!   is required (the test fails without one) and printed; use it only for a block that cannot
//!   run here, say one that needs a remote database or another program.
//!
//! Shell examples must be written as ```` ```sh ````: a `bash`, `shell`, `console` or `zsh`
//! block fails the test, so none escapes it. The test needs `bash`, `curl` (7.76 or later, for
//! `--fail-with-body`) and `timeout` (coreutils); when one is missing it fails, and says so.

use std::fmt::Write as _;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a live-following command (`curl -N`, `eventfold tail`) follows before it is stopped.
const FOLLOW_SECS: u64 = 3;

/// A block that takes longer than this is killed, and fails.
const BLOCK_TIMEOUT: Duration = Duration::from_secs(300);

/// The fence attribute of a block that is not run; a reason follows it.
const NO_RUN: &str = "no-run";

#[test]
fn readme_examples_run() {
    run_examples("README.md");
}

#[test]
fn buses_guide_examples_run() {
    run_examples("docs/BUSES.md");
}

#[test]
fn sdk_guide_examples_run() {
    run_examples("docs/SDK.md");
}

/// One fenced shell block of a documentation file.
struct Example {
    file: &'static str,
    /// The line of the opening fence (1-based).
    fence_line: usize,
    text: String,
    /// Why the block is not run, if it is not.
    not_run: Option<String>,
}

impl Example {
    /// The block with the file's line numbers, for failure messages.
    fn numbered(&self) -> String {
        let mut out = String::new();
        for (n, line) in self.text.lines().enumerate() {
            let _ = writeln!(out, "{:>5} | {line}", self.fence_line + 1 + n);
        }
        out
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/eventfold-cli is two levels below the workspace root")
        .to_owned()
}

/// The shell blocks of `file`, in order.
fn examples(file: &'static str) -> Vec<Example> {
    let path = workspace_root().join(file);
    let markdown = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    let mut examples = Vec::new();
    // (fence line, info string, lines so far) of the block being read.
    let mut open: Option<(usize, String, Vec<&str>)> = None;
    for (n, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        match &mut open {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    open = Some((n + 1, info.trim().to_owned(), Vec::new()));
                }
            }
            Some((_, _, lines)) if !trimmed.starts_with("```") => lines.push(line),
            Some(_) => {
                let (fence_line, info, lines) = open.take().expect("a block is open");
                if let Some(example) = example(file, fence_line, &info, &lines) {
                    examples.push(example);
                }
            }
        }
    }
    assert!(
        open.is_none(),
        "{file}: the block opened at line {} is never closed",
        open.map_or(0, |(line, _, _)| line)
    );
    examples
}

/// The example a fenced block is, if it is a shell block.
fn example(file: &'static str, fence_line: usize, info: &str, lines: &[&str]) -> Option<Example> {
    let (language, attributes) = info.split_once(char::is_whitespace).unwrap_or((info, ""));
    match language {
        "sh" => {}
        "bash" | "shell" | "console" | "zsh" | "shell-session" => panic!(
            "{file}:{fence_line}: write shell examples as ```sh, so that tests/readme.rs runs them"
        ),
        _ => return None,
    }
    let attributes = attributes.trim();
    assert!(
        !attributes.contains('`'),
        "{file}:{fence_line}: a backtick in the info string of a ``` fence makes it no fence at \
         all (CommonMark): leave backticks out of the reason"
    );
    let not_run = if attributes.is_empty() {
        None
    } else if let Some(reason) = attributes.strip_prefix(NO_RUN) {
        let reason = reason.trim_start_matches(':').trim();
        assert!(
            !reason.is_empty(),
            "{file}:{fence_line}: a ```sh {NO_RUN} block must say why: ```sh {NO_RUN}: REASON"
        );
        Some(reason.to_owned())
    } else {
        panic!("{file}:{fence_line}: unknown fence attributes {attributes:?} (only `{NO_RUN}: REASON`)")
    };
    Some(Example {
        file,
        fence_line,
        text: lines.join("\n") + "\n",
        not_run,
    })
}

/// Runs the examples of `file` against a fresh server; panics with everything needed to see why
/// when one fails.
fn run_examples(file: &'static str) {
    require_tools();
    let mut examples = examples(file);
    assert!(!examples.is_empty(), "{file} has no ```sh block");
    if file == "README.md" {
        let quick_start = &mut examples[0];
        assert!(
            quick_start.text.contains("./test.sh") && quick_start.not_run.is_none(),
            "README.md's first ```sh block should be the quick start (`cargo run --release -- \
             serve`, `./test.sh`), which this test does not run:\n{}",
            quick_start.numbered()
        );
        quick_start.not_run = Some(
            "the quick start: it builds and serves Eventfold, and runs the test suite".to_owned(),
        );
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let state = dir.path().join("shell-variables");
    let mut server: Option<Server> = None;
    let mut summary = Vec::new();
    for (ordinal, example) in examples.iter().enumerate() {
        let at = format!("{}:{}", example.file, example.fence_line);
        if let Some(reason) = &example.not_run {
            summary.push(format!("{at}: not run ({reason})"));
            continue;
        }
        let server = server.get_or_insert_with(|| Server::start(&dir.path().join("server")));
        let started = Instant::now();
        let run = run_block(example, ordinal, dir.path(), &work, &state, server);
        if let Err(failure) = run {
            panic!(
                "{at}: this example failed\n{}\n{failure}\n--- the server's log ---\n{}",
                example.numbered(),
                server.log_tail()
            );
        }
        summary.push(format!(
            "{at}: ran in {:.1} s",
            started.elapsed().as_secs_f64()
        ));
    }
    if let Some(server) = server {
        server.stop();
    }
    println!("{file}:\n  {}", summary.join("\n  "));
}

/// The shell functions and settings every block runs with (see the module documentation).
/// `@…@` are replaced before it runs.
const PRELUDE: &str = r#"# The prelude of crates/eventfold-cli/tests/readme.rs (not part of the documentation).
cd @WORK@
__readme_follow_secs=@FOLLOW_SECS@

curl() {
  local __readme_arg __readme_follow=0
  for __readme_arg in "$@"; do
    case $__readme_arg in -N | --no-buffer) __readme_follow=1 ;; esac
  done
  if ((__readme_follow == 0)); then
    command curl --silent --show-error --fail-with-body --max-time 60 --write-out '\n' "$@" || return $?
    return 0
  fi
  # Following a live response: stop after a while; a time-out after a 200 is the success.
  local __readme_headers __readme_status=0
  __readme_headers=$(mktemp)
  command curl --silent --show-error --fail-with-body --max-time "$__readme_follow_secs" \
    --dump-header "$__readme_headers" "$@" || __readme_status=$?
  if ((__readme_status == 28)) && grep -Eq '^HTTP/[0-9.]+ 200' "$__readme_headers"; then
    printf '\n[readme test: followed a 200 response for %s s, then stopped it]\n' "$__readme_follow_secs" >&2
    __readme_status=0
  fi
  rm -f "$__readme_headers"
  return "$__readme_status"
}

eventfold() {
  # The subcommand (and a group's subcommand), after the global options.
  local __readme_i=1 __readme_sub="" __readme_sub2=""
  while ((__readme_i <= $#)); do
    case ${!__readme_i} in
      --data | --config | --server) __readme_i=$((__readme_i + 2)) ;;
      -*) __readme_i=$((__readme_i + 1)) ;;
      *)
        __readme_sub=${!__readme_i}
        __readme_i=$((__readme_i + 1))
        __readme_sub2=${!__readme_i-}
        break
        ;;
    esac
  done
  if [[ $__readme_sub == tail || ($__readme_sub == group && $__readme_sub2 == tail) ]]; then
    # Following live: interrupt it (as Ctrl-C) after a while; that time-out is the success.
    local __readme_status=0
    timeout --kill-after=5 --signal=INT "$__readme_follow_secs" eventfold "$@" || __readme_status=$?
    if ((__readme_status == 124)); then
      printf '[readme test: followed for %s s, then interrupted it]\n' "$__readme_follow_secs" >&2
      __readme_status=0
    fi
    return "$__readme_status"
  fi
  if [[ $__readme_sub == bench ]]; then
    # A short run: the example checks the command, not the figures.
    local __readme_extra=()
    [[ " $* " == *" --seconds "* ]] || __readme_extra+=(--seconds 1)
    [[ " $* " == *" --events "* ]] || __readme_extra+=(--events 2000)
    command eventfold "$@" "${__readme_extra[@]}" || return $?
    return 0
  fi
  command eventfold "$@" || return $?
}

# Variables from earlier blocks; what this block sets is saved for the next ones.
declare -A __readme_known=()
for __readme_v in $(compgen -v); do __readme_known[$__readme_v]=1; done
if [[ -f @STATE@ ]]; then source @STATE@; fi

# On failure, name the command (the line is where it ends in the documentation file).
__readme_command="" __readme_line=0
trap '[[ -n ${FUNCNAME[0]-} || $BASH_COMMAND == return* ]] || { __readme_command=$BASH_COMMAND; __readme_line=$LINENO; }' DEBUG
trap 'printf "[readme test: failed (status %s), %s line %s: %s]\n" "$?" @FILE@ "$((__readme_line - @OFFSET@))" "$__readme_command" >&2' ERR
"#;

/// Saves the variables the block set (and those it was given) for the next blocks.
const EPILOGUE: &str = r#"
# The epilogue of crates/eventfold-cli/tests/readme.rs.
trap - DEBUG ERR
__readme_save=()
for __readme_v in $(compgen -v); do
  [[ -n ${__readme_known[$__readme_v]-} || $__readme_v == __readme* || $__readme_v == BASH* ]] ||
    __readme_save+=("$__readme_v")
done
if ((${#__readme_save[@]})); then declare -p "${__readme_save[@]}" >@STATE@; else : >@STATE@; fi
"#;

/// Runs one block; on failure, says how it failed, with its output.
fn run_block(
    example: &Example,
    ordinal: usize,
    dir: &Path,
    work: &Path,
    state: &Path,
    server: &Server,
) -> Result<(), String> {
    let text = example
        .text
        .replace("localhost:7117", &server.address)
        .replace("127.0.0.1:7117", &server.address);
    if text.contains(":7117") {
        return Err(format!(
            "it names port 7117 in a way this test cannot point at its server (use \
             localhost:7117 or 127.0.0.1:7117, or mark the block ```sh {NO_RUN}: REASON)"
        ));
    }
    let prelude = PRELUDE
        .replace("@WORK@", &quote(work))
        .replace("@STATE@", &quote(state))
        .replace("@FOLLOW_SECS@", &FOLLOW_SECS.to_string())
        .replace("@FILE@", &quote(Path::new(example.file)));
    // The block's first line is line `prelude_lines + 1` of the script and line
    // `fence_line + 1` of the file.
    let prelude_lines = prelude.lines().count();
    let offset = prelude_lines as i64 - example.fence_line as i64;
    let script = prelude.replace("@OFFSET@", &offset.to_string())
        + &text
        + &EPILOGUE.replace("@STATE@", &quote(state));
    let script_path = dir.join(format!("block-{ordinal}.sh"));
    std::fs::write(&script_path, script).unwrap();
    let stdout_path = dir.join(format!("block-{ordinal}.stdout"));
    let stderr_path = dir.join(format!("block-{ordinal}.stderr"));
    let mut command = Command::new("bash");
    command
        .arg("-euo")
        .arg("pipefail")
        .arg(&script_path)
        .current_dir(work)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).unwrap())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .env("PATH", path_with_the_binary())
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        // Its own process group: a block that hangs is killed with everything it started.
        .process_group(0);
    without_eventfold_environment(&mut command);
    let mut child = command.spawn().expect("bash runs");
    let deadline = Instant::now() + BLOCK_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    if status.is_none() {
        // The block and everything it started (the group is still ours: bash is not reaped).
        kill_group(&child, libc::SIGKILL);
        let _ = child.wait();
    }
    let output = |path: &Path| String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
    let report = |how: String| {
        format!(
            "{how}\n--- its standard output ---\n{}\n--- its standard error ---\n{}",
            output(&stdout_path),
            output(&stderr_path)
        )
    };
    match status {
        None => Err(report(format!(
            "it did not finish within {} s (killed)",
            BLOCK_TIMEOUT.as_secs()
        ))),
        Some(status) if status.success() => Ok(()),
        Some(status) => Err(report(format!("bash -euo pipefail exited with {status}"))),
    }
}

/// `path` as one single-quoted shell word.
fn quote(path: &Path) -> String {
    let text = path.to_str().expect("a UTF-8 path");
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// `PATH` with the directory of this build's `eventfold` first.
fn path_with_the_binary() -> String {
    let binary = Path::new(env!("CARGO_BIN_EXE_eventfold"));
    let dir = binary.parent().expect("the binary is in a directory");
    let rest = std::env::var("PATH").unwrap_or_default();
    format!("{}:{rest}", dir.display())
}

/// The examples say everything they mean: no `EVENTFOLD_*` setting of the environment the test
/// runs in (`EVENTFOLD_SERVER`, `EVENTFOLD_POSTGRES`, …) changes what they do.
fn without_eventfold_environment(command: &mut Command) {
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("EVENTFOLD_") {
            command.env_remove(name);
        }
    }
}

fn kill_group(child: &Child, signal: libc::c_int) {
    let pid = child.id() as libc::pid_t;
    // SAFETY: kill(2) has no memory effects; the group is the one the child leads.
    unsafe {
        libc::kill(-pid, signal);
    }
}

/// Fails, saying what to install, when a tool the examples need is missing.
fn require_tools() {
    for (tool, args, why) in [
        ("bash", &["--version"][..], "it runs the examples"),
        ("curl", &["--version"][..], "the examples use it"),
        (
            "timeout",
            &["--version"][..],
            "it stops the examples that follow live events (coreutils)",
        ),
    ] {
        let found = Command::new(tool)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        assert!(
            found,
            "`{tool}` is needed to run the documentation's examples ({why}), and it is not on PATH"
        );
    }
}

/// `eventfold serve` on an ephemeral port and a fresh data directory, its log in a file.
struct Server {
    child: Option<Child>,
    /// `127.0.0.1:PORT`.
    address: String,
    log: PathBuf,
}

impl Server {
    fn start(dir: &Path) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let log = dir.join("server.log");
        let log_file = std::fs::File::create(&log).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_eventfold"));
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(dir.join("data"))
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file);
        without_eventfold_environment(&mut command);
        command.env("EVENTFOLD_LOG", "info");
        let mut server = Self {
            child: Some(command.spawn().expect("eventfold serve starts")),
            address: String::new(),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        server.address = loop {
            let log = std::fs::read_to_string(&server.log).unwrap_or_default();
            let url = log
                .split_whitespace()
                .find_map(|word| word.strip_prefix("http://"));
            if let Some(address) = url {
                break address.to_owned();
            }
            let exited = server.child.as_mut().unwrap().try_wait().unwrap();
            assert!(
                exited.is_none() && Instant::now() < deadline,
                "eventfold serve did not start ({exited:?}):\n{log}"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        server.wait_healthy();
        server
    }

    /// GET /health answers 200, through curl with the options the examples use.
    fn wait_healthy(&self) {
        let url = format!("http://{}/health", self.address);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let output = Command::new("curl")
                .args(["--silent", "--show-error", "--fail-with-body"])
                .args(["--max-time", "5", &url])
                .env("NO_PROXY", "127.0.0.1,localhost")
                .env("no_proxy", "127.0.0.1,localhost")
                .output()
                .expect("curl runs");
            if output.status.success() {
                return;
            }
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(
                output.status.code() != Some(2),
                "curl 7.76 or later is needed (--fail-with-body): {stderr}"
            );
            assert!(
                Instant::now() < deadline,
                "{url} does not answer: {stderr}\n{}",
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The end of the server's log (all of it, unless it is long).
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let skipped = lines.len().saturating_sub(200);
        let mut out = String::new();
        if skipped > 0 {
            let _ = writeln!(out, "[{skipped} earlier lines]");
        }
        out + &lines[skipped..].join("\n")
    }

    /// SIGINT, as Ctrl-C: the server stops cleanly after the examples.
    fn stop(mut self) {
        let mut child = self.child.take().unwrap();
        // SAFETY: kill(2) has no memory effects; the pid is our child's, not yet waited for.
        unsafe {
            libc::kill(child.id() as libc::pid_t, libc::SIGINT);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the server did not stop within 30 s of SIGINT\n{}",
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(
            status.success(),
            "the server did not stop cleanly ({status})\n{}",
            self.log_tail()
        );
    }
}

impl Drop for Server {
    /// A failing test does not leave its server running.
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
