//! The provider benchmark, run by `cargo xtask bench [--smoke]` (release builds only).
//!
//! It starts the release `acs-emulator` and `csi-provider-alibabacloud serve` as separate processes on
//! loopback, drives the provider over its unix socket like the CSI driver does, and measures the plugins
//! in-process through `TransformRuntime` (one fresh sandbox per call, as in a mount). Results go to stdout
//! as a table and to a JSON file. Every loop is bounded; nothing leaves 127.0.0.1.

use provider::grpc::client;
use provider::grpc::v1alpha1::csi_driver_provider_client::CsiDriverProviderClient;
use provider::grpc::v1alpha1::{MountRequest, ObjectVersion, VersionRequest};
use provider::transform::{File, Limits, PluginDir, RuntimeConfig, StepSpec, TransformRuntime};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tonic::transport::Channel;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const KEY_ID: &str = "LTAI5tBenchAccessKey";
/// Fake credential of the generated emulator seed (never valid anywhere).
const KEY_SECRET: &str = "BenchSecret-not-real";
const SECRETS: usize = 100;
const AK_ENV: [(&str, &str); 2] = [("ACCESS_KEY_ID", KEY_ID), ("SECRET_ACCESS_KEY", KEY_SECRET)];
/// `--cache-ttl` of the runs that measure the payload cache (at most half the driver's default 2m poll).
const CACHE_TTL: &str = "10s";

struct Opts {
    smoke: bool,
    bin_dir: PathBuf,
    plugins: PathBuf,
    out: PathBuf,
    latency_ms: u64,
    /// Overrides the number of timed 10-object mounts (e.g. a long loop to profile).
    mount_iters: Option<usize>,
    /// Runs only these measurements (`mount`, `transforms`, `scale`, `identity`); start-up always runs.
    only: Option<Vec<String>>,
}

impl Opts {
    fn wants(&self, measurement: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|o| o.iter().any(|m| m == measurement))
    }
}

fn parse_args() -> Result<Opts> {
    let mut opts = Opts {
        smoke: false,
        bin_dir: PathBuf::from("target/release"),
        plugins: PathBuf::from("target/plugins"),
        out: PathBuf::from("target/bench/results.json"),
        latency_ms: 20,
        mount_iters: None,
        only: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--smoke" => opts.smoke = true,
            "--bin-dir" => opts.bin_dir = value()?.into(),
            "--plugins" => opts.plugins = value()?.into(),
            "--out" => opts.out = value()?.into(),
            "--latency-ms" => opts.latency_ms = value()?.parse()?,
            "--mount-iters" => opts.mount_iters = Some(value()?.parse()?),
            "--only" => {
                let list: Vec<String> = value()?.split(',').map(str::to_owned).collect();
                const KNOWN: [&str; 4] = ["mount", "transforms", "scale", "identity"];
                if let Some(bad) = list.iter().find(|m| !KNOWN.contains(&m.as_str())) {
                    return Err(
                        format!("--only: unknown measurement {bad:?}; known: {KNOWN:?}").into(),
                    );
                }
                opts.only = Some(list);
            }
            // `cargo bench` passes --bench to harness=false targets.
            "--bench" => {}
            other => return Err(format!("unknown argument {other:?}").into()),
        }
    }
    Ok(opts)
}

/// Kills the child when dropped so a failed run leaves nothing behind.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn main() -> Result<()> {
    let opts = parse_args()?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(opts))
}

