//! A container's command run as its pod would run it, without a cluster: each variable given a value that names
//! its source, `$(NAME)` expanded as Kubernetes expands it, then the command run with a stand-in `tgload` first
//! on PATH, which records its arguments and exits as told. It shows what the load Job's shell does with tgload's
//! arguments, exit codes and SIGTERM; it is not a pod (no image, no kubelet).

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::manifest::Node;

/// Where Kubernetes puts an Indexed Job pod's index.
pub const INDEX_ANNOTATION: &str = "metadata.annotations['batch.kubernetes.io/job-completion-index']";

/// How long a stand-in run may take; it takes milliseconds.
const LIMIT: Duration = Duration::from_secs(20);

/// A stand-in for tgload: records its arguments, then exits with TGLOAD_STANDIN_EXIT, or with `term` waits for
/// SIGTERM and exits 143, as tgload's orderly stop does. The trap is set before the arguments are written, so
/// that once they are there a SIGTERM is caught. The sleep it waits in holds none of the test's output: a SIGTERM
/// between its start and `$!` would leave it running, and nextest reports a test whose output stays open as leaky.
const STANDIN: &str = r#"#!/bin/sh
trap 'kill "$sleeper" 2>/dev/null; exit 143' TERM
printf '%s\n' "$@" > "$TGLOAD_STANDIN_ARGS.part"
mv "$TGLOAD_STANDIN_ARGS.part" "$TGLOAD_STANDIN_ARGS"
if [ "$TGLOAD_STANDIN_EXIT" = term ]; then
  sleep 60 </dev/null >/dev/null 2>&1 & sleeper=$!
  wait "$sleeper"
  exit 0
fi
exit "$TGLOAD_STANDIN_EXIT"
"#;

/// The container's variables, each valued by its source: the pod's completion index as `index`, a ConfigMap key
/// as `configmap.NAME.KEY`, a Secret key as `secret.NAME.KEY`, a literal as itself. Any other source fails.
pub fn environment(container: &Node<'_>, index: usize) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    if !container.at("env").exists() {
        return env;
    }
    for var in container.at("env").list() {
        let name = var.at("name").str().to_string();
        let value = if var.at("value").exists() {
            var.at("value").str().to_string()
        } else if var.at("valueFrom.fieldRef").exists() {
            let path = var.at("valueFrom.fieldRef.fieldPath");
            path.check(path.str() == INDEX_ANNOTATION, format_args!("expected {INDEX_ANNOTATION}"));
            index.to_string()
        } else if var.at("valueFrom.configMapKeyRef").exists() {
            let from = var.at("valueFrom.configMapKeyRef");
            format!("configmap.{}.{}", from.at("name").str(), from.at("key").str())
        } else if var.at("valueFrom.secretKeyRef").exists() {
            let from = var.at("valueFrom.secretKeyRef");
            format!("secret.{}.{}", from.at("name").str(), from.at("key").str())
        } else {
            var.fail("a variable with no value, fieldRef, configMapKeyRef or secretKeyRef")
        };
        env.insert(name, value);
    }
    env
}

/// The container's `command` with `$(NAME)` replaced by the variable's value and `$$` by `$`, as Kubernetes does.
/// Kubernetes leaves a reference to no variable as it is, where sh would run NAME as a command: that fails here.
pub fn command(container: &Node<'_>, env: &BTreeMap<String, String>) -> Vec<String> {
    let command = container.at("command");
    let expanded: Vec<String> = command.strings().iter().map(|text| expand(&command, text, env)).collect();
    command.check(!expanded.is_empty(), "an empty command");
    expanded
}

fn expand(node: &Node<'_>, text: &str, env: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(after) = after.strip_prefix('$') {
            out.push('$');
            rest = after;
        } else if let Some((name, after)) = after.strip_prefix('(').and_then(|a| a.split_once(')')) {
            match env.get(name) {
                Some(value) => out.push_str(value),
                None => node.fail(format_args!("$({name}) names no variable of the container")),
            }
            rest = after;
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// What a run of the command did: its exit code (`None`: killed by a signal) and the stand-in's arguments.
pub struct Ran {
    pub code: Option<i32>,
    pub argv: Vec<String>,
}

impl Ran {
    /// The value after `name` in the stand-in's arguments.
    pub fn flag(&self, name: &str) -> Option<&str> {
        flag(&self.argv, name)
    }
}

/// The value after `name` in `args`, or `None`.
pub fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter().position(|arg| arg == name).and_then(|at| args.get(at + 1)).map(String::as_str)
}

/// Runs `command` with `env`, the stand-in tgload exiting with `code`.
pub fn run(command: &[String], env: &BTreeMap<String, String>, code: i32) -> Ran {
    let (mut child, dir) = spawn(command, env, &code.to_string());
    let code = wait(&mut child, command);
    Ran { code, argv: read_args(&dir) }
}

/// Runs `command` with `env` until the stand-in tgload runs, then sends SIGTERM to the command's own process
/// (as the kubelet signals a container's PID 1, not its children).
pub fn run_terminated(command: &[String], env: &BTreeMap<String, String>) -> Ran {
    let (mut child, dir) = spawn(command, env, "term");
    let args = dir.join("args");
    let deadline = Instant::now() + LIMIT;
    while !args.exists() {
        if let Some(status) = child.try_wait().expect("the command can be waited for") {
            panic!("{command:?} ended ({status}) before tgload ran");
        }
        assert!(Instant::now() < deadline, "{command:?} did not run tgload within {LIMIT:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill runs");
    assert!(status.success(), "kill -TERM {}: {status}", child.id());
    let code = wait(&mut child, command);
    Ran { code, argv: read_args(&dir) }
}

/// Starts `command` with the stand-in; returns it and the stand-in's directory, which holds its `args`.
fn spawn(command: &[String], env: &BTreeMap<String, String>, exit: &str) -> (Child, PathBuf) {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "deploy-{}-{}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::Relaxed)
    ));
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("the stand-in's directory");
    let standin = bin.join("tgload");
    std::fs::write(&standin, STANDIN).expect("the stand-in is written");
    std::fs::set_permissions(&standin, std::fs::Permissions::from_mode(0o755)).expect("the stand-in runs");
    let args = dir.join("args");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let child = Command::new(&command[0])
        .args(&command[1..])
        .envs(env)
        .env("PATH", path)
        .env("TGLOAD_STANDIN_EXIT", exit)
        .env("TGLOAD_STANDIN_ARGS", &args)
        .stdin(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    (child, dir)
}

fn wait(child: &mut Child, command: &[String]) -> Option<i32> {
    let deadline = Instant::now() + LIMIT;
    loop {
        if let Some(status) = child.try_wait().expect("the command can be waited for") {
            return status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{command:?} did not end within {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The stand-in's arguments (none if it did not run); the directory is removed.
fn read_args(dir: &Path) -> Vec<String> {
    let argv = match std::fs::read_to_string(dir.join("args")) {
        Ok(text) => text.lines().map(str::to_string).collect(),
        Err(_) => Vec::new(),
    };
    let _ = std::fs::remove_dir_all(dir);
    argv
}
