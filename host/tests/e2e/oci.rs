//! Plugins pulled from an OCI registry (the emulator's loopback registry): push with the CLI, mount by tag and
//! by digest over gRPC, restart without pulling, signatures, registry auth, a registry that is down, and the
//! integrity checks of the local store and the compiled-code cache.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use acs_emulator::registry::{
    RegistryAuth as FixtureAuth, RegistryConfig, RegistryHandle, start_registry,
};
use provider::transform::oci::{OciConfig, PrivateKey, RegistryAuth, RegistryCredentials};
use provider::transform::{CompileSource, RuntimeConfig, TransformRuntime};

use crate::common::{Options, plugin_cache_dir, plugin_dir, start, text};

/// OCI plugins are custom plugins: the built-in policy defaults would refuse them.
const ALLOW_CUSTOM: &str = "apiVersion: secrets-store.alibabacloud.com/v1alpha1\nkind: PluginPolicy\ndefault:\n  allowCustomPlugins: true\n";

const USER: &str = "ci-bot";
const PASS: &str = "registry-pass-not-a-secret-value";

async fn registry(auth: FixtureAuth) -> RegistryHandle {
    start_registry(RegistryConfig {
        auth,
        ..Default::default()
    })
    .await
    .unwrap()
}

fn wasm() -> Vec<u8> {
    std::fs::read(plugin_dir().join("db-url.wasm")).unwrap()
}

/// Fast retries so failure tests stay short.
fn oci_config(store: &Path) -> OciConfig {
    OciConfig {
        store_dir: Some(store.to_owned()),
        backoff: Duration::from_millis(20),
        request_timeout: Duration::from_secs(5),
        ..OciConfig::default()
    }
}

fn creds(host: &str) -> RegistryAuth {
    let mut auth = RegistryAuth::default();
    auth.insert(host, RegistryCredentials::new(USER, PASS));
    auth
}

/// A runtime without plugin directories, for pushing and for resolving outside a mount.
fn runtime(oci: OciConfig, cache_dir: Option<&Path>) -> TransformRuntime {
    TransformRuntime::new(RuntimeConfig {
        cache_dir: Some(
            cache_dir
                .map(Path::to_owned)
                .unwrap_or_else(plugin_cache_dir),
        ),
        oci,
        ..RuntimeConfig::default()
    })
    .unwrap()
}

async fn push(
    host_auth: Option<RegistryAuth>,
    reference: &str,
    key: Option<&PrivateKey>,
) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = oci_config(dir.path());
    cfg.auth = host_auth.unwrap_or_default();
    runtime(cfg, None)
        .push_oci(reference, &wasm(), key)
        .await
        .unwrap()
}

fn objects(plugin: &str) -> String {
    format!(
        "- objectName: app/db\n  objectAlias: db\n  transforms:\n    - plugin: \"{plugin}\"\n      config: {{output: database-url}}\n"
    )
}