async fn run(opts: Opts) -> Result<()> {
    let work = tempfile::tempdir()?;
    let l = Duration::from_millis(opts.latency_ms);
    let (mount_iters, transform_iters, scale_n, identity_n) = if opts.smoke {
        (5, 30, 50, 50)
    } else {
        (200, 3000, 1000, 1000)
    };
    let mount_iters = opts.mount_iters.unwrap_or(mount_iters);

    // The emulator, with 100 generated KMS secrets of ~1 KiB JSON each.
    let seed = work.path().join("seed.yaml");
    std::fs::write(&seed, seed_yaml())?;
    let (_emulator, url) = start_emulator(&opts.bin_dir, &seed, l)?;

    // 4. Start-up: an empty plugin cache, then a warm one (the second provider keeps running).
    let cache = work.path().join("plugin-cache");
    let cold_ms = {
        let (p, ms, _, _) =
            start_provider(&opts, &url, &work.path().join("p1"), &cache, &[], &AK_ENV).await?;
        drop(p);
        ms
    };
    let (provider, warm_ms, socket, metrics_port) =
        start_provider(&opts, &url, &work.path().join("p2"), &cache, &[], &AK_ENV).await?;
    let pid = provider.0.id();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle_rss = proc_status_kib(pid, "VmRSS:")?;
    let mut client = client::connect(&socket).await?;

    // 1. Mount overhead: 10 objects, emulator latency L, concurrent fetch.
    for _ in 0..2 {
        mount(&mut client, &ten_objects()).await?; // warm-up: connections, first instantiation
    }
    let mut times = Vec::with_capacity(mount_iters);
    let timed = if opts.wants("mount") { mount_iters } else { 1 };
    let before = metrics_text(metrics_port).await?;
    for _ in 0..timed {
        let t = Instant::now();
        mount(&mut client, &ten_objects()).await?;
        times.push(t.elapsed());
    }
    let after = metrics_text(metrics_port).await?;
    let (m50, m99) = (pct(&mut times, 50.0), pct(&mut times, 99.0));
    // The provider's own view (its mount duration histogram): the rest of a mount is the gRPC round trip.
    let seconds =
        |t: &str, name: &str| sum_metric(t, &format!("provider_mount_duration_seconds_{name}"));
    let inside_ms = (seconds(&after, "sum") - seconds(&before, "sum")) * 1000.0
        / (seconds(&after, "count") - seconds(&before, "count")).max(1.0);
    let ideal = ms(l);

    // 3. Scale: N concurrent mounts over 100 distinct secrets; coalescing only (the default, cache off) ...
    let (mut scale, mut scale_cached) = (Value::Null, Value::Null);
    if opts.wants("scale") {
        scale = scale_run(&client, metrics_port, pid, scale_n, m50).await?;
    }
    drop(provider);
    // ... and on a fresh provider with the payload cache on.
    if opts.wants("scale") {
        let (cached, _, socket3, port3) = start_provider(
            &opts,
            &url,
            &work.path().join("p3"),
            &cache,
            &["--cache-ttl", CACHE_TTL],
            &AK_ENV,
        )
        .await?;
        let client3 = client::connect(&socket3).await?;
        scale_cached = scale_run(&client3, port3, cached.0.id(), scale_n, m50).await?;
    }

    // 5. Identity cost and 6. rotation cost, against an in-process emulator whose call counters are read.
    let (identity, rotation) = if opts.wants("identity") {
        identity_and_rotation(&opts, work.path(), &cache, l, identity_n).await?
    } else {
        (Value::Null, Value::Null)
    };

    // 2. Transform cost in-process, one fresh sandbox per call.
    let transforms = if opts.wants("transforms") {
        transform_costs(&opts.plugins, &cache, transform_iters).await?
    } else {
        Value::Null
    };

    let results = json!({
        "mode": if opts.smoke { "smoke" } else if opts.only.is_some() { "partial" } else { "full" },
        "machine": machine(),
        "mount_overhead": {
            "objects": 10, "iterations": mount_iters, "latency_ms": ideal,
            "p50_ms": m50, "p99_ms": m99,
            "added_p50_ms": m50 - ideal, "ratio_p50": m50 / ideal, "ratio_p99": m99 / ideal,
            "provider_mean_ms": inside_ms,
            "goal": "ratio_p50 <= 1.05 and added_p50_ms < 1",
        },
        "transforms": transforms,
        "scale": scale,
        "scale_with_cache": scale_cached,
        "identity": identity,
        "rotation": rotation,
        "startup": {
            "idle_rss_mib": idle_rss as f64 / 1024.0,
            "version_ready_ms_empty_cache": cold_ms, "version_ready_ms_warm_cache": warm_ms,
            "ratio_warm_vs_empty": warm_ms / cold_ms,
            "goal": "idle RSS < 30 MiB, ready < 200 ms with precompiled plugins",
        },
    });
    print_table(&results);
    if let Some(dir) = opts.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&opts.out, serde_json::to_string_pretty(&results)? + "\n")?;
    println!("\nwritten to {}", opts.out.display());
    Ok(())
}

