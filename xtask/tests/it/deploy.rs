//! deploy/kubernetes and the Dockerfile fit together as docs/scale-out.md says: the load Job's pods are the
//! shards of one load (indexed, never retried, each its own index of N against the mock's Service), the mock's
//! Service reaches the mock, the bot calls it, the merge Job reads exactly what the shards write, and the image
//! carries the three binaries. A failed check names the file, the object and the field. No cluster: what only a
//! cluster checks (admission, scheduling, the storage class) is not checked here.

use std::collections::BTreeSet;

use super::manifest::{dockerfile_stages, read, root, yaml_files, Instruction, Manifests, Node, DIR};
use super::wrapper::{self, environment, Ran};

const LOAD_JOB: &str = "tgload-load";
const MERGE_JOB: &str = "tgload-merge";
/// The exit codes of a shard that did not do its part (1 failed, 2 bad usage, 97 not ready by --start-at), and
/// of one that did, whatever its own verdict (0, 98 inconclusive, 99 its objectives fail).
const FAILED: [i64; 3] = [1, 2, 97];
const DONE: [i64; 3] = [0, 98, 99];

fn load_job(m: &Manifests) -> Node<'_> {
    m.object("Job", LOAD_JOB)
}

/// The one container of a workload's pod template (of the pod itself, for a Pod).
fn only_container<'a>(workload: &Node<'a>) -> Node<'a> {
    let pod =
        if workload.at("spec.template").exists() { workload.at("spec.template.spec") } else { workload.at("spec") };
    let containers = pod.at("containers");
    containers.check(containers.list().len() == 1, "expected one container");
    containers.at("0")
}

fn completions(m: &Manifests) -> usize {
    let completions = load_job(m).at("spec.completions");
    completions.check(completions.int() >= 1, "expected at least one shard");
    completions.int() as usize
}

/// Shard `index`'s container command, run with a stand-in tgload that exits with `code`.
fn shard(m: &Manifests, index: usize, code: i32) -> Ran {
    let container = only_container(&load_job(m));
    let env = environment(&container, index);
    wrapper::run(&wrapper::command(&container, &env), &env, code)
}

/// The shard's `flag` argument to `tgload run`; fails, naming the command, if it has none.
fn shard_flag(m: &Manifests, ran: &Ran, flag: &str) -> String {
    let command = only_container(&load_job(m)).at("command");
    ran.flag(flag).unwrap_or_else(|| command.fail(format_args!("tgload gets no {flag}: {:?}", ran.argv))).to_string()
}

/// The mock's container command, its variables expanded.
fn mock_command(m: &Manifests) -> (Node<'_>, Vec<String>) {
    let container = only_container(&m.object("Deployment", "mock-telegram"));
    let command = wrapper::command(&container, &environment(&container, 0));
    (container, command)
}

/// The mount path and claim of the pod volume mounted at a persistentVolumeClaim.
fn claim_mount<'a>(workload: &Node<'a>) -> (&'a str, &'a str) {
    let container = only_container(workload);
    let volumes = workload.at("spec.template.spec.volumes");
    for mount in container.at("volumeMounts").list() {
        let volume = volumes.item("name", mount.at("name").str());
        if volume.at("persistentVolumeClaim").exists() {
            return (mount.at("mountPath").str(), volume.at("persistentVolumeClaim.claimName").str());
        }
    }
    container.at("volumeMounts").fail("no volume mounted from a persistentVolumeClaim")
}

/// A container port by number or by name, as a Service's targetPort or a probe's port names it.
fn container_port(container: &Node<'_>, port: &Node<'_>) -> i64 {
    let ports = container.at("ports").list();
    let found = match port.yaml.as_i64() {
        Some(number) => ports.iter().find(|p| p.at("containerPort").int() == number),
        None => ports.iter().find(|p| p.at("name").yaml.as_str() == Some(port.str())),
    };
    found.map(|p| p.at("containerPort").int()).unwrap_or_else(|| port.fail("names no port of the mock's container"))
}