fn cli(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_csi-provider-alibabacloud"))
        .env_clear()
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

// Multi-threaded: the CLI runs as a blocking child process while the registry serves it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_push_then_mount_by_tag_and_digest_and_cli_pull() {
    let reg = registry(FixtureAuth::None).await;
    let host = reg.host();
    let tag_ref = format!("oci://{host}/team/db-url:v1");
    let file = plugin_dir().join("db-url.wasm");

    // Not a plugin: refused before anything is sent.
    let junk = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(junk.path(), b"\0asm junk").unwrap();
    let (ok, _, stderr) = cli(&["plugin", "push", junk.path().to_str().unwrap(), &tag_ref]);
    assert!(!ok && stderr.contains("not pushed"), "{stderr}");
    assert_eq!(reg.requests(), 0, "nothing reached the registry");

    let (ok, stdout, stderr) = cli(&["plugin", "push", file.to_str().unwrap(), &tag_ref]);
    assert!(ok, "{stderr}");
    let digest = stdout
        .lines()
        .find_map(|l| l.strip_prefix("digest: sha256:"))
        .unwrap_or_else(|| panic!("no digest in {stdout}"))
        .to_owned();
    assert!(
        stdout.contains(&format!("oci://{host}/team/db-url@sha256:{digest}")),
        "{stdout}"
    );

    let store = tempfile::tempdir().unwrap();
    let env = start(Options {
        oci: oci_config(store.path()),
        policy: Some(ALLOW_CUSTOM.into()),
        ..Options::default()
    })
    .await;
    let resp = env
        .mount(
            &[("objects", &objects(&tag_ref)), ("region", "cn-hangzhou")],
            "",
        )
        .await
        .expect("mount with the plugin by tag");
    assert!(text(&resp, "database-url").starts_with("postgresql://app:"));
    let pulls = reg.pulls();
    assert!(pulls >= 2, "manifest and layer pulled: {pulls}");

    let digest_ref = format!("oci://{host}/team/db-url@sha256:{digest}");
    let resp = env
        .mount(
            &[
                ("objects", &objects(&digest_ref)),
                ("region", "cn-hangzhou"),
            ],
            "",
        )
        .await
        .expect("mount with the plugin by digest");
    assert!(text(&resp, "database-url").starts_with("postgresql://app:"));
    assert_eq!(
        reg.pulls(),
        pulls,
        "the tag's digest is the one loaded: no second pull"
    );

    // An error of the plugin itself names the digest the tag was resolved to.
    let bad_config = objects(&tag_ref).replace("{output: database-url}", "{bogus: 1}");
    let err = env
        .mount(&[("objects", &bad_config), ("region", "cn-hangzhou")], "")
        .await
        .unwrap_err();
    assert!(
        err.message()
            .contains(&format!("{tag_ref}@sha256:{digest}"))
            && err.message().contains("bogus"),
        "{}",
        err.message()
    );

    // A digest the registry does not have: the error names the reference and digest.
    let missing = format!("oci://{host}/team/db-url@sha256:{}", "0".repeat(64));
    let err = env
        .mount(
            &[("objects", &objects(&missing)), ("region", "cn-hangzhou")],
            "",
        )
        .await
        .unwrap_err();
    assert!(
        err.message().contains(&missing) && err.message().contains("not found"),
        "{}",
        err.message()
    );
    env.stop().await;

    // `plugin pull` as a user runs it: resolves the tag again, checks the plugin, writes it out.
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("db-url.wasm");
    let (ok, stdout, stderr) = cli(&[
        "plugin",
        "pull",
        &tag_ref,
        "--output",
        target.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains(&format!("manifest digest  sha256:{digest}")),
        "{stdout}"
    );
    assert!(stdout.contains("not checked"), "{stdout}");
    assert_eq!(std::fs::read(&target).unwrap(), wasm());
    reg.shutdown().await;
}

#[tokio::test]
async fn restart_reuses_the_store_and_the_tag_pin_without_contacting_the_registry() {
    let reg = registry(FixtureAuth::None).await;
    let host = reg.host();
    let tag_ref = format!("oci://{host}/team/db-url:stable");
    let digest = push(None, &tag_ref, None).await;
    let store = tempfile::tempdir().unwrap();
    let opts = || Options {
        oci: oci_config(store.path()),
        policy: Some(ALLOW_CUSTOM.into()),
        ..Options::default()
    };

    let env = start(opts()).await;
    env.mount(
        &[("objects", &objects(&tag_ref)), ("region", "cn-hangzhou")],
        "",
    )
    .await
    .expect("first start pulls");
    env.stop().await;
    let before = reg.requests();
    assert!(before > 0);

    // The registry is down: nothing may be needed from it.
    reg.set_down(true);
    let env = start(opts()).await;
    for r in [
        tag_ref.clone(),
        format!("oci://{host}/team/db-url@sha256:{digest}"),
    ] {
        let resp = env
            .mount(&[("objects", &objects(&r)), ("region", "cn-hangzhou")], "")
            .await
            .unwrap_or_else(|e| panic!("{r} after restart: {}", e.message()));
        assert!(text(&resp, "database-url").starts_with("postgresql://"));
    }
    assert_eq!(
        reg.requests(),
        before,
        "the restart made no registry request"
    );
    env.stop().await;
    reg.shutdown().await;
}

#[tokio::test]
async fn signatures_required_valid_invalid_and_missing() {
    let reg = registry(FixtureAuth::None).await;
    let host = reg.host();
    let key = PrivateKey::generate();
    let stranger = PrivateKey::generate();
    let signed = format!("oci://{host}/team/signed:v1");
    let unsigned = format!("oci://{host}/team/unsigned:v1");
    let wrong_key = format!("oci://{host}/team/wrong-key:v1");
    push(None, &signed, Some(&key)).await;
    let unsigned_digest = push(None, &unsigned, None).await;
    push(None, &wrong_key, Some(&stranger)).await;

    let store = tempfile::tempdir().unwrap();
    let env = start(Options {
        oci: OciConfig {
            public_key: Some(key.public_key()),
            require_signatures: true,
            ..oci_config(store.path())
        },
        policy: Some(ALLOW_CUSTOM.into()),
        ..Options::default()
    })
    .await;
    let mount = |r: String| {
        let env = &env;
        async move {
            env.mount(&[("objects", &objects(&r)), ("region", "cn-hangzhou")], "")
                .await
        }
    };
    let resp = mount(signed.clone())
        .await
        .expect("a valid signature mounts");
    assert!(text(&resp, "database-url").starts_with("postgresql://"));

    let err = mount(unsigned.clone()).await.unwrap_err();
    let msg = err.message();
    assert!(
        msg.contains(&format!("{unsigned}@sha256:{unsigned_digest}")),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("sha256-{unsigned_digest}.sig")) && msg.contains("required"),
        "{msg}"
    );

    let err = mount(wrong_key.clone()).await.unwrap_err();
    assert!(
        err.message().contains(&wrong_key)
            && err
                .message()
                .contains("does not verify with the configured public key"),
        "{}",
        err.message()
    );
    env.stop().await;

    // Optional signatures: unsigned loads (not verified), a bad signature still fails, a good one is verified.
    let store = tempfile::tempdir().unwrap();
    let rt = runtime(
        OciConfig {
            public_key: Some(key.public_key()),
            ..oci_config(store.path())
        },
        None,
    );
    let p = rt.resolve_plugin(&unsigned).await.unwrap();
    assert!(!p.oci.unwrap().signature_verified);
    let p = rt.resolve_plugin(&signed).await.unwrap();
    let origin = p.oci.unwrap();
    assert!(origin.signature_verified && !p.builtin);
    assert_eq!(origin.repository, format!("oci://{host}/team/signed"));
    assert!(rt.resolve_plugin(&wrong_key).await.is_err());
    reg.shutdown().await;
}