/// N concurrent mounts (1 object each) over the 100 secrets: errors, backend calls (the provider's own
/// counter), latency and peak RSS of the provider process `pid`.
async fn scale_run(
    client: &CsiDriverProviderClient<Channel>,
    metrics_port: u16,
    pid: u32,
    n: usize,
    single_p50: f64,
) -> Result<Value> {
    let before = backend_calls(metrics_port).await.unwrap_or(f64::NAN);
    let t = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let mut c = client.clone();
        tasks.push(tokio::spawn(async move {
            let objects = format!("- objectName: bench/s{:03}\n", i % SECRETS);
            let t = Instant::now();
            let r = mount(&mut c, &objects).await;
            (r.is_ok(), t.elapsed())
        }));
    }
    let mut times = Vec::with_capacity(n);
    let mut errors = 0;
    for task in tasks {
        let (ok, d) = task.await?;
        if !ok {
            errors += 1;
        }
        times.push(d);
    }
    let wall = t.elapsed();
    let text = metrics_text(metrics_port).await.unwrap_or_default();
    let calls = sum_metric(&text, "provider_backend_calls_total{") - before;
    let coalesced = sum_metric(&text, "provider_fetch_coalesced_total{");
    let hits = sum_metric(
        &text,
        "provider_fetch_cache_total{api=\"kms_get_secret_value\",result=\"hit\"}",
    );
    let (p50, p99) = (pct(&mut times, 50.0), pct(&mut times, 99.0));
    Ok(json!({
        "mounts": n, "distinct_secrets": SECRETS, "errors": errors,
        "backend_calls": calls, "backend_calls_per_mount": calls / n as f64,
        "coalesced": coalesced, "cache_hits": hits,
        "p50_ms": p50, "p99_ms": p99, "p99_ratio_vs_single_mount_p50": p99 / single_p50,
        "wall_ms": ms(wall), "peak_rss_mib": proc_status_kib(pid, "VmHWM:")? as f64 / 1024.0,
        "goal": "0 errors, backend_calls <= 100, peak RSS < 120 MiB",
    }))
}

/// The role the identity run assumes with the provider's AccessKey (AssumeRole on top of the key).
const BENCH_ROLE: &str = "acs:ram::1234567890123456:role/bench-role";

