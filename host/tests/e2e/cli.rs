//! The `plugin` and `mount` commands, run as a user would run them.

use std::process::Command;

fn cli() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_csi-provider-alibabacloud"));
    cmd.env_clear();
    cmd
}

fn run(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn plugin_check_reports_info_digest_and_imports() {
    let wasm = crate::common::plugin_dir().join("jmespath.wasm");
    let (ok, stdout, stderr) = run(cli().args(["plugin", "check"]).arg(&wasm));
    assert!(ok, "{stderr}");
    let digest = {
        use sha2::{Digest, Sha256};
        hex::encode(Sha256::digest(std::fs::read(&wasm).unwrap()))
    };
    assert!(stdout.contains(&digest), "{stdout}");
    assert!(stdout.contains("jmespath"), "{stdout}");
    assert!(
        stdout.contains("alibabacloud:secrets-transform/log"),
        "imports listed: {stdout}"
    );
}

#[test]
fn a_relative_plugin_cache_dir_is_taken_from_the_working_directory() {
    let work = tempfile::tempdir().unwrap();
    let plugins = work.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    std::fs::copy(
        crate::common::plugin_dir().join("db-url.wasm"),
        plugins.join("db-url.wasm"),
    )
    .unwrap();
    let (ok, stdout, stderr) = run(cli()
        .current_dir(work.path())
        .args(["plugin", "list", "--plugin-dir", "plugins"])
        .args(["--plugin-cache-dir", "cache"]));
    assert!(ok, "{stderr}");
    assert!(stdout.contains("db-url"), "{stdout}");
    let cached = std::fs::read_dir(work.path().join("cache"))
        .expect("the cache is created under the working directory")
        .count();
    assert!(cached > 0, "nothing cached in ./cache");
}

#[test]
fn plugin_limits_raise_one_plugins_limit_above_the_global_one() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("big.json");
    let blob = "x".repeat(4096);
    std::fs::write(&input, format!(r#"{{"blob":"{blob}"}}"#)).unwrap();
    let run_with = |out: &str, extra: &[&str]| {
        run(cli()
            .args([
                "plugin",
                "run",
                "jmespath",
                "--config",
                "{files: {blob: blob}}",
            ])
            .arg("--input")
            .arg(&input)
            .arg("--output-dir")
            .arg(dir.path().join(out))
            .arg("--plugin-dir")
            .arg(crate::common::plugin_dir())
            .args(["--plugin-max-output-kib", "1"])
            .arg("--plugin-cache-dir")
            .arg(crate::common::plugin_cache_dir())
            .args(extra))
    };
    // 4 KiB of output is over the global 1 KiB limit...
    let (ok, _, stderr) = run_with("a", &[]);
    assert!(!ok, "a 4 KiB output passed a 1 KiB limit");
    assert!(stderr.contains("output"), "{stderr}");
    // ...unless this plugin's own limit is raised; another plugin's override changes nothing.
    let (ok, _, _) = run_with("b", &["--plugin-limits", "format=output:64"]);
    assert!(!ok);
    let (ok, _, stderr) = run_with("c", &["--plugin-limits", "jmespath=output:64"]);
    assert!(ok, "{stderr}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("c/blob")).unwrap(),
        blob
    );
    // A bad override stops the command with the allowed form.
    let (ok, _, stderr) = run_with("d", &["--plugin-limits", "jmespath=output:lots"]);
    assert!(!ok);
    assert!(stderr.contains("whole number from 1 to 65536"), "{stderr}");
}

#[test]
fn plugin_check_rejects_what_is_not_a_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let bogus = dir.path().join("bogus.wasm");
    std::fs::write(&bogus, b"\0asm not really").unwrap();
    let (ok, _, stderr) = run(cli().args(["plugin", "check"]).arg(&bogus));
    assert!(!ok);
    assert!(stderr.contains("bogus.wasm"), "{stderr}");
}

#[test]
fn plugin_run_transforms_files_like_a_mount() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("db.json");
    std::fs::write(&input, r#"{"username":"app","port":5432}"#).unwrap();
    let out = dir.path().join("out");
    let (ok, stdout, stderr) = run(cli()
        .args([
            "plugin",
            "run",
            "jmespath",
            "--config",
            "{files: {user: username, port: port}}",
        ])
        .arg("--input")
        .arg(&input)
        .arg("--output-dir")
        .arg(&out)
        .arg("--plugin-dir")
        .arg(crate::common::plugin_dir()));
    assert!(ok, "{stderr}");
    assert!(stdout.contains("user"), "{stdout}");
    assert_eq!(std::fs::read_to_string(out.join("user")).unwrap(), "app");
    assert_eq!(std::fs::read_to_string(out.join("port")).unwrap(), "5432");

    // A bad config is reported with the plugin's own message, and nothing is written.
    let out2 = dir.path().join("out2");
    let (ok, _, stderr) = run(cli()
        .args([
            "plugin",
            "run",
            "jmespath",
            "--config",
            "{files: {user: 'a[['}}",
        ])
        .arg("--input")
        .arg(&input)
        .arg("--output-dir")
        .arg(&out2)
        .arg("--plugin-dir")
        .arg(crate::common::plugin_dir()));
    assert!(!ok);
    assert!(
        stderr.contains("jmespath") && stderr.contains("invalid config"),
        "{stderr}"
    );
    assert!(!out2.exists());
}

#[tokio::test]
async fn mount_command_writes_the_same_files_as_a_grpc_mount() {
    let emulator = acs_emulator::start(acs_emulator::EmulatorConfig {
        seed: crate::common::demo_seed(),
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("mnt");
    let spc = crate::common::workspace().join("examples/demo/secretproviderclass.yaml");
    let url = emulator.base_url();
    let mut cmd = cli();
    cmd.args(["mount", "--spc"])
        .arg(&spc)
        .arg("--target")
        .arg(&target)
        .args(["--kms-endpoint", &url, "--oos-endpoint", &url])
        .arg("--plugin-dir")
        .arg(crate::common::plugin_dir())
        .env("ACCESS_KEY_ID", crate::common::DEMO_KEY_ID)
        .env("SECRET_ACCESS_KEY", crate::common::DEMO_KEY_SECRET);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(target.join("database-url")).unwrap(),
        "postgresql://app:demo-pass-v2@db.demo.internal:5432/app"
    );
    assert_eq!(
        std::fs::read(target.join("tls.key.bin")).unwrap(),
        b"\x00\x01\x02\xff\xfedemo"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(target.join("db-previous.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("demo-pass"),
        "contents are not printed without --show-contents"
    );
    assert!(
        !stderr.contains("demo-pass") && !stderr.contains(crate::common::DEMO_KEY_SECRET),
        "{stderr}"
    );
}
