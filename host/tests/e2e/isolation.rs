//! Plugin isolation under load: hostile plugins (endless loop, memory bomb, huge output, trap) keep running
//! while 100 normal mounts go through; the normal mounts all succeed, their median latency stays within 2× of a
//! baseline measured in the same test, and every looping call is still interrupted on time (the epoch ticker is
//! its own thread, so busy workers cannot starve it).
//!
//! Baseline and loaded phases alternate in rounds, so other work on a shared CI machine hits both alike.

use crate::common::{Options, start};
use futures::StreamExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const HOSTILE: &[&str] = &["loop", "memory-bomb", "huge-output", "trap"];
const PLUGIN_TIMEOUT: Duration = Duration::from_millis(250);
const ROUNDS: usize = 6;
const NORMAL_PER_ROUND: usize = 17;
const BASELINE_PER_ROUND: usize = 8;
const CONCURRENCY: usize = 4;
/// Hostile mounts in flight at once. One spinning guest holds one core until its timeout; with two on a 2-core
/// machine the normal mounts measured 2.2× slower (CPU saturation, not a sandbox escape), so the 2× bound is
/// asserted for one attacker at a time and `ISOLATION_ATTACKERS` can raise it on bigger machines.
fn attacker_count() -> usize {
    std::env::var("ISOLATION_ATTACKERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

const NORMAL: &str = r#"
- objectName: app/db
  jmesPath: [{path: password, objectAlias: pw}]
  transforms:
    - plugin: template
      config: {template: "{{ username }}:{{ password }}", output: dsn, keepInput: true, input: app_db}
"#;

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn normal_mounts(env: &crate::common::Env, n: usize) -> Vec<Duration> {
    let params = [("objects", NORMAL), ("region", "cn-hangzhou")];
    futures::stream::iter(0..n)
        .map(|_| async {
            let started = Instant::now();
            let resp = env
                .mount(&params, "")
                .await
                .expect("a normal mount succeeds");
            assert_eq!(crate::common::text(&resp, "pw"), "demo-pass-v2");
            started.elapsed()
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_plugins_do_not_break_or_slow_normal_mounts() {
    let plugins = tempfile::tempdir().unwrap();
    for name in HOSTILE {
        std::fs::write(
            plugins.path().join(format!("{name}.wasm")),
            crate::bad_input::fixture(name),
        )
        .unwrap();
    }
    let env = Arc::new(
        start(Options {
            custom_plugin_dirs: vec![plugins.path().to_path_buf()],
            policy: Some(crate::bad_input::ALLOW_CUSTOM.into()),
            limits: provider::transform::Limits {
                timeout: PLUGIN_TIMEOUT,
                ..provider::transform::Limits::default()
            },
            ..Options::default()
        })
        .await,
    );
    normal_mounts(&env, 8).await; // warm-up: plugin instances, connections, credential cache

    // Phases alternate B A B A … B; each attack phase is compared with the baselines on both sides of it, so
    // load from other processes that comes and goes hits both sides of a comparison alike.
    let mut baselines = vec![normal_mounts(&env, BASELINE_PER_ROUND).await];
    let mut phases: Vec<Vec<Duration>> = Vec::new();
    let mut hostile_runs = Vec::new();
    let next = Arc::new(AtomicUsize::new(0));
    for _ in 0..ROUNDS {
        // Hostile mounts in flight at all times, cycling through the kinds.
        let stop = Arc::new(AtomicBool::new(false));
        let mut attackers = Vec::new();
        for _ in 0..attacker_count() {
            let (env, stop, next) = (env.clone(), stop.clone(), next.clone());
            attackers.push(tokio::spawn(async move {
                let mut runs = Vec::new();
                while !stop.load(Ordering::SeqCst) && runs.len() < 1000 {
                    let name = HOSTILE[next.fetch_add(1, Ordering::SeqCst) % HOSTILE.len()];
                    let objects =
                        format!("- {{objectName: app/db, transforms: [{{plugin: {name}}}]}}");
                    let started = Instant::now();
                    let err = env
                        .mount(
                            &[("objects", objects.as_str()), ("region", "cn-hangzhou")],
                            "",
                        )
                        .await
                        .expect_err("a hostile plugin fails its mount");
                    runs.push((name, started.elapsed(), err.message().to_string()));
                }
                runs
            }));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        phases.push(normal_mounts(&env, NORMAL_PER_ROUND).await);
        stop.store(true, Ordering::SeqCst);
        for a in attackers {
            hostile_runs.extend(a.await.unwrap());
        }
        baselines.push(normal_mounts(&env, BASELINE_PER_ROUND).await);
    }

    // Every hostile run failed for its own reason, and the loops were cut off near the limit even under load.
    for kind in HOSTILE {
        assert!(
            hostile_runs.iter().any(|(n, _, _)| n == kind),
            "{kind} never ran"
        );
    }
    let mut loops = Vec::new();
    for (name, took, message) in &hostile_runs {
        let want = match *name {
            "loop" => "timed out",
            "memory-bomb" => "memory limit",
            "huge-output" => "exceeds the limit",
            _ => "crashed",
        };
        assert!(message.contains(want), "{name}: {message}");
        if *name == "loop" {
            loops.push(*took);
        }
    }
    let slowest_loop = loops.iter().max().copied().unwrap();
    assert!(
        slowest_loop < PLUGIN_TIMEOUT * 8,
        "a looping plugin ran {slowest_loop:?} against a {PLUGIN_TIMEOUT:?} limit: the epoch ticker was starved"
    );

    // Pooled medians (56 baseline and 102 attacked mounts) are steadier than any single round; the per-round
    // ratios against the neighbouring baselines are printed to show the spread.
    let ratios: Vec<f64> = phases
        .iter()
        .enumerate()
        .map(|(i, attacked)| {
            let mut around: Vec<Duration> = baselines[i]
                .iter()
                .chain(&baselines[i + 1])
                .copied()
                .collect();
            median(&mut attacked.clone()).as_secs_f64() / median(&mut around).as_secs_f64()
        })
        .collect();
    let mut all_base: Vec<Duration> = baselines.concat();
    let mut all_loaded: Vec<Duration> = phases.concat();
    assert!(
        all_loaded.len() >= 100,
        "{} normal mounts",
        all_loaded.len()
    );
    let (base, attacked) = (median(&mut all_base), median(&mut all_loaded));
    let ratio = attacked.as_secs_f64() / base.as_secs_f64();
    eprintln!(
        "normal mounts: baseline median {base:?} ({} mounts), under attack median {attacked:?} ({} mounts), \
         slowdown {ratio:.2} (per round {ratios:.2?}); {} hostile mounts, slowest loop {slowest_loop:?}",
        all_base.len(),
        all_loaded.len(),
        hostile_runs.len()
    );
    assert!(
        ratio <= 2.0,
        "normal mounts slowed from a median of {base:?} to {attacked:?} under hostile plugins (more than 2x; per round {ratios:.2?})"
    );
    Arc::into_inner(env).unwrap().stop().await;
}
