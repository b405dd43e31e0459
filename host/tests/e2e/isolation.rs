//! Plugin isolation under load: hostile plugins (endless loop, memory bomb, huge output, trap) keep running
//! while 100 normal mounts go through; the normal mounts all succeed, their median latency stays within 2× of a
//! baseline measured in the same test, and every looping call is still interrupted on time (the epoch ticker is
//! its own thread, so busy workers cannot starve it).
//!
//! Baseline and loaded phases alternate in rounds, so other work on a shared CI machine hits both alike.

use crate::common::{Options, start};
use futures::StreamExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const HOSTILE: &[&str] = &["loop", "memory-bomb", "huge-output", "trap"];
const PLUGIN_TIMEOUT: Duration = Duration::from_millis(250);
const ROUNDS: usize = 4;
const NORMAL_PER_ROUND: usize = 25;
const BASELINE_PER_ROUND: usize = 12;
const CONCURRENCY: usize = 4;

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

    let mut baseline = Vec::new();
    let mut loaded = Vec::new();
    let mut hostile_runs = Vec::new();
    for _ in 0..ROUNDS {
        baseline.extend(normal_mounts(&env, BASELINE_PER_ROUND).await);

        // Two hostile mounts in flight at all times, cycling through the kinds.
        let stop = Arc::new(AtomicBool::new(false));
        let mut attackers = Vec::new();
        for lane in 0..2 {
            let (env, stop) = (env.clone(), stop.clone());
            attackers.push(tokio::spawn(async move {
                let mut runs = Vec::new();
                let mut i = lane;
                while !stop.load(Ordering::SeqCst) && runs.len() < 1000 {
                    let name = HOSTILE[i % HOSTILE.len()];
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
                    i += 1;
                }
                runs
            }));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        loaded.extend(normal_mounts(&env, NORMAL_PER_ROUND).await);
        stop.store(true, Ordering::SeqCst);
        for a in attackers {
            hostile_runs.extend(a.await.unwrap());
        }
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

    assert_eq!(loaded.len(), ROUNDS * NORMAL_PER_ROUND);
    let base = median(&mut baseline);
    let under_load = median(&mut loaded);
    eprintln!(
        "normal mounts: baseline median {base:?} ({} mounts), under attack median {under_load:?} ({} mounts); \
         {} hostile mounts, slowest loop {slowest_loop:?}",
        baseline.len(),
        loaded.len(),
        hostile_runs.len()
    );
    assert!(
        under_load <= base * 2,
        "normal mounts slowed from a median of {base:?} to {under_load:?} under hostile plugins (more than 2x)"
    );
    Arc::into_inner(env).unwrap().stop().await;
}