#[test]
fn every_manifest_parses_and_is_listed_in_the_kustomization() {
    let m = Manifests::load();
    let kustomization = m.all("Kustomization").next().unwrap_or_else(|| panic!("{DIR}: no kustomization.yaml"));
    let resources = kustomization.at("resources");
    let listed: BTreeSet<&str> = resources.strings().into_iter().collect();
    let files = yaml_files();
    for file in files.iter().filter(|file| *file != "kustomization.yaml") {
        resources.check(listed.contains(file.as_str()), format_args!("{file} is not listed"));
    }
    for name in &listed {
        resources.check(files.iter().any(|file| file == name), format_args!("{name} is not a file of {DIR}"));
    }
    let namespaces: Vec<&str> = m.all("Namespace").map(|n| n.at("metadata.name").str()).collect();
    assert_eq!(namespaces.len(), 1, "{DIR}: expected one Namespace, found {namespaces:?}");
    for (_, doc) in m.documents() {
        if !matches!(doc.at("kind").str(), "Namespace" | "Kustomization") {
            let namespace = doc.at("metadata.namespace");
            let why =
                format_args!("expected {}: the Service's short name resolves in its own namespace", namespaces[0]);
            namespace.check(namespace.yaml.as_str() == Some(namespaces[0]), why);
        }
    }
}

#[test]
fn the_load_job_is_indexed_and_fails_a_shard_index_without_retrying_it() {
    let m = Manifests::load();
    let spec = load_job(&m).at("spec");
    let mode = spec.at("completionMode");
    mode.check(mode.str() == "Indexed", "expected Indexed: each pod is one shard, numbered");
    let n = completions(&m) as i64;
    let parallelism = spec.at("parallelism");
    parallelism.check(parallelism.int() == n, format_args!("expected completions ({n}): the shards start together"));
    let backoff = spec.at("backoffLimitPerIndex");
    backoff.check(backoff.int() == 0, "expected 0: a retried shard would start late or send its part twice");
    let suspend = spec.at("suspend");
    suspend
        .check(suspend.yaml.as_bool() == Some(true), "expected true: kustomize applies it before tgload-start exists");
    let restart = spec.at("template.spec.restartPolicy");
    restart.check(restart.str() == "Never", "expected Never (podFailurePolicy needs it)");
    let rules = spec.at("podFailurePolicy.rules");
    for rule in rules.list() {
        let action = rule.at("action");
        action.check(action.str() != "Ignore", "an ignored failure is retried: a shard would send its part twice");
    }
    let rule = rules.list().into_iter().find(|rule| rule.at("action").str() == "FailIndex");
    let rule = rule.unwrap_or_else(|| rules.fail("no rule with action FailIndex"));
    let on = rule.at("onExitCodes");
    on.at("operator").check(on.at("operator").str() == "In", "expected In");
    if on.at("containerName").exists() {
        let name = only_container(&load_job(&m)).at("name").str();
        on.at("containerName").check(on.at("containerName").str() == name, format_args!("expected {name}"));
    }
    let values = on.at("values");
    let codes: Vec<i64> = values.list().iter().map(Node::int).collect();
    for code in FAILED {
        values.check(codes.contains(&code), format_args!("lacks {code}, a shard that did not do its part"));
    }
    for code in DONE {
        values.check(!codes.contains(&code), format_args!("has {code}, a shard that did its part"));
    }
}