/// Measurements 5 and 6: STS calls for `n` mounts with one identity (AssumeRole), and what a rotation
/// remount costs when no version changed: one pod (10 objects), then 100 pods together (a rotation poll
/// wave). The emulator runs in this process so its call counters can be read; the provider is still its
/// own process.
async fn identity_and_rotation(
    opts: &Opts,
    work: &Path,
    cache: &Path,
    latency: Duration,
    n: usize,
) -> Result<(Value, Value)> {
    let seed = format!(
        "{}roles:\n  - name: bench-role\n    permissions: [\"bench/*\"]\n    trust:\n      accessKeys: [{KEY_ID}]\n",
        seed_yaml().replace(
            &format!("    secret: {KEY_SECRET}\n"),
            &format!("    secret: {KEY_SECRET}\n    permissions: []\n"),
        )
    );
    let emulator = acs_emulator::start(acs_emulator::EmulatorConfig {
        seed: acs_emulator::Seed::from_yaml_str(&seed, "bench seed")?,
        latency,
        ..Default::default()
    })
    .await?;
    let url = emulator.base_url();
    let env = [
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", KEY_ID),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", KEY_SECRET),
        ("ALIBABA_CLOUD_ROLE_ARN", BENCH_ROLE),
    ];
    let mut results = Vec::new();
    for ttl in ["0s", CACHE_TTL] {
        let extra = ["--sts-endpoint", url.as_str(), "--cache-ttl", ttl];
        let dir = work.join(format!("identity-{ttl}"));
        let (p, _, socket, _) = start_provider(opts, &url, &dir, cache, &extra, &env).await?;
        let client = client::connect(&socket).await?;
        emulator.reset_calls();

        // 5. n mounts with one identity, 50 at a time.
        let t = Instant::now();
        let mut errors = 0;
        for wave in 0..n.div_ceil(50) {
            let batch = (wave * 50..n.min(wave * 50 + 50)).map(|i| {
                let mut c = client.clone();
                async move {
                    let objects = format!("- objectName: bench/s{:03}\n", i % SECRETS);
                    mount(&mut c, &objects).await.is_ok()
                }
            });
            errors += futures::future::join_all(batch)
                .await
                .iter()
                .filter(|ok| !**ok)
                .count();
        }
        let identity_wall = t.elapsed();
        let sts = emulator.calls("AssumeRole") + emulator.calls("AssumeRoleWithOIDC");
        let metadata = emulator.metadata_calls();

        // 6. Rotation: remount a 10-object SPC with the versions the driver recorded, nothing changed.
        let first = mount_versions(&mut client.clone(), &ten_objects(), vec![]).await?;
        emulator.reset_calls();
        let t = Instant::now();
        mount_versions(&mut client.clone(), &ten_objects(), first.clone()).await?;
        let one = ms(t.elapsed());
        let one_calls = emulator.calls("GetSecretValue");
        emulator.reset_calls();
        let t = Instant::now();
        let wave = (0..100).map(|_| {
            let mut c = client.clone();
            let v = first.clone();
            async move { mount_versions(&mut c, &ten_objects(), v).await.is_ok() }
        });
        let wave_errors = futures::future::join_all(wave)
            .await
            .iter()
            .filter(|ok| !**ok)
            .count();
        let wave_ms = ms(t.elapsed());
        let wave_calls = emulator.calls("GetSecretValue");
        drop(p);
        results.push((
            json!({
                "cache_ttl": ttl, "mounts": n, "errors": errors, "sts_calls": sts,
                "metadata_calls": metadata, "wall_ms": ms(identity_wall),
                "goal": "1 STS/metadata call per 1000 mounts with one identity",
            }),
            json!({
                "cache_ttl": ttl, "objects": 10, "latency_ms": ms(latency),
                "one_pod_remount_ms": one, "one_pod_backend_calls": one_calls,
                "wave_pods": 100, "wave_errors": wave_errors, "wave_wall_ms": wave_ms,
                "wave_backend_calls": wave_calls,
            }),
        ));
    }
    emulator.shutdown().await?;
    let (identity, rotation): (Vec<Value>, Vec<Value>) = results.into_iter().unzip();
    Ok((Value::Array(identity), Value::Array(rotation)))
}

/// A Mount with the driver's `current_object_version`; returns the versions of the answer.
async fn mount_versions(
    c: &mut CsiDriverProviderClient<Channel>,
    objects: &str,
    current: Vec<ObjectVersion>,
) -> Result<Vec<ObjectVersion>> {
    let attrs = json!({
        "objects": objects,
        "region": "cn-hangzhou",
        "csi.storage.k8s.io/pod.namespace": "bench",
        "csi.storage.k8s.io/pod.name": "bench-0",
    });
    let resp = c
        .mount(MountRequest {
            attributes: attrs.to_string(),
            secrets: String::new(),
            target_path: "/bench".into(),
            permission: "420".into(),
            current_object_version: current,
        })
        .await?;
    Ok(resp.into_inner().object_version)
}