#[tokio::test]
async fn registry_auth_basic_and_bearer() {
    // The registry password must reach no log line, status message or metric.
    crate::common::leaks::forbid(PASS);
    let basic = registry(FixtureAuth::Basic {
        username: USER.into(),
        password: PASS.into(),
    })
    .await;
    let reference = format!("oci://{}/team/db-url:v1", basic.host());
    push(Some(creds(&basic.host())), &reference, None).await;

    // No credentials: a clear refusal naming the reference and the flag.
    let store = tempfile::tempdir().unwrap();
    let env = start(Options {
        oci: oci_config(store.path()),
        policy: Some(ALLOW_CUSTOM.into()),
        ..Options::default()
    })
    .await;
    let err = env
        .mount(
            &[("objects", &objects(&reference)), ("region", "cn-hangzhou")],
            "",
        )
        .await
        .unwrap_err();
    assert!(
        err.message().contains(&reference) && err.message().contains("--plugin-registry-auth-file"),
        "{}",
        err.message()
    );
    env.stop().await;

    // Credentials from a dockerconfigjson file, as the chart mounts the pull secret.
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        file.path(),
        format!(
            r#"{{"auths": {{"{}": {{"username": "{USER}", "password": "{PASS}"}}}}}}"#,
            basic.host()
        ),
    )
    .unwrap();
    let store = tempfile::tempdir().unwrap();
    let env = start(Options {
        oci: OciConfig {
            auth: RegistryAuth::from_file(file.path()).unwrap(),
            ..oci_config(store.path())
        },
        policy: Some(ALLOW_CUSTOM.into()),
        ..Options::default()
    })
    .await;
    let resp = env
        .mount(
            &[("objects", &objects(&reference)), ("region", "cn-hangzhou")],
            "",
        )
        .await
        .expect("basic auth");
    assert!(text(&resp, "database-url").starts_with("postgresql://"));
    env.stop().await;
    basic.shutdown().await;

    // Bearer-token flow: 401 with a realm, token fetched with the basic credentials.
    let bearer = registry(FixtureAuth::Bearer {
        username: USER.into(),
        password: PASS.into(),
    })
    .await;
    let reference = format!("oci://{}/team/db-url:v1", bearer.host());
    push(Some(creds(&bearer.host())), &reference, None).await;
    let store = tempfile::tempdir().unwrap();
    let p = runtime(
        OciConfig {
            auth: creds(&bearer.host()),
            ..oci_config(store.path())
        },
        None,
    )
    .resolve_plugin(&reference)
    .await
    .expect("bearer token flow");
    assert_eq!(p.name, format!("oci://{}/team/db-url", bearer.host()));
    let store = tempfile::tempdir().unwrap();
    let err = runtime(oci_config(store.path()), None)
        .resolve_plugin(&reference)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("refused access"), "{err}");
    bearer.shutdown().await;
}