#[test]
fn each_shard_drives_its_index_of_the_scenario_against_the_mock_service() {
    let m = Manifests::load();
    let n = completions(&m);
    let ran = shard(&m, 1, 0);
    let command = only_container(&load_job(&m)).at("command");
    command.check(ran.argv.first().map(String::as_str) == Some("run"), format_args!("runs {:?}", ran.argv));
    let scenario = ran.argv.get(1).map(String::as_str).unwrap_or_default();
    let in_repo = scenario.strip_prefix('/').map(|path| root().join(path));
    let why = format_args!("`{scenario}` is no scenario of the image's /scenarios (the repository's scenarios/)");
    command.check(scenario.starts_with("/scenarios/") && in_repo.is_some_and(|path| path.is_file()), why);
    let index_of_n = shard_flag(&m, &ran, "--shard");
    let why = format_args!("pod 1 passes --shard {index_of_n}: expected $(JOB_COMPLETION_INDEX)/{n}, n = completions");
    command.check(index_of_n == format!("1/{n}"), why);
    let start = shard_flag(&m, &ran, "--start-at");
    command.check(
        start == "configmap.tgload-start.START_AT",
        format_args!("--start-at is {start}: expected $(START_AT) of the ConfigMap tgload-start"),
    );
    let url = shard_flag(&m, &ran, "--mock-url");
    let (host, port) =
        split_url(&url).unwrap_or_else(|| command.fail(format_args!("--mock-url {url}: expected http://SERVICE:PORT")));
    let service = m.object("Service", host);
    let ports = service.at("spec.ports");
    ports.check(
        ports.list().iter().any(|p| p.at("port").int() == port),
        format_args!("no port {port}, which --mock-url names"),
    );
    let (_, mock) = mock_command(&m);
    let token = shard_flag(&m, &ran, "--token");
    command.check(
        Some(token.as_str()) == wrapper::flag(&mock, "--token"),
        format_args!("--token is {token}; the mock serves {:?}", wrapper::flag(&mock, "--token")),
    );
    let (mount, _) = claim_mount(&load_job(&m));
    let out = shard_flag(&m, &ran, "--out");
    command
        .check(out.starts_with(&format!("{mount}/")), format_args!("--out {out} is not on the runs volume ({mount})"));
    let other = shard_flag(&m, &shard(&m, 0, 0), "--out");
    command.check(out != other, format_args!("pods 0 and 1 both write {out}: --out must name the index"));
}

#[test]
fn the_shell_hides_a_shards_own_verdict_and_passes_on_its_failure_and_sigterm() {
    let m = Manifests::load();
    let command = only_container(&load_job(&m)).at("command");
    for code in DONE {
        let ran = shard(&m, 0, code as i32);
        command
            .check(ran.code == Some(0), format_args!("tgload's {code} ends the pod with {:?}, expected 0", ran.code));
    }
    for code in FAILED.into_iter().chain([130]) {
        let ran = shard(&m, 0, code as i32);
        let why = format_args!("tgload's {code} ends the pod with {:?}: it must fail the index", ran.code);
        command.check(ran.code == Some(code as i32), why);
    }
    let container = only_container(&load_job(&m));
    let env = environment(&container, 0);
    let ran = wrapper::run_terminated(&wrapper::command(&container, &env), &env);
    let why = format_args!("SIGTERM to the pod's shell ends it with {:?}: expected tgload's 143, passed on", ran.code);
    command.check(ran.code == Some(143), why);
}