fn seed_yaml() -> String {
    let mut s = format!(
        "accountId: \"1234567890123456\"\nregion: cn-hangzhou\naccessKeys:\n  - id: {KEY_ID}\n    secret: {KEY_SECRET}\nkmsSecrets:\n"
    );
    for i in 0..SECRETS {
        let v = json_1k(i).replace('\'', "''");
        s.push_str(&format!(
            "  - name: bench/s{i:03}\n    versions:\n      - versionId: v1\n        stages: [ACSCurrent]\n        data: '{v}'\n"
        ));
    }
    s
}

/// A ~1 KiB JSON object like a database credential with some padding.
fn json_1k(i: usize) -> String {
    let pad: String = "x".repeat(880);
    json!({"username": format!("user{i}"), "password": format!("bench-pass-{i}"),
           "host": "db.bench.internal", "port": 5432, "options": {"sslmode": "require", "note": pad}})
    .to_string()
}

fn ten_objects() -> String {
    (0..10)
        .map(|i| format!("- objectName: bench/s{i:03}\n  objectAlias: s{i}.json\n"))
        .collect()
}

fn start_emulator(bin: &Path, seed: &Path, latency: Duration) -> Result<(Proc, String)> {
    let mut child = Proc(
        Command::new(bin.join("acs-emulator"))
            .args(["--listen", "127.0.0.1:0", "--seed"])
            .arg(seed)
            .args(["--latency-ms", &latency.as_millis().to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?,
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().ok_or("emulator stdout")?).read_line(&mut line)?;
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .ok_or(format!("unexpected emulator output {line:?}"))?
        .to_string();
    Ok((child, url))
}

/// Starts `serve`; returns it, the ms from spawn until Version answers, its socket and metrics port.
async fn start_provider(
    opts: &Opts,
    url: &str,
    dir: &Path,
    cache: &Path,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Result<(Proc, f64, PathBuf, u16)> {
    std::fs::create_dir_all(dir)?;
    let metrics_port = free_port()?;
    let t = Instant::now();
    let mut child = Proc(
        Command::new(opts.bin_dir.join("csi-provider-alibabacloud"))
            .arg("serve")
            .arg("--providers-dir")
            .arg(dir)
            .args(["--healthz-port", "0", "--region", "cn-hangzhou"])
            .args(["--metrics-port", &metrics_port.to_string()])
            .args(["--fetch-concurrency", "16"])
            .args(["--kms-endpoint", url, "--oos-endpoint", url])
            .arg("--plugin-dir")
            .arg(&opts.plugins)
            .arg("--plugin-cache-dir")
            .arg(cache)
            .args(extra)
            .env_clear()
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
    );
    let socket = dir.join("alibabacloud.sock");
    let deadline = t + Duration::from_secs(60);
    loop {
        if let Some(status) = child.0.try_wait()? {
            return Err(format!("the provider exited ({status}) before serving").into());
        }
        if socket.exists()
            && let Ok(mut c) = client::connect(&socket).await
            && c.version(VersionRequest {
                version: "v1alpha1".into(),
            })
            .await
            .is_ok()
        {
            break;
        }
        if Instant::now() > deadline {
            return Err("the provider did not answer Version within 60 s".into());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let ready = ms(t.elapsed());
    Ok((child, ready, socket, metrics_port))
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn mount(c: &mut CsiDriverProviderClient<Channel>, objects: &str) -> Result<()> {
    let attrs = json!({
        "objects": objects,
        "region": "cn-hangzhou",
        "csi.storage.k8s.io/pod.namespace": "bench",
        "csi.storage.k8s.io/pod.name": "bench-0",
    });
    c.mount(MountRequest {
        attributes: attrs.to_string(),
        secrets: String::new(),
        target_path: "/bench".into(),
        permission: "420".into(),
        current_object_version: vec![],
    })
    .await?;
    Ok(())
}

/// The provider's own `/metrics` text.
async fn metrics_text(port: u16) -> Result<String> {
    Ok(reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await?
        .text()
        .await?)
}

/// Sum of the samples whose line starts with `prefix`.
fn sum_metric(text: &str, prefix: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .fold(0.0, |a, b| a + b)
}

/// Sum of `provider_backend_calls_total` (HTTP attempts to KMS/OOS, retries included).
async fn backend_calls(port: u16) -> Result<f64> {
    Ok(sum_metric(
        &metrics_text(port).await?,
        "provider_backend_calls_total{",
    ))
}

async fn transform_costs(plugins: &Path, cache: &Path, iters: usize) -> Result<Value> {
    let rt = TransformRuntime::new(RuntimeConfig {
        plugin_dirs: vec![PluginDir::builtin(plugins)],
        cache_dir: Some(cache.to_path_buf()),
        limits: Limits::default(),
        ..RuntimeConfig::default()
    })?;
    let step = |plugin: &str, config: Value| StepSpec {
        plugin: plugin.into(),
        config_json: config.to_string(),
    };
    let jmes = step(
        "jmespath",
        json!({"files": {"password": "password"}, "keepInput": true}),
    );
    let format = step(
        "format",
        json!({"op": "json-to-dotenv", "output": "app.env"}),
    );
    let template = step(
        "template",
        json!({"output": "url", "template": "postgresql://{{ username | urlencode }}:{{ password | urlencode }}@{{ host }}:{{ port }}/app"}),
    );
    let chain = vec![
        step(
            "format",
            json!({"op": "select", "keys": {"username": "username", "password": "password", "host": "host", "port": "port"}}),
        ),
        step(
            "format",
            json!({"op": "json-to-yaml", "output": "db.yaml", "keepInput": true}),
        ),
        step(
            "template",
            json!({"input": "db.json", "output": "url", "template": "{{ username }}@{{ host }}"}),
        ),
    ];
    let cases: Vec<(&str, Vec<StepSpec>)> = vec![
        ("jmespath (1 KiB JSON)", vec![jmes]),
        ("format json-to-dotenv", vec![format]),
        ("template", vec![template]),
        ("3-step chain (format, format, template)", chain),
    ];
    let input = json_1k(0);
    let mut out = Vec::new();
    let mut base = None;
    for (name, steps) in cases {
        for _ in 0..(iters / 10).max(3) {
            rt.run_chain(&steps, vec![File::new("db.json", input.clone())])
                .await?;
        }
        let mut times = Vec::with_capacity(iters);
        for _ in 0..iters {
            let t = Instant::now();
            rt.run_chain(&steps, vec![File::new("db.json", input.clone())])
                .await?;
            times.push(t.elapsed());
        }
        let (p50, p99) = (
            pct(&mut times, 50.0) * 1000.0,
            pct(&mut times, 99.0) * 1000.0,
        );
        let b = *base.get_or_insert(p50);
        out.push(
            json!({"case": name, "iterations": iters, "p50_us": p50, "p99_us": p99,
                        "ratio_p50_vs_jmespath": p50 / b}),
        );
    }
    Ok(Value::Array(out))
}

/// Percentile in ms (nearest rank).
fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    let i = ((p / 100.0) * (v.len() - 1) as f64).round() as usize;
    ms(v[i])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn proc_status_kib(pid: u32, field: &str) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .ok_or(format!("{field} not in /proc/{pid}/status"))?;
    Ok(line
        .split_whitespace()
        .nth(1)
        .ok_or("malformed status")?
        .parse()?)
}

fn machine() -> Value {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cpu = read("/proc/cpuinfo")
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")?
                .split(':')
                .nth(1)
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let mem_kib: u64 = read("/proc/meminfo")
        .lines()
        .find_map(|l| {
            l.strip_prefix("MemTotal:")?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(0);
    let rustc = Command::new("rustc")
        .arg("-V")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    json!({
        "nproc": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "memory_mib": mem_kib / 1024,
        "cpu": cpu,
        "rustc": rustc,
        // 1, 5 and 15 minute load averages at the end of the run: other work on the machine skews figures.
        "loadavg": read("/proc/loadavg").split_whitespace().take(3).collect::<Vec<_>>().join(" "),
    })
}

fn print_table(r: &Value) {
    let f = |v: &Value| {
        v.as_f64()
            .map(|x| format!("{x:.3}"))
            .unwrap_or_else(|| v.to_string())
    };
    let m = &r["machine"];
    println!(
        "machine: {} CPUs, {} MiB, {}, {}, load {}  (mode {})",
        m["nproc"], m["memory_mib"], m["cpu"], m["rustc"], m["loadavg"], r["mode"]
    );
    if r["mode"] == "smoke" {
        println!(
            "SMOKE RUN: checks that every measurement runs, not how fast (few iterations; maybe debug builds)"
        );
    }
    println!(
        "{:<44} {:>12} {:>12} {:>10}",
        "measurement", "p50", "p99", "ratio"
    );
    let o = &r["mount_overhead"];
    println!(
        "{:<44} {:>10}ms {:>10}ms {:>10}  (ideal {} ms, added p50 {} ms; inside the provider {} ms mean)",
        "mount, 10 objects",
        f(&o["p50_ms"]),
        f(&o["p99_ms"]),
        f(&o["ratio_p50"]),
        o["latency_ms"],
        f(&o["added_p50_ms"]),
        f(&o["provider_mean_ms"])
    );
    for t in r["transforms"].as_array().into_iter().flatten() {
        println!(
            "{:<44} {:>10}us {:>10}us {:>10}",
            t["case"].as_str().unwrap_or(""),
            f(&t["p50_us"]),
            f(&t["p99_us"]),
            f(&t["ratio_p50_vs_jmespath"])
        );
    }
    for (key, label) in [("scale", "cache off"), ("scale_with_cache", "cache on")] {
        let s = &r[key];
        println!(
            "{:<44} {:>10}ms {:>10}ms {:>10}  (errors {}, backend calls {}, coalesced {}, cache hits {}, peak RSS {} MiB)",
            format!("scale, {} concurrent mounts, {label}", s["mounts"]),
            f(&s["p50_ms"]),
            f(&s["p99_ms"]),
            f(&s["p99_ratio_vs_single_mount_p50"]),
            s["errors"],
            s["backend_calls"],
            s["coalesced"],
            s["cache_hits"],
            f(&s["peak_rss_mib"])
        );
    }
    for i in r["identity"].as_array().into_iter().flatten() {
        println!(
            "identity (AssumeRole), cache-ttl {}: {} mounts, {} errors, STS calls {}, metadata calls {}, {} ms",
            i["cache_ttl"],
            i["mounts"],
            i["errors"],
            i["sts_calls"],
            i["metadata_calls"],
            f(&i["wall_ms"])
        );
    }
    for t in r["rotation"].as_array().into_iter().flatten() {
        println!(
            "rotation remount, nothing changed, cache-ttl {}: one pod (10 objects) {} ms / {} backend calls; 100 pods together {} ms / {} backend calls ({} errors)",
            t["cache_ttl"],
            f(&t["one_pod_remount_ms"]),
            t["one_pod_backend_calls"],
            f(&t["wave_wall_ms"]),
            t["wave_backend_calls"],
            t["wave_errors"]
        );
    }
    let st = &r["startup"];
    println!(
        "start to Version: empty cache {} ms, warm cache {} ms (ratio {}); idle RSS {} MiB",
        f(&st["version_ready_ms_empty_cache"]),
        f(&st["version_ready_ms_warm_cache"]),
        f(&st["ratio_warm_vs_empty"]),
        f(&st["idle_rss_mib"])
    );
}