#[tokio::test]
async fn registry_down_fails_that_mount_only_with_bounded_retries() {
    let reg = registry(FixtureAuth::None).await;
    let reference = format!("oci://{}/team/db-url:v1", reg.host());
    push(None, &reference, None).await;
    reg.set_down(true);
    let base = reg.requests();
    let store = tempfile::tempdir().unwrap();
    let env = start(Options {
        oci: oci_config(store.path()),
        policy: Some(ALLOW_CUSTOM.into()),
        ..Options::default()
    })
    .await;
    let plain = "- objectName: app/db\n  objectAlias: db\n";
    let started = Instant::now();
    let needs_plugin = objects(&reference);
    let with_params = [
        ("objects", needs_plugin.as_str()),
        ("region", "cn-hangzhou"),
    ];
    let plain_params = [("objects", plain), ("region", "cn-hangzhou")];
    let (with_plugin, without) =
        tokio::join!(env.mount(&with_params, ""), env.mount(&plain_params, ""),);
    let err = with_plugin.unwrap_err();
    assert!(
        err.message().contains(&reference)
            && err.message().contains("after 3 attempt(s)")
            && err.message().contains("503"),
        "{}",
        err.message()
    );
    assert!(text(&without.expect("the other mount proceeds"), "db").contains("demo-pass-v2"));
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    let requests = reg.requests() - base;
    assert!(
        (3..=6).contains(&requests),
        "3 attempts (each a manifest GET, maybe after a /v2/ probe): {requests}"
    );
    env.stop().await;

    // Where the rule requires signed plugins, a plugin that cannot be pulled to check its signature is
    // denied by the policy (fail closed), not left for a later pull to load unchecked.
    let signed_only = format!("{ALLOW_CUSTOM}  requireSignedPlugins: true\n");
    let env = start(Options {
        oci: oci_config(store.path()),
        policy: Some(signed_only),
        ..Options::default()
    })
    .await;
    let err = env.mount(&with_params, "").await.unwrap_err();
    assert_eq!(
        err.code(),
        tonic::Code::PermissionDenied,
        "{}",
        err.message()
    );
    assert!(
        err.message()
            .contains("could not be loaded to check its signature"),
        "{}",
        err.message()
    );
    env.stop().await;
    reg.shutdown().await;
}

/// Entries of the compiled-code cache (what wasmtime would deserialize).
fn cache_entries(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for compiler in std::fs::read_dir(dir.join("wasmtime/modules"))
        .into_iter()
        .flatten()
        .flatten()
    {
        for f in std::fs::read_dir(compiler.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = f.file_name().to_string_lossy().into_owned();
            if !name.contains(".stats") && !name.contains(".wip") {
                out.push(f.path());
            }
        }
    }
    out
}

#[tokio::test]
async fn corrupted_store_and_cache_entries_are_replaced_not_trusted() {
    let reg = registry(FixtureAuth::None).await;
    let reference = format!("oci://{}/team/db-url:v1", reg.host());
    push(None, &reference, None).await;
    let cache = tempfile::tempdir().unwrap();
    let store = tempfile::tempdir().unwrap();

    let p = runtime(oci_config(store.path()), Some(cache.path()))
        .resolve_plugin(&reference)
        .await
        .unwrap();
    assert_eq!(p.compiled, CompileSource::Compiled);
    let p = runtime(oci_config(store.path()), Some(cache.path()))
        .resolve_plugin(&reference)
        .await
        .unwrap();
    assert_eq!(
        p.compiled,
        CompileSource::DiskCache,
        "a restart loads the verified precompiled code"
    );

    // Flip bytes of every precompiled entry: recompiled, never deserialized.
    let entries = cache_entries(cache.path());
    assert!(!entries.is_empty());
    for e in &entries {
        let mut bytes = std::fs::read(e).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0xff;
        std::fs::write(e, bytes).unwrap();
    }
    // The stored layer is corrupted too: pulled again, not used.
    std::fs::write(&p.path, b"\0asm\x0d\0\x01\0 corrupted").unwrap();
    let pulls = reg.pulls();
    let rt = runtime(oci_config(store.path()), Some(cache.path()));
    let p = rt.resolve_plugin(&reference).await.unwrap();
    assert_eq!(
        p.compiled,
        CompileSource::Compiled,
        "the corrupted entry was recompiled"
    );
    assert_eq!(reg.pulls(), pulls + 1, "only the layer was pulled again");
    assert_eq!(std::fs::read(&p.path).unwrap(), wasm());

    // A registry serving other bytes under the layer's digest is refused.
    let layer = format!("sha256:{}", p.digest);
    reg.tamper_blob("team/db-url", &layer, b"evil bytes".to_vec());
    let fresh = tempfile::tempdir().unwrap();
    let err = runtime(oci_config(fresh.path()), Some(cache.path()))
        .resolve_plugin(&reference)
        .await
        .unwrap_err();
    assert!(err.to_string().contains(&reference), "{err}");
    assert!(err.to_string().to_lowercase().contains("digest"), "{err}");
    reg.shutdown().await;
}