#[test]
fn the_mock_service_selects_the_mock_and_the_bot_calls_it() {
    let m = Manifests::load();
    let url = shard_flag(&m, &shard(&m, 0, 0), "--mock-url");
    let (host, port) = split_url(&url).expect("checked by each_shard_drives_its_index...");
    let service = m.object("Service", host);
    let selector = service.at("spec.selector");
    let wanted = selector.labels();
    let selected: Vec<Node<'_>> = m
        .all("Deployment")
        .filter(|d| wanted.iter().all(|label| d.at("spec.template.metadata.labels").labels().contains(label)))
        .collect();
    selector.check(
        selected.len() == 1,
        format_args!("selects the pods of {} Deployments, expected the mock's", selected.len()),
    );
    let deployment = &selected[0];
    let match_labels = deployment.at("spec.selector.matchLabels");
    let labels = deployment.at("spec.template.metadata.labels").labels();
    match_labels
        .check(match_labels.labels().iter().all(|l| labels.contains(l)), "does not match the pod template's labels");
    let (container, command) = mock_command(&m);
    container.at("command.0").check(command[0] == "mock-telegram", "the Service's pods do not run mock-telegram");
    let ports = service.at("spec.ports");
    let service_port = ports.list().into_iter().find(|p| p.at("port").int() == port);
    let service_port =
        service_port.unwrap_or_else(|| ports.fail(format_args!("no port {port}, which --mock-url names")));
    let target =
        if service_port.at("targetPort").exists() { service_port.at("targetPort") } else { service_port.at("port") };
    let mock_port = container_port(&container, &target);
    let bind = wrapper::flag(&command, "--bind");
    let why = format_args!("--bind {bind:?}: expected 0.0.0.0:{mock_port}, the port the Service targets");
    container.at("command").check(bind == Some(format!("0.0.0.0:{mock_port}").as_str()), why);
    let probe = container.at("readinessProbe.httpGet");
    probe.at("path").check(probe.at("path").str() == "/control/health", "expected /control/health");
    probe.at("port").check(container_port(&container, &probe.at("port")) == mock_port, "not the mock's port");
    let token = wrapper::flag(&command, "--token").unwrap_or_default();
    let (secret, key) = token.strip_prefix("secret.").and_then(|t| t.split_once('.')).unwrap_or_else(|| {
        container.at("command").fail(format_args!("--token is {token}: expected $(TOKEN) from a Secret"))
    });
    let secret = m.object("Secret", secret);
    let has_key = [secret.at("stringData"), secret.at("data")].iter().any(|data| data.at(key).exists());
    secret.check(has_key, format_args!("no key {key} in stringData or data"));
    let bot = only_container(&m.object("Deployment", "bot-under-test"));
    let api_url = bot.at("env").item("name", "TELEGRAM_API_URL").at("value");
    api_url.check(
        api_url.str() == format!("http://{host}:{port}"),
        format_args!("expected the mock's Service, http://{host}:{port}"),
    );
    let token = environment(&bot, 0).get("TELEGRAM_BOT_TOKEN").cloned();
    let why = format_args!("TELEGRAM_BOT_TOKEN is {token:?}; the mock serves {:?}", wrapper::flag(&command, "--token"));
    bot.at("env").check(token.as_deref() == wrapper::flag(&command, "--token"), why);
}

/// `http://HOST:PORT` as host and port.
fn split_url(url: &str) -> Option<(&str, i64)> {
    let (host, port) = url.strip_prefix("http://")?.trim_end_matches('/').split_once(':')?;
    Some((host, port.parse().ok()?))
}

#[test]
fn the_merge_job_reads_exactly_the_directories_the_shards_write() {
    let m = Manifests::load();
    let n = completions(&m);
    let written: BTreeSet<String> = (0..n).map(|i| shard_flag(&m, &shard(&m, i, 0), "--out")).collect();
    let job = m.object("Job", MERGE_JOB);
    let container = only_container(&job);
    let command = wrapper::command(&container, &environment(&container, 0));
    let node = container.at("command");
    node.check(command.len() >= 3 && command[..2] == ["tgload", "merge"], format_args!("runs {command:?}"));
    let read: Vec<&String> = command[3..].iter().collect();
    let why = format_args!("lists {} shard directories; the load Job has completions: {n}", read.len());
    node.check(read.len() == n, why);
    let read: BTreeSet<String> = read.into_iter().cloned().collect();
    node.check(read == written, format_args!("reads {read:?}; the shards write {written:?}"));
    node.check(!written.contains(&command[2]), format_args!("writes its output over a shard's, {}", command[2]));
    let load_mount = claim_mount(&load_job(&m));
    let why = format_args!("mounts {:?}; the shards mount {load_mount:?}", claim_mount(&job));
    container.at("volumeMounts").check(claim_mount(&job) == load_mount, why);
    let modes = m.object("PersistentVolumeClaim", load_mount.1).at("spec.accessModes");
    modes.check(modes.strings().contains(&"ReadWriteMany"), "expected ReadWriteMany: the shards run on any node");
    let spec = job.at("spec");
    spec.at("backoffLimit").check(spec.at("backoffLimit").int() == 0, "expected 0: its exit code is the verdict");
    let restart = spec.at("template.spec.restartPolicy");
    restart.check(restart.str() == "Never", "expected Never");
    let image = only_container(&load_job(&m)).at("image").str();
    let why = format_args!("expected the shards' image, {image}: merge refuses another build's shards");
    container.at("image").check(container.at("image").str() == image, why);
    let kustomization = m.all("Kustomization").next().expect("checked by every_manifest_parses...");
    let images = kustomization.at("images");
    let named = images.exists() && images.list().iter().any(|i| i.at("name").str() == image);
    images.check(named, format_args!("does not name {image}, so a registry set here would not reach the shards"));
}

const PACKAGES: [&str; 3] = ["harness", "bot-under-test", "mock-telegram"];
const BINARIES: [&str; 3] = ["tgload", "bot-under-test", "mock-telegram"];

#[test]
fn the_image_builds_the_three_binaries_and_carries_them() {
    let stages = dockerfile_stages(&read("Dockerfile"));
    let Some((last, builders)) = stages.split_last() else { panic!("Dockerfile: no FROM") };
    let is_build = |i: &Instruction| i.keyword == "RUN" && i.rest.contains("cargo build");
    let build = builders.iter().find(|stage| stage.iter().any(is_build));
    let build = build.unwrap_or_else(|| panic!("Dockerfile: no stage before the last runs `cargo build`"));
    let run = &build.iter().find(|i| is_build(i)).expect("found above").rest;
    for flag in ["--release", "--locked"] {
        assert!(run.split_whitespace().any(|t| t == flag), "Dockerfile: RUN cargo build: no {flag}");
    }
    for package in PACKAGES {
        assert!(
            run.contains(&format!("-p {package} ")) || run.ends_with(&format!("-p {package}")),
            "Dockerfile: RUN cargo build: no -p {package}"
        );
    }
    let from: Vec<&str> = build[0].rest.split_whitespace().collect();
    let alias = match from.as_slice() {
        [_, as_, alias] if as_.eq_ignore_ascii_case("as") => *alias,
        _ => panic!("Dockerfile: FROM {}: the build stage needs a name (AS build)", build[0].rest),
    };
    let stage_text: String = build.iter().map(|i| format!("{} {}\n", i.keyword, i.rest)).collect();
    let copies: Vec<Vec<&str>> = last
        .iter()
        .filter(|i| i.keyword == "COPY" && i.rest.starts_with(&format!("--from={alias} ")))
        .map(|i| i.rest.split_whitespace().skip(1).collect())
        .collect();
    for binary in BINARIES {
        let copied = copies.iter().any(|tokens| match tokens.split_last() {
            Some((dest, sources)) => {
                dest.trim_end_matches('/') == "/usr/local/bin"
                    && sources.iter().any(|s| s.rsplit('/').next() == Some(binary))
            }
            None => false,
        });
        assert!(copied, "Dockerfile: the last stage does not COPY --from={alias} {binary} to /usr/local/bin/");
        assert!(
            stage_text.contains(&format!("target/release/{binary}")),
            "Dockerfile: the build stage does not take {binary} from target/release"
        );
    }
    let copies_scenarios = last.iter().any(|i| {
        i.keyword == "COPY"
            && i.rest.split_whitespace().map(|t| t.trim_end_matches('/')).eq(["scenarios", "/scenarios"])
    });
    assert!(copies_scenarios, "Dockerfile: the last stage does not COPY scenarios /scenarios");
    let installs = last.iter().any(|i| i.keyword == "RUN" && i.rest.contains("ca-certificates"));
    assert!(installs, "Dockerfile: the last stage does not install ca-certificates");
    let user = last.iter().rev().find(|i| i.keyword == "USER").map(|i| i.rest.as_str());
    let user = user.unwrap_or_else(|| panic!("Dockerfile: the last stage sets no USER: it would run as root"));
    let name = user.split(':').next().unwrap_or_default();
    assert!(!matches!(name, "root" | "0"), "Dockerfile: USER {user}: expected a user other than root");
    let ignored: Vec<String> = read(".dockerignore").lines().map(|l| l.trim().trim_matches('/').to_string()).collect();
    for path in ["target", "runs", ".git"] {
        assert!(ignored.iter().any(|l| l == path), ".dockerignore: {path} is not ignored");
    }
    assert!(read("harness/Cargo.toml").contains("name = \"tgload\""), "harness/Cargo.toml: no binary named tgload");
}
